// The two grants custody issues tokens for, as pure decisions over the store (read-only) and the
// presented tokens: each returns the delegation record and claims of the token to issue, or the
// precise refusal. Internal to src/oauth; service.cc signs, commits and answers.
//
// client_credentials (RFC 6749 §4.4): the client is the subject (depth 0). Scopes and audiences
// (RFC 8707 "resource", RFC 8693 "audience") must be covered pairwise by the client's
// entitlements in force: for every requested scope s and audience a, an entitlement (s, a). With
// no audience requested, the audiences are those of the entitlements of the requested scopes; with
// no scope requested, the scopes entitled for every one of those audiences. The token never
// outlives an entitlement it relies on.
//
// token exchange (RFC 8693): the subject token is a custody access token or a JWT of a trusted
// external issuer; the actor is the actor_token's subject, or the client. Bounds, each refusal
// naming its bound:
//   subject  — the subject token verifies, is unexpired, its record is not revoked ("revoked"),
//              and a custody subject identity is still active with an active owner;
//   actor    — the actor (and the client) are active identities with active owners ("owner");
//   may_act  — when the subject token has may_act, the actor must be the one it names;
//              otherwise the actor must be an audience of the subject token ("audience");
//   scope    — requested scopes ⊆ the subject token's scopes (only narrower);
//   audience — a new audience the subject token does not have needs the actor's own
//              entitlement for every scope at it;
//   depth    — the new token's act nesting ≤ oauth.max_delegation_depth;
//   lifetime — exp = min(now + ttl, the subject token's exp, the actor token's exp);
//   max_hops — a subject token with max_hops 0 must not be exchanged; otherwise the new token
//              gets max_hops - 1 (a requested max_hops may only lower it).
// The issued token keeps sub = the subject and nests act: {sub: actor, act: <subject's act>}.
//
// Both grants take an optional "max_hops" parameter (custody's extension): how many further
// exchanges the new token's authority may go through. The policy decision point then decides the
// issuance (issuance_policy.h) with what the grant computed.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "delegation/record.h"
#include "directory/model.h"
#include "oauth/access_token.h"
#include "oauth/client_auth.h"
#include "oauth/dpop.h"
#include "oauth/outcome.h"
#include "oauth/request.h"
#include "oauth/settings.h"
#include "store/store.h"

namespace custody::oauth {

inline constexpr std::string_view kGrantClientCredentials = "client_credentials";
inline constexpr std::string_view kGrantTokenExchange =
    "urn:ietf:params:oauth:grant-type:token-exchange";
inline constexpr std::string_view kTokenTypeAccessToken =
    "urn:ietf:params:oauth:token-type:access_token";
inline constexpr std::string_view kTokenTypeJwt = "urn:ietf:params:oauth:token-type:jwt";
inline constexpr std::string_view kGrantCiba = "urn:openid:params:grant-type:ciba";

struct OneTimeValue {
  std::string kind;  // "client_assertion" | "dpop"
  std::string value;
  Micros expires_at = 0;
};

struct Issuance {
  delegation::Record record;
  nlohmann::json act;      // null for client_credentials
  nlohmann::json may_act;  // null unless requested
  std::vector<OneTimeValue> one_time;
  std::vector<std::string> must_be_live;  // records re-checked inside the issuing write
  std::string token_type = "Bearer";      // "DPoP" when bound
  std::string issued_token_type;          // token exchange only
  nlohmann::json audit = nlohmann::json::object();
  // For the policy decision: whose authority a token exchange passes on (the subject token's
  // acting identity, or its subject), and the subject token's scopes, audiences and max_hops.
  std::string delegator;
  std::vector<std::string> parent_scopes;
  std::vector<std::string> parent_audience;
  // CIBA: the approval this token is bound to, consumed (single use) by the issuing write.
  std::string approval_id;
  // Authorization code: the code's keyed hash, spent (single use) by the issuing write.
  std::string authorization_code;
  // Identity rows with their facts that client authentication and the grant read (the client,
  // the subject, the actor and their owners), and the transaction they come from:
  // authorize_issuance reuses them instead of reading them again, but only within that same
  // transaction, so that the decision sees the state the grant checked.
  std::vector<directory::rows::IdentityFacts> read;
  const store::Tx* read_in = nullptr;
  // Likewise the entitlements in force that the grant read (directory::active_entitlements at
  // record.issued_at, in `read_in`): the decision reuses them when it decides at that time.
  struct EntitlementsRead {
    std::string identity_id;
    std::vector<directory::Entitlement> in_force;
  };
  std::vector<EntitlementsRead> entitlements_read;
};

struct GrantInput {
  const OAuthRequest& request;
  const AuthenticatedClient& client;
  const std::optional<DpopProof>& dpop;
  const Settings& settings;
  Micros now = 0;
  // Resource URLs the client serves (Service::InProcessClient): a subject token for one of them
  // is meant for the client.
  const std::vector<std::string>* actor_resources = nullptr;
};

// Verifies a presented token of either kind (custody's or a trusted issuer's); the Service's.
using TokenVerifier =
    std::function<OAuthResult<PresentedToken>(std::string_view token, std::string_view what)>;

OAuthResult<Issuance> grant_client_credentials(store::Tx& tx, const GrantInput& in);
OAuthResult<Issuance> grant_token_exchange(store::Tx& tx, const GrantInput& in,
                                           const TokenVerifier& verify);

// The pieces the grants share, for the authorization code flow (authorization_code.h), which
// issues a human's authority to a client.

// What entitlements in force cover under the pairwise rule above: the scopes and audiences of
// the token, and the earliest expiry among the entitlements relied on.
struct Coverage {
  std::vector<std::string> scopes;
  std::vector<std::string> audience;
  Micros not_after = INT64_MAX;
};
// `identity`'s entitlements in force at `now` must cover `scopes` (all entitled ones when
// nullopt) at `audiences` (those of the entitlements when empty); invalid_scope/invalid_target
// with bound "entitlement" otherwise.
OAuthResult<Coverage> entitlement_coverage(store::Tx& tx, const std::string& identity,
                                           const std::optional<std::vector<std::string>>& scopes,
                                           const std::vector<std::string>& audiences, Micros now);
// The "scope" parameter (RFC 6749 §3.3 tokens); nullopt when absent or empty.
OAuthResult<std::optional<std::vector<std::string>>> scopes_requested(const OAuthRequest& r);
// The "resource" (RFC 8707: absolute URI, no fragment) and "audience" values, deduplicated.
OAuthResult<std::vector<std::string>> audiences_requested(const OAuthRequest& r);
// A new issuance for `in.client`: record id and times, DPoP binding, one-time values.
OAuthResult<Issuance> begin_issuance(store::Tx& tx, const GrantInput& in, std::string grant_type);

}  // namespace custody::oauth
