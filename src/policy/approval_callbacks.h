// Signed callbacks (docs/approvals.md, "Approver webhooks"): the links in an approver's webhook
// that decide the approval without an admin token, and the signature on the webhook itself.
//
// A callback link is POST <base>/api/v1/approvals/{id}/callback?decision=approve|deny&sig=<hex>,
// where sig is HMAC-SHA-256 under the server secret (crypto::SecretHasher) over the approval id,
// the decision, the approver and the approval's expiry. The link decides exactly like
// POST /api/v1/approvals/{id}/approve (or deny) by the approver: separation of duties applies to
// the approver, whom the signature names. It is single-use (either link, once used, spends both)
// and expires with the approval.
//
// The webhook request carries Custody-Signature: t=<unix seconds>,v1=<hex HMAC-SHA-256 under
// approvals.webhook_secret over "<t>.<body>">, so that a receiver can check it came from custody
// and is fresh.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/clock.h"
#include "common/result.h"
#include "crypto/keyed_hash.h"
#include "policy/approvals.h"
#include "store/store.h"

namespace custody::policy {

// The sig of `approval`'s callback for `decision` ("approve" or "deny"): lowercase hex.
std::string callback_signature(const crypto::SecretHasher& hasher, const Approval& approval,
                               std::string_view decision);
// The callback link under `base_url` (custody's public URL, no trailing slash).
std::string callback_url(const std::string& base_url, const crypto::SecretHasher& hasher,
                         const Approval& approval, std::string_view decision);

// Decides approval `id` through its signed callback, in `tx`. Refusals, checked in this order:
//  - kPermissionDenied "callback signature …": no such approval, or `sig` is not the signature
//    of this approval and decision (forged or altered: decision, id, or a changed approver or
//    expiry);
//  - kConflict "… replayed …": a callback of this approval was already used;
//  - kConflict "… expired …": the approval has expired;
//  - whatever decide_approval refuses (already decided through the API, separation of duties).
// On success the approval is decided by its approver (the callback is spent) and returned.
Result<Approval> decide_by_callback(store::Tx& tx, const crypto::SecretHasher& hasher,
                                    std::string_view id, std::string_view decision,
                                    std::string_view sig, Micros now);

// "t=<unix_seconds>,v1=<hex HMAC-SHA-256(secret, t + "." + body)>".
std::string webhook_signature(std::string_view secret, std::int64_t unix_seconds,
                              std::string_view body);

}  // namespace custody::policy
