#include "directory/jwk.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include <array>
#include <memory>
#include <optional>
#include <string_view>

#include "common/encoding.h"
#include "crypto/keyed_hash.h"

namespace custody::directory::jwk {
namespace {

using nlohmann::json;

constexpr const char* kField = "public_jwk";
constexpr std::size_t kMinRsaBytes = 256;   // 2048 bits
constexpr std::size_t kMaxRsaBytes = 2048;  // 16384 bits: bounds the cost of a verification
constexpr std::array<std::string_view, 8> kPrivateMembers = {"d",  "p",  "q", "dp",
                                                             "dq", "qi", "k", "oth"};

Error bad(std::string message) {
  return Error::invalid(std::move(message), kField);
}

// The member as a string, or an error naming it.
Result<std::string> string_member(const json& jwk, const char* name) {
  auto it = jwk.find(name);
  if (it == jwk.end()) return bad(std::string("public_jwk needs \"") + name + "\"");
  if (!it->is_string()) return bad(std::string("public_jwk \"") + name + "\" must be a string");
  return it->get<std::string>();
}

// A base64url member (unpadded, as JWKs are written); returns the decoded bytes.
Result<std::string> b64_member(const json& jwk, const char* name) {
  CUSTODY_ASSIGN(std::string text, string_member(jwk, name));
  auto bytes = text.find('=') == std::string::npos ? base64url_decode(text) : std::nullopt;
  if (!bytes || bytes->empty())
    return bad(std::string("public_jwk \"") + name + "\" is not unpadded base64url");
  return std::move(*bytes);
}

Status fixed_size(const std::string& bytes, std::size_t n, const char* name) {
  if (bytes.size() != n) {
    return bad(std::string("public_jwk \"") + name + "\" must be " + std::to_string(n) + " bytes");
  }
  return ok_status();
}

// The point (x, y) must lie on P-256: OpenSSL decodes it, which rejects points off the curve.
Status check_p256_point(const std::string& x, const std::string& y) {
  std::string pub = "\x04" + x + y;
  std::unique_ptr<EVP_PKEY_CTX, decltype(&EVP_PKEY_CTX_free)> ctx(
      EVP_PKEY_CTX_new_from_name(nullptr, "EC", nullptr), EVP_PKEY_CTX_free);
  char group[] = "P-256";
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, group, 0),
      OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, pub.data(), pub.size()),
      OSSL_PARAM_construct_end()};
  EVP_PKEY* raw = nullptr;
  if (!ctx || EVP_PKEY_fromdata_init(ctx.get()) <= 0 ||
      EVP_PKEY_fromdata(ctx.get(), &raw, EVP_PKEY_PUBLIC_KEY, params) <= 0) {
    return bad("public_jwk is not a point on P-256");
  }
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(raw, EVP_PKEY_free);
  std::unique_ptr<EVP_PKEY_CTX, decltype(&EVP_PKEY_CTX_free)> check(
      EVP_PKEY_CTX_new_from_pkey(nullptr, key.get(), nullptr), EVP_PKEY_CTX_free);
  if (!check || EVP_PKEY_public_check(check.get()) != 1)
    return bad("public_jwk is not a point on P-256");
  return ok_status();
}

Status check_rsa(const std::string& n, const std::string& e) {
  const auto first = n.find_first_not_of('\0');
  const std::size_t n_len = first == std::string::npos ? 0 : n.size() - first;
  if (n_len < kMinRsaBytes) return bad("public_jwk RSA keys must have at least 2048 bits");
  if (n_len > kMaxRsaBytes) return bad("public_jwk RSA keys must have at most 16384 bits");
  if ((static_cast<unsigned char>(n.back()) & 1) == 0) return bad("public_jwk \"n\" is not odd");
  const auto e_first = e.find_first_not_of('\0');
  const std::size_t e_len = e_first == std::string::npos ? 0 : e.size() - e_first;
  // Exponents are small odd numbers (3, 65537); longer ones only slow verification down.
  if (e_len == 0 || e_len > 8 || (static_cast<unsigned char>(e.back()) & 1) == 0 ||
      (e_len == 1 && static_cast<unsigned char>(e.back()) < 3))
    return bad("public_jwk \"e\" is not a valid RSA exponent");
  return ok_status();
}

