#include "oauth/client_auth.h"

#include "common/encoding.h"
#include "crypto/jose_encoding.h"
#include "crypto/jws.h"
#include "crypto/jwt.h"
#include "device/assertion.h"
#include "device/workloads.h"
#include "directory/credentials.h"
#include "directory/identity_rows.h"

namespace custody::oauth {
namespace {

struct BasicCredentials {
  std::string id, secret;
};

// nullopt when the header is not Basic; an error when it is Basic but malformed.
OAuthResult<std::optional<BasicCredentials>> parse_basic(std::string_view header) {
  if (header.size() < 6) return std::optional<BasicCredentials>();
  std::string scheme(header.substr(0, 6));
  for (auto& c : scheme) c = static_cast<char>(std::tolower(c));
  if (scheme != "basic ") return std::optional<BasicCredentials>();
  std::string_view rest = header.substr(6);
  while (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
  auto decoded = base64_decode(rest);
  if (!decoded) return OAuthError::invalid_client("malformed Basic credentials", true);
  auto colon = decoded->find(':');
  if (colon == std::string::npos)
    return OAuthError::invalid_client("Basic credentials need client_id:client_secret", true);
  // RFC 6749 §2.3.1: both halves are application/x-www-form-urlencoded.
  auto id = form_decode(std::string_view(*decoded).substr(0, colon));
  auto secret = form_decode(std::string_view(*decoded).substr(colon + 1));
  if (!id || !secret) return OAuthError::invalid_client("malformed Basic credentials", true);
  return std::optional<BasicCredentials>(BasicCredentials{*id, *secret});
}

OAuthError device_bound_refusal(const std::string& client_id) {
  return OAuthError::invalid_client(client_id +
                                    " is bound to devices: authenticate with a device-attested "
                                    "assertion from custody-agent on one of them");
}

OAuthResult<AuthenticatedClient> by_secret(store::Tx& tx, const std::string& id,
                                           const std::string& secret, bool basic,
                                           const crypto::SecretHasher& hasher, Micros now) {
  auto cred = directory::verify_client_secret(tx, id, secret, hasher, now);
  if (!cred.ok()) {
    if (cred.error().code != Code::kUnauthenticated)
      return OAuthError::server_error("cannot check client credentials");
    return OAuthError::invalid_client("invalid client credentials", basic);
  }
  std::vector<directory::rows::IdentityFacts> read;
  auto identity = check_active_identity(tx, id, "client", read);
  if (!identity.ok()) {
    OAuthError e = identity.error();
    e.status = 401;
    e.error = "invalid_client";
    e.basic_challenge = basic;
    return e;
  }
  // Read with the identity's row (device_identities).
  if (read.front().device_bound) return device_bound_refusal(id);
  return AuthenticatedClient{std::move(identity).value(),
                             basic ? "client_secret_basic" : "client_secret_post",
                             cred->id,
                             std::nullopt,
                             0,
                             std::nullopt,
                             std::nullopt,
                             std::move(read),
                             &tx};
}

// A device-attested assertion: the device must still be usable and still allow the client.
OAuthResult<bool> check_device(store::Tx& tx, const nlohmann::json& c, const std::string& client_id,
                               const Settings& settings, Micros now, AuthenticatedClient& out) {
  auto refuse = [](std::string why) {
    return OAuthError::invalid_client("device-attested assertion refused: " + why);
  };
  if (!c.contains("device_id") || !c["device_id"].is_string()) return refuse("it names no device");
  std::string device_id = c["device_id"].get<std::string>();
  auto found = device::find_device(tx, device_id);
  if (!found.ok()) return OAuthError::server_error("cannot read the device");
  if (!*found) return refuse("device " + device_id + " is not enrolled");
  if (auto why = device::unusable_reason(**found, settings.device_posture_max_age, now);
      !why.empty())
    return refuse(why);
  auto binding = device::find_binding(tx, device_id, client_id);
  if (!binding.ok()) return OAuthError::server_error("cannot read device bindings");
  if (!*binding) return refuse(client_id + " is no longer allowed on device " + device_id);
  out.device_id = device_id;
  if (c.contains("cnf")) {
    if (!c["cnf"].is_object() || !c["cnf"].contains("jkt") || !c["cnf"]["jkt"].is_string())
      return refuse("cnf must carry a jkt");
    out.device_jkt = c["cnf"]["jkt"].get<std::string>();
  }
  return true;
}

OAuthResult<AuthenticatedClient> by_assertion(store::Tx& tx, const OAuthRequest& request,
                                              const std::string& assertion,
                                              const Settings& settings,
                                              const crypto::JwkSet& own_keys, Micros now) {
  auto refuse = [](std::string why) {
    return OAuthError::invalid_client("client assertion refused: " + why);
  };
  crypto::VerifyPolicy policy;
  policy.algorithms = {crypto::Alg::kES256, crypto::Alg::kEdDSA, crypto::Alg::kRS256};
  auto parsed = crypto::jws_parse(assertion, policy);
  if (!parsed.ok()) return refuse(parsed.error().message);
  auto claims = crypto::jwt_parse_claims(parsed->payload);
  if (!claims.ok()) return refuse(claims.error().message);
  const auto& c = *claims;
  if (!c.contains("iss") || !c["iss"].is_string() || !c.contains("sub") || !c["sub"].is_string())
    return refuse("iss and sub are required");
  std::string client_id = c["sub"].get<std::string>();
  if (c["iss"].get<std::string>() != client_id)
    return refuse("iss and sub must both be the client");
  if (auto claimed = request.param("client_id"); claimed && *claimed != client_id)
    return refuse("client_id does not match the assertion's sub");
  if (!c.contains("jti") || !c["jti"].is_string() || c["jti"].get<std::string>().empty() ||
      c["jti"].get<std::string>().size() > 256)
    return refuse("jti is required (1..256 characters)");
  // aud: custody's issuer or its token endpoint, as one string (an array could smuggle in other
  // audiences, RFC 7523bis).
  if (!c.contains("aud") || !c["aud"].is_string() ||
      (c["aud"] != settings.issuer && c["aud"] != settings.token_endpoint()))
    return refuse("aud must be the issuer " + settings.issuer + " or the token endpoint");

  bool device_attested =
      parsed->header.contains("typ") && parsed->header["typ"] == device::kAssertionType;
  std::optional<std::size_t> matched;
  std::vector<std::string> ids;
  if (device_attested) {
    // Signed by custody itself (device/assertion.h): verify with custody's own keys.
    if (!crypto::jws_verify_parsed(*parsed, own_keys).ok())
      return refuse("the device-attested assertion was not signed by this custody");
    ids.push_back("device");
    matched = 0;
  } else {
    auto creds = directory::active_jwk_credentials(tx, client_id, now);
    if (!creds.ok()) return OAuthError::server_error("cannot read client keys");
    std::vector<crypto::Jwk> keys;
    for (const auto& cred : *creds) {
      if (!cred.public_jwk) continue;
      auto jwk_json = nlohmann::json::parse(*cred.public_jwk, nullptr, false);
      auto jwk = crypto::Jwk::parse_public(jwk_json, "public_jwk");
      if (!jwk.ok()) continue;
      keys.push_back(*jwk);
      ids.push_back(cred.id);
    }
    if (keys.empty()) return refuse("the client has no registered key");
    // Kids of different credentials may collide (client-chosen); verify against each key alone.
    for (std::size_t i = 0; i < keys.size() && !matched; ++i) {
      if (!parsed->kid.empty() && !keys[i].kid().empty() && keys[i].kid() != parsed->kid) continue;
      if (!keys[i].allows(parsed->alg)) continue;
      if (crypto::jws_verify_signature(*parsed, keys[i]).ok()) matched = i;
    }
    if (!matched) return refuse("signature does not verify with any registered key of the client");
  }

  crypto::JwtPolicy claims_policy;
  claims_policy.check_issuer = false;    // checked above (must equal sub)
  claims_policy.check_audience = false;  // checked above (issuer or token endpoint)
  claims_policy.types = {"JWT", "client-authentication+jwt", std::string(device::kAssertionType)};
  claims_policy.allow_missing_type = true;
  claims_policy.skew = settings.skew;
  if (Status s = crypto::jwt_check_claims(parsed->header, c, claims_policy, now); !s.ok())
    return refuse(s.error().message);
  Micros exp = c["exp"].get<std::int64_t>() * kMicrosPerSecond;
  if (exp - now > settings.assertion_max_lifetime + settings.skew)
    return refuse("exp is too far in the future (at most " +
                  std::to_string(settings.assertion_max_lifetime / kMicrosPerSecond) + " s)");

  std::vector<directory::rows::IdentityFacts> read;
  auto identity = check_active_identity(tx, client_id, "client", read);
  if (!identity.ok()) {
    OAuthError e = identity.error();
    e.status = 401;
    e.error = "invalid_client";
    return e;
  }
  bool device_bound = read.front().device_bound;  // read with the identity's row
  AuthenticatedClient out{std::move(identity).value(),
                          device_attested ? "device_attested_jwt" : "private_key_jwt",
                          ids[*matched],
                          client_id + ":" + c["jti"].get<std::string>(),
                          exp + settings.skew,
                          std::nullopt,
                          std::nullopt,
                          std::move(read),
                          &tx};
  if (device_attested) {
    OAUTH_ASSIGN(bool usable, check_device(tx, c, client_id, settings, now, out));
    (void)usable;
  } else if (device_bound) {
    return device_bound_refusal(client_id);
  }
  return out;
}

}  // namespace

std::string claimed_client_id(const OAuthRequest& request) {
  if (auto basic = parse_basic(request.authorization); basic.ok() && basic.value())
    return basic.value()->id;
  if (auto id = request.param("client_id")) return *id;
  if (auto assertion = request.param("client_assertion")) {
    auto parsed = crypto::jws_parse(
        *assertion, {{crypto::Alg::kES256, crypto::Alg::kEdDSA, crypto::Alg::kRS256}});
    if (parsed.ok()) {
      auto claims = crypto::jwt_parse_claims(parsed->payload);
      if (claims.ok() && claims->contains("sub") && (*claims)["sub"].is_string())
        return (*claims)["sub"].get<std::string>().substr(0, 64);
    }
  }
  return "";
}

OAuthResult<AuthenticatedClient> authenticate_client(store::Tx& tx, const OAuthRequest& request,
                                                     const Settings& settings,
                                                     const crypto::SecretHasher& hasher,
                                                     const crypto::JwkSet& own_keys, Micros now) {
  OAUTH_ASSIGN(auto basic, parse_basic(request.authorization));
  auto post_secret = request.param("client_secret");
  auto assertion = request.param("client_assertion");
  auto assertion_type = request.param("client_assertion_type");
  int methods = (basic ? 1 : 0) + (post_secret ? 1 : 0) + (assertion || assertion_type ? 1 : 0);
  if (methods > 1)
    return OAuthError::invalid_request("use exactly one client authentication method");
  if (basic) {
    if (auto id = request.param("client_id"); id && *id != basic->id)
      return OAuthError::invalid_request("client_id does not match the Basic credentials");
    return by_secret(tx, basic->id, basic->secret, true, hasher, now);
  }
  if (post_secret) {
    auto id = request.param("client_id");
    if (!id) return OAuthError::invalid_request("client_secret needs client_id");
    return by_secret(tx, *id, *post_secret, false, hasher, now);
  }
  if (assertion || assertion_type) {
    if (!assertion_type || *assertion_type != kJwtBearerAssertionType)
      return OAuthError::invalid_client("client_assertion_type must be " +
                                        std::string(kJwtBearerAssertionType));
    if (!assertion) return OAuthError::invalid_request("client_assertion is missing");
    return by_assertion(tx, request, *assertion, settings, own_keys, now);
  }
  return OAuthError::invalid_client("client authentication is required", true);
}

OAuthResult<directory::Identity> check_active_identity(store::Tx& tx, std::string_view id,
                                                       std::string_view role) {
  std::vector<directory::rows::IdentityFacts> read;
  return check_active_identity(tx, id, role, read);
}

namespace {

// Where `id`'s facts are in `read`: already there, or read now (one statement, with the device
// binding and discovery state) and appended. nullopt when no identity has this id.
Result<std::optional<std::size_t>> facts_of(store::Tx& tx, std::string_view id,
                                            std::vector<directory::rows::IdentityFacts>& read) {
  for (std::size_t i = 0; i < read.size(); ++i)
    if (read[i].identity.id == id) return std::optional<std::size_t>(i);
  CUSTODY_ASSIGN(auto found, directory::rows::find_identity_facts(tx, id));
  if (!found) return std::optional<std::size_t>();
  read.push_back(std::move(*found));
  return std::optional<std::size_t>(read.size() - 1);
}

}  // namespace

OAuthResult<directory::Identity> check_active_identity(
    store::Tx& tx, std::string_view id, std::string_view role,
    std::vector<directory::rows::IdentityFacts>& read) {
  std::string r(role);
  auto at = facts_of(tx, id, read);
  if (!at.ok()) return OAuthError::server_error("cannot read identity");
  if (!*at) return OAuthError::invalid_request(r + " " + std::string(id) + " is not registered", r);
  directory::Identity identity = read[**at].identity;
  if (identity.kind == directory::Kind::kHuman && role == "client")
    return OAuthError::unauthorized_client("humans cannot be OAuth clients", r);
  if (identity.state != directory::State::kActive)
    return OAuthError::invalid_grant(
        r + " " + identity.id + " is " + std::string(directory::state_name(identity.state)), r);
  if (identity.kind != directory::Kind::kHuman) {
    if (!identity.owner_id)
      return OAuthError::invalid_grant(r + " " + identity.id + " has no owner", "owner");
    auto owner = facts_of(tx, *identity.owner_id, read);
    if (!owner.ok()) return OAuthError::server_error("cannot read identity");
    if (!*owner || read[**owner].identity.state != directory::State::kActive)
      return OAuthError::invalid_grant(
          "owner " + *identity.owner_id + " of " + r + " " + identity.id + " is " +
              (*owner ? std::string(directory::state_name(read[**owner].identity.state))
                      : "missing"),
          "owner");
  }
  return identity;
}

}  // namespace custody::oauth
