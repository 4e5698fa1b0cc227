// The authorization server's endpoints as one service, independent of HTTP (src/api/
// oauth_routes.cc adapts it): token (client_credentials, RFC 8693 token exchange), introspection
// (RFC 7662), revocation (RFC 7009), and the metadata document (RFC 8414 / OpenID Discovery).
//
// Durability: every answer — an issued token, a refusal, an introspection, a revocation — is
// sent only after its audit event (and, for an issuance, its delegation record and the replay
// entries of its one-time values) has been committed by the store's group-commit writer.
// Answers arrive through `reply`, on the writer thread or on the caller's thread.
//
// Thread safety: all methods may be called from any io thread at once.
#pragma once

#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "audit/events.h"
#include "common/clock.h"
#include "crypto/keyed_hash.h"
#include "oauth/client_auth_limiter.h"
#include "oauth/dpop.h"
#include "oauth/grants.h"
#include "oauth/key_manager.h"
#include "oauth/request.h"
#include "oauth/settings.h"
#include "oauth/verified_cache.h"
#include "store/store.h"

namespace custody::policy {
class Pdp;
}  // namespace custody::policy

namespace custody::oauth {

struct Reply {
  int status = 200;
  nlohmann::json body;
  // The body already serialised as JSON, when not empty; `body` is then null. The token endpoint
  // serialises its answer on the request's thread, so that the writer thread, which delivers
  // the answer after the group commit, does no JSON work for it.
  std::string text;
  std::vector<std::pair<std::string, std::string>> headers;
};
using ReplyFn = std::function<void(Reply)>;

class Service {
 public:
  // `pdp` decides every issuance after the grant's built-in bounds (issuance_policy.h).
  Service(store::Store& store, const Clock& clock, const crypto::SecretHasher& hasher,
          const KeyManager& keys, const policy::Pdp& pdp, Settings settings,
          std::string nonce_secret);

  void token(const OAuthRequest& request, ReplyFn reply);

  // An in-process client that custody itself runs (the MCP gateway, docs/mcp-gateway.md): it
  // does not authenticate (it is this process), but must be an active identity with an active
  // owner like every client. `served_resources` are resource URLs it serves: a subject token
  // whose aud names one of them counts as meant for this client (RFC 8693 actor check).
  struct InProcessClient {
    std::string identity_id;
    std::vector<std::string> served_resources;
  };
  // A token request from `client`: only the token-exchange grant; everything else (bounds,
  // policies, delegation record, audit, durability) as for token().
  void token_for(const InProcessClient& client, const OAuthRequest& request, ReplyFn reply);
  void introspect(const OAuthRequest& request, ReplyFn reply);
  void revoke(const OAuthRequest& request, ReplyFn reply);
  // OpenID CIBA backchannel authentication request (ciba.h).
  void backchannel_authorize(const OAuthRequest& request, ReplyFn reply);
  nlohmann::json metadata(bool openid) const;
  std::string jwks_text() const;  // the JWK Set document (changes on rotation)

  const Settings& settings() const { return settings_; }

  // Verifies a custody access token (signature, iss, typ at+jwt, exp/nbf with skew); with
  // `allow_expired`, an expired token still verifies (revocation accepts expired tokens).
  Result<struct PresentedToken> verify_own(std::string_view token, bool allow_expired) const;

 private:
  store::Store& store_;
  const Clock& clock_;
  const crypto::SecretHasher& hasher_;
  const KeyManager& keys_;
  const policy::Pdp& pdp_;
  // Verifies a token exchange's subject or actor token (custody's own or a trusted issuer's).
  TokenVerifier subject_token_verifier() const;
  // token() and token_for(): `in_process` null means the client authenticates in the request.
  void issue(const OAuthRequest& request, const InProcessClient* in_process, ReplyFn reply);
  // Answers invalid_client for a client assertion whose jti was already used, auditing the
  // refusal in place of `event` (whose write lost).
  void refuse_replayed(audit::Event event, const Status& s, Micros now, const ReplyFn& reply);
  // Audits a refusal (outcome, reason, bound) together with spending the request's client
  // assertion, durably, then answers the OAuth error (or invalid_client when the assertion was
  // already spent).
  void refuse_spending(audit::Event event, const OAuthError& failure,
                       store::Store::Work spend_assertion, Micros now, const ReplyFn& reply);

  // authenticate_client behind the brute-force limiter, keyed by the request's address and the
  // client_id it claims: refused at once while that pair is locked out; an invalid_client
  // outcome counts as one failure.
  OAuthResult<AuthenticatedClient> authenticate(store::Tx& tx, const OAuthRequest& req, Micros now);

  Settings settings_;
  DpopNonces nonces_;
  mutable VerifiedTokenCache verified_;
  ClientAuthLimiter auth_limiter_;
};

}  // namespace custody::oauth
