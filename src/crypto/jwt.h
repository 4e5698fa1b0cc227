// JSON Web Tokens (RFC 7519) over jws.h: signing a claims set, and verification that checks the
// signature and then the registered claims against a JwtPolicy and a Clock.
//
// The policy is fail-closed: issuer, audience and typ are checked unless the caller switches a
// check off by name (DPoP proofs have no iss/aud); a check left on with nothing to compare
// against is a configuration bug and refuses every token (kInternal) instead of passing it.
//
// Refusals are Code::kUnauthenticated with one precise message each: "token expired at
// 2026-01-01T00:00:00.000Z", "token is not valid before …", "token issued in the future (iat
// …)", "token has no exp", "issuer mismatch", "audience mismatch", "token typ \"JWT\" is not
// accepted (expected at+jwt)", plus every refusal listed in jws.h. Stateless and thread-safe.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.h"
#include "common/result.h"
#include "crypto/jwk.h"
#include "crypto/jws.h"

namespace custody::crypto {

struct JwtPolicy {
  VerifyPolicy jws;  // algorithms, size limit, understood crit

  // "iss" must equal this exactly.
  std::string issuer;
  bool check_issuer = true;

  // "aud" — a string, or an array of strings — must contain this exactly.
  std::string audience;
  bool check_audience = true;
  // custody's RFC 7523 rule (audience injection): "aud" must be one string, not an array.
  bool single_audience = false;

  // Accepted header "typ" values, compared as media types (RFC 7515 §4.1.9): case-insensitive,
  // "application/" optional on both sides, so "at+jwt" accepts "application/at+jwt" (RFC 9068
  // §4) and "AT+JWT".
  std::vector<std::string> types;
  bool check_type = true;
  // With check_type: whether a token without "typ" passes too (RFC 7523 assertions may omit
  // it).
  bool allow_missing_type = false;

  bool require_exp = true;
  bool require_iat = false;
  // Tolerated clock difference for exp, nbf and iat. At exactly exp + skew a token is expired;
  // at exactly nbf - skew it is valid; iat may be up to skew in the future.
  Micros skew = 60 * kMicrosPerSecond;
};

// A verified token.
struct Jwt {
  nlohmann::json header;
  nlohmann::json claims;  // an object without duplicate members
  Alg alg = Alg::kES256;
  Jwk key;  // the key that verified it
};

// Signs `claims` (an object) with a private key. The header is {"alg", "kid" (the key's, when
// it has one), "typ" (when not empty)}. kInvalidArgument for a non-object or non-UTF-8 claims.
Result<std::string> jwt_sign(const nlohmann::json& claims, const Jwk& key,
                             std::string_view typ = "JWT");
// As jwt_sign, for claims the caller already serialised as one JSON object (UTF-8, no duplicate
// member names), e.g. written member by member on the token endpoint's hot path
// (oauth/access_token.h): the same header, no JSON value built or dumped. kInvalidArgument when
// `claims_json` is not braced like an object; the caller vouches for the rest.
Result<std::string> jwt_sign_serialized(std::string_view claims_json, const Jwk& key,
                                        std::string_view typ = "JWT");

// The whole verification: jws_parse, typ, signature with a key from `keys`, claims.
Result<Jwt> jwt_verify(std::string_view token, const JwkSet& keys, const JwtPolicy& policy,
                       const Clock& clock);

// Building blocks for callers that find the key elsewhere (a DPoP proof carries its own):
// the payload as a claims object (strict JSON: duplicate members refused), ...
Result<nlohmann::json> jwt_parse_claims(std::string_view payload);
// ... and the header "typ" plus registered-claim checks of jwt_verify, at time `now`.
Status jwt_check_claims(const nlohmann::json& header, const nlohmann::json& claims,
                        const JwtPolicy& policy, Micros now);

}  // namespace custody::crypto
