// The authorization code grant (RFC 6749 §4.1.3 as OAuth 2.1 has it: PKCE S256 always, RFC 7636)
// and the one-time codes that /oauth2/authorize creates when a human approves (authorize.h).
//
// A code is 32 random bytes, base64url (43 characters), shown once in the redirect to the client
// and stored only as a keyed hash, for 60 seconds, bound to the client, the redirect URI, the PKCE
// code challenge, the approved scopes and resources, and the human who approved.
//
// At the token endpoint (grant_type=authorization_code) the client authenticates as for every
// grant (a client labelled custody.dev/public-client=true may instead send only client_id:
// token_endpoint_auth_method "none", for this grant only) and sends `code`, `redirect_uri`
// (equal to the authorization request's) and `code_verifier` (43..128 unreserved characters whose
// base64url SHA-256 is the code challenge). Refusals, all invalid_grant unless noted: unknown or
// expired code; another client's code; redirect_uri differs; verifier does not match (malformed
// or missing parameters: invalid_request); the human no longer active (bound "subject"); a code
// presented again (bound "code_reuse"): the token issued with it is revoked with everything
// derived from it (RFC 6749 §4.1.2, §10.5).
//
// The token carries the human's authority, delegated to the client: sub = the human,
// client_id = the client, act = {"sub": client} (depth 1), aud = the approved resources (or those
// named again by `resource` at the token endpoint, which may only narrow them), the approved
// scopes, and a lifetime bounded by the human's entitlements in force, checked again now. The
// code is spent by the write that records the token (Issuance::authorization_code), so two
// concurrent redemptions cannot both win. No refresh tokens.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "crypto/keyed_hash.h"
#include "oauth/client_auth.h"
#include "oauth/grants.h"
#include "oauth/outcome.h"
#include "oauth/request.h"
#include "store/store.h"

namespace custody::oauth {

inline constexpr std::string_view kGrantAuthorizationCode = "authorization_code";
inline constexpr Micros kAuthorizationCodeTtl = 60 * kMicrosPerSecond;

// What a human approved at /oauth2/authorize.
struct ApprovedAuthorization {
  std::string client_id;
  std::string human_id;
  std::string admin_token_id;  // the owner-role token the human signed in with
  std::string redirect_uri;
  std::string code_challenge;
  std::vector<std::string> scopes;
  std::vector<std::string> resources;
};

// Stores a new code for `approved` (inside a write) and returns its value, to be shown once.
Result<std::string> create_authorization_code(store::Tx& tx, const crypto::SecretHasher& hasher,
                                              const ApprovedAuthorization& approved, Micros now);

// A PKCE S256 code challenge: 43 base64url characters (RFC 7636 §4.2).
bool valid_code_challenge(std::string_view challenge);
// A code verifier: 43..128 characters of [A-Za-z0-9-._~] (RFC 7636 §4.1).
bool valid_code_verifier(std::string_view verifier);
// base64url(SHA-256(verifier)) == challenge, compared in constant time.
bool pkce_s256_matches(std::string_view verifier, std::string_view challenge);

// True when the request carries no client credentials of any kind (no Authorization header, no
// client_secret, no client_assertion): a public client's request, if it names a client_id.
bool presents_no_client_credentials(const OAuthRequest& request);
// Authenticates a public client by client_id alone (method "none"): it must be labelled
// custody.dev/public-client=true, active, with an active owner, and bound to no device.
OAuthResult<AuthenticatedClient> authenticate_public_client(store::Tx& tx,
                                                            const OAuthRequest& request);

// The grant (read-only). On a code presented again by its client, `reused_delegation` receives
// the delegation record of the token issued with it, for the refusal's write to revoke.
OAuthResult<Issuance> grant_authorization_code(store::Tx& tx, const GrantInput& in,
                                               const crypto::SecretHasher& hasher,
                                               std::string& reused_delegation);

// Inside the issuing write: marks the code used by `delegation_id`; kConflict with field
// "authorization_code" when another write spent it first.
Status spend_authorization_code(store::Tx& tx, const std::string& code_hash,
                                const std::string& delegation_id, Micros now);

}  // namespace custody::oauth
