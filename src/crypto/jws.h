// JWS compact serialization (RFC 7515 §7.1) with ES256, EdDSA and RS256 on OpenSSL 3 EVP.
//
// Verification is deny-by-default. A token is refused, each with its own message, when:
//   - it is longer than the policy's max_token_bytes (default 16 KiB);
//   - it is not exactly three canonical unpadded base64url parts separated by two dots;
//   - the protected header is not a UTF-8 JSON object, repeats a member name, or nests too deep;
//   - "alg" is missing, "none", an HMAC algorithm (HS256/384/512: verifying an HMAC with a
//     public key is the classic algorithm-confusion attack), unknown, or not in the policy's
//     allow-list (default {ES256}; EdDSA and RS256 are opt-in);
//   - "crit" is present and names anything the caller did not declare understood (RFC 7515
//     §4.1.11), or is malformed;
//   - "jku" or "x5u" is present: custody never fetches keys named by a token;
//   - "b64" is present and not true (RFC 7797 unencoded payloads are not supported);
//   - the signature has the wrong length for the algorithm (ES256: raw 64-byte R||S, RFC 7518
//     §3.4; EdDSA: 64 bytes; RS256: the modulus size) or does not verify;
//   - no key fits: with "kid", only the key with that kid is tried; without, every key of the
//     matching type (see JwkSet::kMaxKeys). A key's own "alg" member must agree with the token's.
// Keys embedded in a token ("jwk", "x5c") are ignored here; DPoP proof checking calls jws_parse()
// and jws_verify_signature() with the embedded key explicitly.
//
// Errors: every refusal of a token is Code::kUnauthenticated; a caller bug (a header that does
// not fit the key, a public key given to sign) is kInvalidArgument; OpenSSL failures kInternal.
// Stateless and thread-safe; keys may be shared between threads.
#pragma once

#include <cstddef>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "crypto/jwk.h"

namespace custody::crypto {

struct VerifyPolicy {
  // The algorithms accepted; a token with any other alg is refused before any key is looked at.
  std::vector<Alg> algorithms = {Alg::kES256};
  std::size_t max_token_bytes = 16 * 1024;
  // "crit" names the caller processes itself. Empty: any "crit" refuses the token.
  std::vector<std::string> understood_crit;
};

// A compact JWS whose structure and header passed the policy; the signature is not checked yet.
struct ParsedJws {
  nlohmann::json header;      // the protected header (an object)
  std::string payload;        // decoded payload bytes
  Alg alg = Alg::kES256;      // from the header, allowed by the policy
  std::string kid;            // header "kid", "" when absent
  std::string signing_input;  // ASCII(BASE64URL(header) || '.' || BASE64URL(payload))
  std::string signature;      // decoded signature bytes
};

// A JWS whose signature verified.
struct VerifiedJws {
  nlohmann::json header;
  std::string payload;
  Alg alg = Alg::kES256;
  Jwk key;  // the key that verified it (from the set given to verify)
};

// Signs `payload` as a compact JWS with a private key. `header` holds the protected header
// members to send (typ, kid, cty, ...); "alg" is set to key.alg() — if header already has an
// "alg" it must be that one. No "kid" is added: the JWT layer adds the key's. Unencoded-payload
// and key-fetching members (b64, crit, jku, x5u) are refused, since custody would then issue
// tokens it refuses to verify itself.
Result<std::string> jws_sign(const nlohmann::json& header, std::string_view payload,
                             const Jwk& key);

// Structure and header checks of the list above, without the signature.
Result<ParsedJws> jws_parse(std::string_view token, const VerifyPolicy& policy = {});

// Checks the signature of a parsed token with one key (which must allow() the token's alg).
Status jws_verify_signature(const ParsedJws& jws, const Jwk& key);

// Selects the key for a parsed token from `keys` (by "kid" when present, else every key that
// allows the alg) and checks the signature; returns the key that verified.
Result<Jwk> jws_verify_parsed(const ParsedJws& jws, const JwkSet& keys);

// jws_parse then jws_verify_parsed.
Result<VerifiedJws> jws_verify(std::string_view token, const JwkSet& keys,
                               const VerifyPolicy& policy = {});

}  // namespace custody::crypto