// alg, when given, must be a signature algorithm for the key type.
Status check_alg(const std::string& kty, const std::string& alg) {
  static const std::array<std::pair<std::string_view, std::string_view>, 9> kAllowed = {{
      {"EC", "ES256"},
      {"OKP", "EdDSA"},
      {"OKP", "Ed25519"},
      {"RSA", "RS256"},
      {"RSA", "RS384"},
      {"RSA", "RS512"},
      {"RSA", "PS256"},
      {"RSA", "PS384"},
      {"RSA", "PS512"},
  }};
  for (const auto& [k, a] : kAllowed)
    if (k == kty && a == alg) return ok_status();
  return bad("public_jwk \"alg\" is not a signature algorithm for " + kty + " keys");
}

}  // namespace

Result<PublicJwk> parse_public(const json& jwk) {
  if (!jwk.is_object()) return bad("public_jwk must be a JSON object");
  for (std::string_view member : kPrivateMembers) {
    if (jwk.contains(member))
      return bad("public_jwk must be a public key: \"" + std::string(member) + "\" is private");
  }
  CUSTODY_ASSIGN(std::string kty, string_member(jwk, "kty"));

  PublicJwk out;
  json& key = out.key;
  key["kty"] = kty;
  if (kty == "EC") {
    CUSTODY_ASSIGN(std::string crv, string_member(jwk, "crv"));
    if (crv != "P-256") return bad("public_jwk EC keys must use crv P-256");
    CUSTODY_ASSIGN(std::string x, b64_member(jwk, "x"));
    CUSTODY_ASSIGN(std::string y, b64_member(jwk, "y"));
    CUSTODY_TRY(fixed_size(x, 32, "x"));
    CUSTODY_TRY(fixed_size(y, 32, "y"));
    CUSTODY_TRY(check_p256_point(x, y));
    key["crv"] = crv;
    key["x"] = jwk.at("x");
    key["y"] = jwk.at("y");
  } else if (kty == "OKP") {
    CUSTODY_ASSIGN(std::string crv, string_member(jwk, "crv"));
    if (crv != "Ed25519") return bad("public_jwk OKP keys must use crv Ed25519");
    CUSTODY_ASSIGN(std::string x, b64_member(jwk, "x"));
    CUSTODY_TRY(fixed_size(x, 32, "x"));
    key["crv"] = crv;
    key["x"] = jwk.at("x");
  } else if (kty == "RSA") {
    CUSTODY_ASSIGN(std::string n, b64_member(jwk, "n"));
    CUSTODY_ASSIGN(std::string e, b64_member(jwk, "e"));
    CUSTODY_TRY(check_rsa(n, e));
    key["n"] = jwk.at("n");
    key["e"] = jwk.at("e");
  } else {
    return bad("public_jwk kty must be EC, OKP or RSA");
  }
  // RFC 7638 §3.2: the required members only, in lexicographic order, without whitespace;
  // nlohmann objects keep their keys sorted, so dump() is exactly that form.
  out.thumbprint = base64url_encode(crypto::sha256(key.dump()));

  if (jwk.contains("kid")) {
    CUSTODY_ASSIGN(std::string kid, string_member(jwk, "kid"));
    if (kid.empty() || kid.size() > 256) return bad("public_jwk \"kid\" must be 1 to 256 bytes");
    for (char c : kid) {
      if (c < 0x20 || c > 0x7e) return bad("public_jwk \"kid\" must be printable ASCII");
    }
    key["kid"] = kid;
  }
  if (jwk.contains("alg")) {
    CUSTODY_ASSIGN(std::string alg, string_member(jwk, "alg"));
    CUSTODY_TRY(check_alg(kty, alg));
    key["alg"] = alg;
  }
  if (jwk.contains("use")) {
    CUSTODY_ASSIGN(std::string use, string_member(jwk, "use"));
    if (use != "sig") return bad("public_jwk \"use\" must be sig");
    key["use"] = use;
  }
  return out;
}

}  // namespace custody::directory::jwk
