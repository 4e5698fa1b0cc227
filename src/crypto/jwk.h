// JSON Web Keys (RFC 7517/7518, RFC 8037) on OpenSSL 3 EVP: the one place in custody that turns
// JWK JSON into keys and back. Supported key types, each with the single JWS algorithm custody
// uses it for:
//   EC  crv P-256           -> ES256
//   OKP crv Ed25519         -> EdDSA
//   RSA 2048 to 16384 bits  -> RS256
// Everything else (oct/symmetric keys, other curves, multi-prime RSA) is refused: custody never
// verifies with a shared secret, so a symmetric JWK can only be a mistake or an attack.
//
// Errors: parsing returns kInvalidArgument whose message starts with the caller's name for the
// input (`what`, e.g. "public_jwk needs \"x\"") and whose field is `what`; generation and export
// failures inside OpenSSL are kInternal.
//
// Thread safety: a Jwk is an immutable handle (copies share one EVP_PKEY, which OpenSSL allows to
// be used for signing and verifying from many threads at once, plus an internally locked pool of
// OpenSSL contexts set up for it); a JwkSet is immutable after construction. Both may be shared
// freely between threads.
#pragma once

#include <openssl/types.h>

#include <cstddef>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace custody::crypto {

// JWS algorithms custody signs and verifies (RFC 7518 §3.1, RFC 8037 §3.1).
enum class Alg { kES256, kEdDSA, kRS256 };
std::string_view alg_name(Alg alg);  // "ES256", "EdDSA", "RS256"
// Exact, case-sensitive registry name; nullopt for anything custody does not implement.
std::optional<Alg> alg_from_name(std::string_view name);  // also "Ed25519" (RFC 9864) → kEdDSA

enum class KeyType { kEcP256, kEd25519, kRsa };
std::string_view key_type_name(KeyType type);  // "EC P-256", "Ed25519", "RSA"
// The algorithm a key of this type signs with.
Alg alg_for(KeyType type);

constexpr int kMinRsaBits = 2048;
// Bounds the cost of one verification with a key somebody else chose.
constexpr int kMaxRsaBits = 16384;

class Jwk {
 public:
  // A public JWK. Private or symmetric members (d, p, q, dp, dq, qi, k, oth) are refused, so a
  // caller who pastes a private key by mistake learns it at once. Checked: kty/crv supported,
  // members present and canonical unpadded base64url, EC points on P-256 and coordinates 32
  // bytes, RSA modulus 2048..16384 bits and odd, RSA exponent odd, ≥ 3 and ≤ 8 bytes; optional
  // "kid" (1..256 printable ASCII), "alg" (a signature algorithm for the key type; it restricts
  // the key to that algorithm) and "use" (must be "sig"). Other members are ignored (RFC 7517
  // §4). An RSA "n"/"e" with leading zero octets is accepted and re-encoded without them.
  static Result<Jwk> parse_public(const nlohmann::json& jwk, std::string_view what = "jwk");

  // A private JWK: the public members above plus the private ones (EC/OKP "d" of 32 bytes; RSA
  // "d", "p", "q", "dp", "dq", "qi" — the CRT members are required, "oth" refused), which must
  // belong to the public members (checked: EC and RSA pairwise checks, Ed25519 "x" derived from
  // "d"). For custody's own signing keys, e.g. after key_wrap unwrap.
  static Result<Jwk> parse_private(const nlohmann::json& jwk, std::string_view what = "jwk");

  // A new key pair. kid defaults to the RFC 7638 thumbprint. rsa_bits only for kRsa
  // (kMinRsaBits..kMaxRsaBits). kInvalidArgument for a bad size or kid, kInternal if OpenSSL
  // fails.
  static Result<Jwk> generate(KeyType type, std::string kid = {}, int rsa_bits = kMinRsaBits);

  KeyType type() const;
  // The algorithm this key signs and verifies with (alg_for(type())).
  Alg alg() const;
  bool is_private() const;
  // "kid", empty when the JWK had none.
  const std::string& kid() const;
  // The JWK "alg" member as given ("" when absent). It may name an algorithm custody does not
  // implement (RS384, PS256): such a key never verifies anything.
  const std::string& alg_member() const;
  // RFC 7638 thumbprint: base64url(SHA-256(required members, sorted, compact)), 43 characters,
  // computed over the canonical encoding (full-length EC coordinates, RSA n/e without leading
  // zeros).
  const std::string& thumbprint() const;
  // True when a JWS with algorithm `alg` may be verified (or signed) with this key: the key type
  // fits and the key's own "alg" member, if any, agrees. "Ed25519" (the fully-specified name)
  // counts as EdDSA.
  bool allows(Alg alg) const;

  // The public JWK: the required members in canonical form, plus "kid", "alg" and "use" when set.
  nlohmann::json public_json() const;
  // The private JWK (public_json() plus the private members). Only for private keys; the result
  // holds secret material: encrypt it (key_wrap.h) and drop it.
  Result<nlohmann::json> private_json() const;

  // The same key under another kid (1..256 printable ASCII).
  Result<Jwk> with_kid(std::string kid) const;

  // The signature primitive under JWS, with alg(): ES256 signs SHA-256(input) and returns R||S
  // (64 bytes, RFC 7518 §3.4 — not DER), EdDSA returns 64 bytes, RS256 (PKCS #1 v1.5 with
  // SHA-256) the modulus size. Private keys only (kInvalidArgument otherwise).
  Result<std::string> sign(std::string_view input) const;
  // OK when `signature` (in the form sign() returns) is valid for `input`; kUnauthenticated
  // "signature verification failed", or a message naming the wrong length, otherwise.
  Status verify(std::string_view input, std::string_view signature) const;

  // Borrowed; valid while any copy of this Jwk lives. For src/crypto and benchmarks.
  EVP_PKEY* pkey() const;

  struct Data;  // the shared state; defined in jwk_data.h (internal to src/crypto)

 private:
  explicit Jwk(std::shared_ptr<const Data> data) : d_(std::move(data)) {}
  std::shared_ptr<const Data> d_;
};

// RFC 7638 thumbprint of a public JWK (parse_public, then thumbprint()).
Result<std::string> jwk_thumbprint(const nlohmann::json& public_jwk, std::string_view what = "jwk");

// A JWK Set (RFC 7517 §5) of public keys to verify with.
class JwkSet {
 public:
  // Bounds the signatures tried for a token without "kid".
  static constexpr std::size_t kMaxKeys = 64;

  JwkSet() = default;
  // The keys as given (public or private; only the public halves are used to verify). More
  // than kMaxKeys or two keys with the same non-empty kid: kInvalidArgument.
  static Result<JwkSet> of(std::vector<Jwk> keys);
  // {"keys": [...]} from a JWKS document. As RFC 7517 §5 asks, keys custody cannot use
  // (unknown kty or crv, bad members, "use" other than "sig", private members) are skipped;
  // a document that is not such an object, or has more than kMaxKeys keys or a repeated kid,
  // is refused.
  static Result<JwkSet> parse(const nlohmann::json& jwks, std::string_view what = "jwks");

  const std::vector<Jwk>& keys() const { return keys_; }
  bool empty() const { return keys_.empty(); }
  // The key with this kid, or nullptr.
  const Jwk* find(std::string_view kid) const;
  // {"keys": [public_json()...]}.
  nlohmann::json to_json() const;

 private:
  std::vector<Jwk> keys_;
};

}  // namespace custody::crypto
