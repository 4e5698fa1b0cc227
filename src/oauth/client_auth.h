// Client authentication at the token, introspection and revocation endpoints. A client is a
// non-human identity (service, agent, MCP server); its client_id is the identity id. Methods:
//   client_secret_basic  Authorization: Basic base64(form-encoded id ":" form-encoded secret)
//   client_secret_post   client_id + client_secret form parameters
//   private_key_jwt      client_assertion_type = urn:ietf:params:oauth:client-assertion-type:
//                        jwt-bearer, client_assertion = a JWT signed by one of the identity's
//                        registered JWK credentials (RFC 7523 §3): iss = sub = client_id, aud
//                        = custody's issuer or token endpoint (one string), exp required and at
//                        most oauth.client_assertion_max_lifetime_seconds away, jti required.
//   device-attested    a private_key_jwt client_assertion with typ custody-device-assertion+jwt,
//                      signed by custody itself for a process custody-agent attested on a
//                      trusted device (src/device/assertion.h): accepted while the device is
//                      active, trusted and freshly reported, and the identity still allowed on
//                      it. An identity bound to any device must authenticate this way.
// Exactly one method per request (RFC 6749 §2.3). The credential is checked before the
// identity's state, so an unauthenticated caller learns nothing about an identity; then the
// identity must be active and its owner an active human (refusals name which).
//
// The assertion's jti is not checked for replay here: the caller records it in the replay cache
// inside the same write as the issuance (see replay.h), so two concurrent uses cannot both win.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "common/clock.h"
#include "crypto/keyed_hash.h"
#include "directory/identity_rows.h"
#include "directory/model.h"
#include "oauth/outcome.h"
#include "oauth/request.h"
#include "oauth/settings.h"
#include "store/store.h"

namespace custody::oauth {

inline constexpr std::string_view kJwtBearerAssertionType =
    "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

struct AuthenticatedClient {
  directory::Identity identity;
  std::string method;                        // the authentication method used
  std::string credential_id;                 // crd_… that matched
  std::optional<std::string> assertion_jti;  // private_key_jwt: the replay-cache value
  Micros assertion_expires_at = 0;
  // Device-attested: the device the token will be bound to, and the DPoP key the process
  // certified (the token request must then prove it).
  std::optional<std::string> device_id;
  std::optional<std::string> device_jkt;
  // The rows authentication read, with their facts (the client's, with whether it is
  // device-bound, and its owner's), for later steps of the same request within the same read
  // transaction (issuance_policy.h reuses them instead of reading them again).
  std::vector<directory::rows::IdentityFacts> read;
  const store::Tx* read_in = nullptr;  // the transaction `read` comes from
};

// The client_id the request claims (for audit events of refusals), without checking anything.
std::string claimed_client_id(const OAuthRequest& request);

// `own_keys` are custody's verification keys (for device-attested assertions).
OAuthResult<AuthenticatedClient> authenticate_client(store::Tx& tx, const OAuthRequest& request,
                                                     const Settings& settings,
                                                     const crypto::SecretHasher& hasher,
                                                     const crypto::JwkSet& own_keys, Micros now);

// The identity must be an active non-human whose owner is an active human. `role` names it in
// the refusal ("client", "actor", "subject"); `bound` is the failed bound for token exchange.
OAuthResult<directory::Identity> check_active_identity(store::Tx& tx, std::string_view id,
                                                       std::string_view role);
// The same check, sharing rows with the rest of the request: `read` holds the identity rows
// (with their facts) that this transaction has read so far. An identity or owner found there is
// not read again (a token exchange's subject usually shares its owner with the client, or is
// the client); one read now is appended, also when the check fails.
OAuthResult<directory::Identity> check_active_identity(
    store::Tx& tx, std::string_view id, std::string_view role,
    std::vector<directory::rows::IdentityFacts>& read);

}  // namespace custody::oauth
