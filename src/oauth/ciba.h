// OpenID Client-Initiated Backchannel Authentication (CIBA Core 1.0), poll and ping modes, as
// custody's way for an agent to wait for a human's approval of a token (docs/approvals.md,
// "Tokens that wait for a human").
//
// Delivery mode, per client, from the client identity's labels: `ciba.delivery_mode` is "poll"
// (the default) or "ping"; a ping client also has `ciba.notification_endpoint` (https, or http on
// loopback) and must send `client_notification_token` with each request (invalid_request
// otherwise). When its approval is decided (approved or denied), custody POSTs
// {"auth_req_id"} to the endpoint with Authorization: Bearer <client_notification_token>, after
// the decision commits, from the approval notification outbox (policy/approval_notifications.h);
// the client then calls the token endpoint once. "push" is refused (unauthorized_client).
//
// POST /oauth2/bc-authorize (client authenticated as at the token endpoint) with `scope`,
// `audience`/`resource`, `login_hint` (the approver: the client's owner), optional
// `binding_message` (shown to the approver), `requested_expiry` and `max_hops`. custody checks
// now that the token could be issued (entitlements, policies: everything but @approval), then
// creates an approval request routed to the owner (policy/approvals.h) and answers
// {auth_req_id, expires_in, interval}. auth_req_id is the approval's id.
//
// The client then polls POST /oauth2/token with grant_type=urn:openid:params:grant-type:ciba and
// auth_req_id: authorization_pending until the owner decides; access_denied when denied;
// expired_token past its expiry; invalid_grant for another client's id or one already used. Once
// approved, the token is issued like a client_credentials token with the approved scope and
// audiences, every bound and policy re-checked with @approval policies waived, bound to the
// approval (claim custody.approval_id, delegation record policy.approval), and the approval is
// consumed by the issuing write: one approval, one token.
//
// Token exchanges wait the same way (a delegation an @approval policy holds, e.g. one crossing
// into another system): the bc-authorize request carries `subject_token` and
// `subject_token_type` (and optionally `audience`/`resource`, `scope`, `max_hops`) as the token
// exchange would; custody checks the exchange now (every bound and policy but @approval) and asks
// the owner to approve the `delegate` question, bound to the SHA-256 of that subject token. The
// ciba token request must present the same `subject_token` again (custody never stores it);
// the token issued is the exchanged one, with its act chain, bound to the approval.
#pragma once

#include "oauth/grants.h"
#include "oauth/outcome.h"
#include "policy/pdp.h"
#include "store/store.h"

namespace custody::oauth {

struct BackchannelRequest {
  std::string scope;
  std::vector<std::string> audience;
  std::optional<int> max_hops;
  std::string binding_message;
  Micros expires_in = 0;
  // Ping mode: where to ping and with what bearer token; both empty in poll mode.
  std::string notification_endpoint;
  std::string notification_token;
  // A token exchange waiting for approval: the subject token's SHA-256 (hex) and type, and whose
  // authority it passes on. Empty for a client_credentials request.
  std::string subject_token_sha256;
  std::string subject_token_type;
  std::string delegator;
};

// The client's delivery mode and endpoint from its labels (see the file comment).
inline constexpr std::string_view kCibaModeLabel = "ciba.delivery_mode";
inline constexpr std::string_view kCibaEndpointLabel = "ciba.notification_endpoint";

// Validates a bc-authorize request (`in.request`) for `in.client` and checks the issuance could
// happen (returns the would-be issuance's scope and audiences). Read-only.
OAuthResult<BackchannelRequest> check_backchannel_request(store::Tx& tx, const GrantInput& in,
                                                          const policy::Pdp& pdp,
                                                          const TokenVerifier& verify,
                                                          Micros default_expiry);

// Stores the approval request and the CIBA request (in a write), and in ping mode the held
// notification; returns auth_req_id. A repeated request while the first is pending gets the same
// auth_req_id, and the first request's notification token stays the one used.
Result<std::string> store_backchannel_request(store::Tx& tx, const std::string& client_id,
                                              const BackchannelRequest& request, Micros now);

// The ciba grant at the token endpoint (see the file comment). Read-only; the issuance carries
// approval_id for the issuing write to consume.
OAuthResult<Issuance> grant_ciba(store::Tx& tx, const GrantInput& in, const policy::Pdp& pdp,
                                 const TokenVerifier& verify);

}  // namespace custody::oauth
