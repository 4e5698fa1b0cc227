#include "oauth/authorization_code.h"

#include <algorithm>
#include <cctype>

#include "common/encoding.h"
#include "common/random.h"
#include "device/workloads.h"
#include "oauth/redirect_uri.h"

namespace custody::oauth {
namespace {

// Domain separation: the server secret also keys client secrets and admin tokens.
std::string code_hash(const crypto::SecretHasher& hasher, std::string_view code) {
  return hasher.hash_hex("custody authorization code v1\n" + std::string(code));
}

bool base64url_chars(std::string_view s) {
  return std::all_of(s.begin(), s.end(),
                     [](unsigned char c) { return std::isalnum(c) || c == '-' || c == '_'; });
}

struct StoredCode {
  std::string client_id, human_id, admin_token_id, redirect_uri, code_challenge;
  std::vector<std::string> scopes, resources;
  Micros expires_at = 0;
  std::optional<Micros> used_at;
  std::optional<std::string> delegation_id;
};

OAuthResult<std::optional<StoredCode>> find_code(store::Tx& tx, const std::string& hash) {
  auto rows = tx.query(
      "SELECT client_id, human_id, admin_token_id, redirect_uri, code_challenge, scopes, "
      "resources, expires_at, used_at, delegation_id FROM authorization_codes "
      "WHERE code_hash = $1",
      {hash});
  if (!rows.ok()) return OAuthError::server_error("cannot read authorization codes");
  if (rows->empty()) return std::optional<StoredCode>();
  const auto& row = (*rows)[0];
  StoredCode c{row.text(0),
               row.text(1),
               row.text(2),
               row.text(3),
               row.text(4),
               split_scopes(row.text(5)),
               {},
               row.integer(7),
               row.opt_integer(8),
               row.opt_text(9)};
  auto resources = nlohmann::json::parse(row.text(6), nullptr, false);
  if (!resources.is_array()) return OAuthError::server_error("an authorization code is corrupt");
  for (const auto& r : resources)
    if (r.is_string()) c.resources.push_back(r.get<std::string>());
  return std::optional<StoredCode>(std::move(c));
}

}  // namespace

Result<std::string> create_authorization_code(store::Tx& tx, const crypto::SecretHasher& hasher,
                                              const ApprovedAuthorization& a, Micros now) {
  std::string code = base64url_encode(random_bytes(32));
  CUSTODY_TRY(
      tx.exec("INSERT INTO authorization_codes (code_hash, client_id, human_id, admin_token_id, "
              "redirect_uri, code_challenge, scopes, resources, created_at, expires_at) "
              "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
              {code_hash(hasher, code), a.client_id, a.human_id, a.admin_token_id, a.redirect_uri,
               a.code_challenge, join_scopes(a.scopes), nlohmann::json(a.resources).dump(), now,
               now + kAuthorizationCodeTtl}));
  return code;
}

bool valid_code_challenge(std::string_view challenge) {
  return challenge.size() == 43 && base64url_chars(challenge);
}

bool valid_code_verifier(std::string_view verifier) {
  if (verifier.size() < 43 || verifier.size() > 128) return false;
  return std::all_of(verifier.begin(), verifier.end(), [](unsigned char c) {
    return std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~';
  });
}

bool pkce_s256_matches(std::string_view verifier, std::string_view challenge) {
  return crypto::constant_time_equal(base64url_encode(crypto::sha256(verifier)), challenge);
}

bool presents_no_client_credentials(const OAuthRequest& request) {
  return request.authorization.empty() && !request.param("client_secret") &&
         !request.param("client_assertion") && !request.param("client_assertion_type");
}

OAuthResult<AuthenticatedClient> authenticate_public_client(store::Tx& tx,
                                                            const OAuthRequest& request) {
  auto id = request.param("client_id");
  if (!id) return OAuthError::invalid_client("client authentication is required", true);
  auto identity = check_active_identity(tx, *id, "client");
  if (!identity.ok()) {
    OAuthError e = identity.error();
    e.status = 401;
    e.error = "invalid_client";
    return e;
  }
  // Only a client registered as public may skip authentication; a confidential client's id alone
  // proves nothing.
  if (!is_public_client(*identity))
    return OAuthError::invalid_client("client " + *id + " must authenticate (it is not labelled " +
                                      std::string(kPublicClientLabel) + "=true)");
  auto bound = device::is_device_bound(tx, *id);
  if (!bound.ok()) return OAuthError::server_error("cannot read device bindings");
  if (*bound)
    return OAuthError::invalid_client(*id +
                                      " is bound to devices: authenticate with a "
                                      "device-attested assertion");
  return AuthenticatedClient{
      std::move(identity).value(), "none", "", std::nullopt, 0, std::nullopt, std::nullopt};
}

OAuthResult<Issuance> grant_authorization_code(store::Tx& tx, const GrantInput& in,
                                               const crypto::SecretHasher& hasher,
                                               std::string& reused_delegation) {
  const auto& req = in.request;
  auto code = req.param("code");
  if (!code) return OAuthError::invalid_request("code is required");
  auto redirect_uri = req.param("redirect_uri");
  if (!redirect_uri) return OAuthError::invalid_request("redirect_uri is required");
  auto verifier = req.param("code_verifier");
  if (!verifier) return OAuthError::invalid_request("code_verifier is required (PKCE, OAuth 2.1)");
  if (!valid_code_verifier(*verifier))
    return OAuthError::invalid_request(
        "code_verifier must be 43 to 128 characters of A-Z a-z 0-9 - . _ ~ (RFC 7636 §4.1)");

  std::string hash = code_hash(hasher, *code);
  OAUTH_ASSIGN(auto found, find_code(tx, hash));
  if (!found) return OAuthError::invalid_grant("the authorization code is not valid");
  const StoredCode& c = *found;
  const std::string& client = in.client.identity.id;
  if (c.client_id != client)
    return OAuthError::invalid_grant("the authorization code was issued to another client");
  if (c.used_at) {
    if (c.delegation_id) reused_delegation = *c.delegation_id;
    return OAuthError::invalid_grant(
        "the authorization code was already used; the token issued with it is revoked",
        "code_reuse");
  }
  if (c.expires_at <= in.now) return OAuthError::invalid_grant("the authorization code expired");
  if (*redirect_uri != c.redirect_uri)
    return OAuthError::invalid_grant(
        "redirect_uri differs from the one of the authorization request");
  if (!pkce_s256_matches(*verifier, c.code_challenge))
    return OAuthError::invalid_grant("code_verifier does not match the code_challenge (S256)");
  // The client may have lost the redirect URI since (its registration changed).
  auto registered = registered_redirect_uris(in.client.identity);
  if (!registered.ok() ||
      std::find(registered->begin(), registered->end(), c.redirect_uri) == registered->end())
    return OAuthError::invalid_grant("redirect_uri is no longer registered for client " + client);

  // The human whose authority the token carries must still be active.
  auto human = check_active_identity(tx, c.human_id, "subject");
  if (!human.ok()) {
    OAuthError e = human.error();
    e.error = "invalid_grant";
    return e;
  }

  // resource at the token endpoint (RFC 8707 §2.2) may only narrow what was approved.
  OAUTH_ASSIGN(auto asked, audiences_requested(req));
  for (const auto& a : asked)
    if (std::find(c.resources.begin(), c.resources.end(), a) == c.resources.end())
      return OAuthError::invalid_target("resource " + a.substr(0, 200) +
                                        " was not approved with the authorization code");
  std::vector<std::string> audience = asked.empty() ? c.resources : asked;

  // The human's entitlements are read again: one withdrawn since the approval counts.
  auto covered = entitlement_coverage(tx, c.human_id, c.scopes, audience, in.now);
  if (!covered.ok()) {
    OAuthError e = covered.error();
    e.description =
        "the approving human's entitlements no longer cover the grant: " + e.description;
    return e;
  }

  OAUTH_ASSIGN(auto out, begin_issuance(in, std::string(kGrantAuthorizationCode)));
  auto& r = out.record;
  r.subject = c.human_id;
  r.actor = client;
  r.scopes = covered->scopes;
  r.audience = covered->audience;
  r.depth = 1;
  r.expires_at = std::min(r.expires_at, covered->not_after);
  out.act = {{"sub", client}};
  out.delegator = c.human_id;
  out.authorization_code = hash;
  out.audit["approved_by"] = c.human_id;
  out.audit["approved_with"] = c.admin_token_id;
  out.audit["redirect_uri"] = c.redirect_uri;
  return out;
}

Status spend_authorization_code(store::Tx& tx, const std::string& code_hash,
                                const std::string& delegation_id, Micros now) {
  CUSTODY_ASSIGN(auto changed,
                 tx.exec("UPDATE authorization_codes SET used_at = $1, delegation_id = $2 "
                         "WHERE code_hash = $3 AND used_at IS NULL",
                         {now, delegation_id, code_hash}));
  if (changed != 1)
    return Error::conflict("the authorization code was already used", "authorization_code");
  return ok_status();
}

}  // namespace custody::oauth
