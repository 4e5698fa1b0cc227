#include "policy/approval_callbacks.h"

#include "common/encoding.h"

namespace custody::policy {
namespace {

// Who decides through a callback: the approver, as an owner-role token of that human would; for
// approvals routed to "admins", the admins' webhook acting as an admin.
directory::Principal callback_principal(const Approval& a) {
  directory::Principal p;
  if (a.approver == "admins") {
    p.token_id = "admins";
    p.role = directory::Role::kAdmin;
  } else {
    p.token_id = "approval-callback";
    p.role = directory::Role::kOwner;
    p.human_id = a.approver;
  }
  return p;
}

}  // namespace

std::string callback_signature(const crypto::SecretHasher& hasher, const Approval& a,
                               std::string_view decision) {
  // Newline-separated: none of the parts can contain one (ids, a fixed word, a number).
  std::string message = "custody approval callback v1\n" + a.id + "\n" + std::string(decision) +
                        "\n" + a.approver + "\n" + std::to_string(a.expires_at);
  return hasher.hash_hex(message);
}

std::string callback_url(const std::string& base_url, const crypto::SecretHasher& hasher,
                         const Approval& a, std::string_view decision) {
  return base_url + "/api/v1/approvals/" + a.id + "/callback?decision=" + std::string(decision) +
         "&sig=" + callback_signature(hasher, a, decision);
}

Result<Approval> decide_by_callback(store::Tx& tx, const crypto::SecretHasher& hasher,
                                    std::string_view id, std::string_view decision,
                                    std::string_view sig, Micros now) {
  const Error forged =
      Error::denied("callback signature is not valid for approval " + std::string(id) +
                    " and decision " + std::string(decision) + " (forged or altered link)");
  if (decision != "approve" && decision != "deny") return forged;
  auto found = get_approval(tx, id);
  if (!found.ok()) {
    if (found.error().code == Code::kNotFound) return forged;
    return found.error();
  }
  const Approval& a = *found;
  if (!crypto::constant_time_equal(callback_signature(hasher, a, decision), sig)) return forged;
  CUSTODY_ASSIGN(auto used, tx.query("SELECT decision, used_at FROM approval_callbacks_used WHERE "
                                     "approval_id = $1",
                                     {a.id}));
  if (!used.empty())
    return Error::conflict("callback replayed: approval " + a.id + " was already decided (" +
                           used[0].text(0) + ") through its callback at " +
                           format_rfc3339(used[0].integer(1)));
  if (a.expired(now))
    return Error::conflict("callback expired: approval " + a.id + " expired at " +
                           format_rfc3339(a.expires_at));
  CUSTODY_ASSIGN(auto decided, decide_approval(tx, a.id, decision == "approve",
                                               callback_principal(a), "signed callback", now));
  CUSTODY_TRY(tx.exec(
      "INSERT INTO approval_callbacks_used (approval_id, decision, used_at) VALUES ($1, $2, $3)",
      {a.id, std::string(decision), now}));
  return decided;
}

std::string webhook_signature(std::string_view secret, std::int64_t unix_seconds,
                              std::string_view body) {
  std::string t = std::to_string(unix_seconds);
  std::string signed_text = t + "." + std::string(body);
  return "t=" + t + ",v1=" + hex_encode(crypto::hmac_sha256(secret, signed_text));
}

}  // namespace custody::policy
