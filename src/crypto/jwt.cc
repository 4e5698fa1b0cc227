#include "crypto/jwt.h"

#include <cmath>
#include <cstdint>
#include <optional>

#include "common/encoding.h"
#include "common/jcs.h"
#include "crypto/jose_encoding.h"

namespace custody::crypto {
namespace {

using nlohmann::json;

// 9999-12-31T23:59:59Z: later NumericDates are bugs or attacks, and would overflow Micros.
constexpr std::int64_t kMaxNumericDate = 253402300799;

Error refuse(std::string message) {
  return Error::unauthenticated(std::move(message));
}

Status check_policy(const JwtPolicy& policy) {
  if (policy.check_issuer && policy.issuer.empty())
    return Error::internal("JWT policy checks iss but names no issuer");
  if (policy.check_audience && policy.audience.empty())
    return Error::internal("JWT policy checks aud but names no audience");
  if (policy.check_type && policy.types.empty())
    return Error::internal("JWT policy checks typ but accepts no type");
  return ok_status();
}

// RFC 7515 §4.1.9: a media type, case-insensitive, with "application/" implied when no '/'.
std::string media_type(std::string_view typ) {
  std::string out;
  if (typ.find('/') == std::string_view::npos) out = "application/";
  for (char c : typ) out += (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
  return out;
}

std::string expected_types(const JwtPolicy& policy) {
  std::string out;
  for (const std::string& t : policy.types) out += (out.empty() ? "" : " or ") + t;
  return out;
}

Status check_type(const json& header, const JwtPolicy& policy) {
  if (!policy.check_type) return ok_status();
  auto it = header.find("typ");
  if (it == header.end()) {
    if (policy.allow_missing_type) return ok_status();
    return refuse("token has no typ (expected " + expected_types(policy) + ")");
  }
  if (!it->is_string()) return refuse("token typ must be a string");
  const std::string got = media_type(it->get_ref<const std::string&>());
  for (const std::string& t : policy.types) {
    if (media_type(t) == got) return ok_status();
  }
  return refuse("token typ " + quote_untrusted(it->get_ref<const std::string&>()) +
                " is not accepted (expected " + expected_types(policy) + ")");
}

// A NumericDate claim (RFC 7519 §2: seconds, possibly fractional) in microseconds; nullopt when
// absent.
Result<std::optional<Micros>> numeric_date(const json& claims, const char* name) {
  auto it = claims.find(name);
  if (it == claims.end()) return std::optional<Micros>();
  auto bad = [name] {
    return refuse(std::string("token ") + name + " is not a valid NumericDate");
  };
  if (it->is_number_unsigned()) {
    const auto v = it->get<std::uint64_t>();
    if (v > static_cast<std::uint64_t>(kMaxNumericDate)) return bad();
    return std::optional<Micros>(static_cast<Micros>(v) * kMicrosPerSecond);
  }
  if (it->is_number_integer()) {
    const auto v = it->get<std::int64_t>();
    if (v < 0 || v > kMaxNumericDate) return bad();
    return std::optional<Micros>(v * kMicrosPerSecond);
  }
  if (it->is_number_float()) {
    const double v = it->get<double>();
    if (!std::isfinite(v) || v < 0 || v > static_cast<double>(kMaxNumericDate)) return bad();
    return std::optional<Micros>(static_cast<Micros>(v * static_cast<double>(kMicrosPerSecond)));
  }
  return bad();
}

Status check_times(const json& claims, const JwtPolicy& policy, Micros now) {
  CUSTODY_ASSIGN(std::optional<Micros> exp, numeric_date(claims, "exp"));
  CUSTODY_ASSIGN(std::optional<Micros> nbf, numeric_date(claims, "nbf"));
  CUSTODY_ASSIGN(std::optional<Micros> iat, numeric_date(claims, "iat"));
  if (!exp && policy.require_exp) return refuse("token has no exp");
  // RFC 7519 §4.1.4: the current time must be before exp; the skew extends that.
  if (exp && now >= *exp + policy.skew) return refuse("token expired at " + format_rfc3339(*exp));
  if (nbf && now < *nbf - policy.skew) {
    return refuse("token is not valid before " + format_rfc3339(*nbf));
  }
  if (!iat && policy.require_iat) return refuse("token has no iat");
  if (iat && *iat > now + policy.skew) {
    return refuse("token issued in the future (iat " + format_rfc3339(*iat) + ")");
  }
  return ok_status();
}

Status check_issuer(const json& claims, const JwtPolicy& policy) {
  if (!policy.check_issuer) return ok_status();
  auto it = claims.find("iss");
  if (it == claims.end()) return refuse("token has no iss");
  if (!it->is_string()) return refuse("token iss must be a string");
  if (*it != policy.issuer) return refuse("issuer mismatch");
  return ok_status();
}

Status check_audience(const json& claims, const JwtPolicy& policy) {
  if (!policy.check_audience) return ok_status();
  auto it = claims.find("aud");
  if (it == claims.end()) return refuse("token has no aud");
  if (it->is_string()) {
    if (*it != policy.audience) return refuse("audience mismatch");
    return ok_status();
  }
  if (!it->is_array()) return refuse("token aud must be a string or an array of strings");
  if (policy.single_audience) return refuse("token aud must be a single string");
  bool found = false;
  for (const json& entry : *it) {
    if (!entry.is_string()) return refuse("token aud must be a string or an array of strings");
    if (entry == policy.audience) found = true;
  }
  if (!found) return refuse("audience mismatch");
  return ok_status();
}

// Registered string claims custody reads elsewhere must at least have the right type.
Status check_string_claims(const json& claims) {
  for (const char* name : {"sub", "jti", "client_id", "scope"}) {
    auto it = claims.find(name);
    if (it != claims.end() && !it->is_string())
      return refuse(std::string("token ") + name + " must be a string");
  }
  return ok_status();
}

// Everything about the claims set; the policy and typ were checked by the caller.
Status check_registered_claims(const json& claims, const JwtPolicy& policy, Micros now) {
  CUSTODY_TRY(check_issuer(claims, policy));
  CUSTODY_TRY(check_audience(claims, policy));
  CUSTODY_TRY(check_times(claims, policy, now));
  return check_string_claims(claims);
}

}  // namespace

Result<std::string> jwt_sign(const json& claims, const Jwk& key, std::string_view typ) {
  if (!claims.is_object()) return Error::invalid("JWT claims must be a JSON object", "claims");
  auto payload = dump_compact(claims);
  if (!payload) return Error::invalid("JWT claims are not valid UTF-8", "claims");
  return jwt_sign_serialized(*payload, key, typ);
}

Result<std::string> jwt_sign_serialized(std::string_view claims_json, const Jwk& key,
                                        std::string_view typ) {
  if (claims_json.size() < 2 || claims_json.front() != '{' || claims_json.back() != '}')
    return Error::invalid("JWT claims must be a JSON object", "claims");
  if (!key.allows(key.alg()))
    return Error::invalid("the key is restricted to alg " + key.alg_member(), "key");
  // The header jws_sign would write for {"kid", "typ"}: members in name order, no JSON value.
  std::string header = "{\"alg\":\"";
  header += alg_name(key.alg());
  header += '"';
  if (!key.kid().empty()) {
    header += ",\"kid\":";
    CUSTODY_TRY(jcs::append_string(key.kid(), header));
  }
  if (!typ.empty()) {
    header += ",\"typ\":";
    CUSTODY_TRY(jcs::append_string(typ, header));
  }
  header += '}';
  std::string token = base64url_encode(header);
  token.reserve(token.size() + 1 + (claims_json.size() + 2) / 3 * 4 + 1 + 344);
  token += '.';
  token += base64url_encode(claims_json);
  CUSTODY_ASSIGN(std::string sig, key.sign(token));
  token += '.';
  token += base64url_encode(sig);
  return token;
}

Result<json> jwt_parse_claims(std::string_view payload) {
  StrictJson claims = parse_json_object_strict(payload);
  if (claims.defect != JsonDefect::kNone) return refuse("token claims " + describe(claims));
  return std::move(claims.value);
}

Status jwt_check_claims(const json& header, const json& claims, const JwtPolicy& policy,
                        Micros now) {
  CUSTODY_TRY(check_policy(policy));
  CUSTODY_TRY(check_type(header, policy));
  return check_registered_claims(claims, policy, now);
}

Result<Jwt> jwt_verify(std::string_view token, const JwkSet& keys, const JwtPolicy& policy,
                       const Clock& clock) {
  // A misconfigured verifier refuses before it looks at the token.
  CUSTODY_TRY(check_policy(policy));
  CUSTODY_ASSIGN(ParsedJws jws, jws_parse(token, policy.jws));
  // typ before the signature: a token of the wrong kind costs no verification.
  CUSTODY_TRY(check_type(jws.header, policy));
  CUSTODY_ASSIGN(Jwk key, jws_verify_parsed(jws, keys));
  CUSTODY_ASSIGN(json claims, jwt_parse_claims(jws.payload));
  CUSTODY_TRY(check_registered_claims(claims, policy, clock.now()));
  return Jwt{std::move(jws.header), std::move(claims), jws.alg, std::move(key)};
}

}  // namespace custody::crypto
