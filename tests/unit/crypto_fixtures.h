// Published JOSE test vectors and helpers shared by the crypto_*_test.cc files.
#pragma once

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "common/encoding.h"
#include "crypto/jwk.h"
#include "crypto/jws.h"

namespace custody::crypto::testing {

using nlohmann::json;

// RFC 7638 §3.1 (an RSA key from RFC 7517 Appendix A.1) and its thumbprint.
inline json rfc7638_rsa() {
  return {
      {"kty", "RSA"},
      {"n",
       "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_B"
       "JECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW"
       "2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQ"
       "Fh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw"},
      {"e", "AQAB"},
      {"alg", "RS256"},
      {"kid", "2011-04-29"}};
}
constexpr const char* kRfc7638Thumbprint = "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs";

// RFC 7515 Appendix A.3: the ES256 key and the example JWS.
inline json rfc7515_a3_public() {
  return {{"kty", "EC"},
          {"crv", "P-256"},
          {"x", "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU"},
          {"y", "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}};
}
inline json rfc7515_a3_private() {
  json k = rfc7515_a3_public();
  k["d"] = "jpsQnnGQmL-YBIffH1136cspYG6-0iY7X1fCE9-E9LI";
  return k;
}
constexpr const char* kRfc7515A3Token =
    "eyJhbGciOiJFUzI1NiJ9"
    ".eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVl"
    "fQ"
    ".DtEhU3ljbEg8L38VWAfUAqOyKAM6-Xx-F4GawxaepmXFCgfTjDxw5djxLa8ISlSApmWQxfKTUJqPP3-Kg6NU1Q";
constexpr const char* kRfc7515A3Payload =
    "{\"iss\":\"joe\",\r\n \"exp\":1300819380,\r\n \"http://example.com/is_root\":true}";

// RFC 8037 Appendix A.1/A.2 (Ed25519 key), A.3 (thumbprint), A.4 (JWS).
inline json rfc8037_public() {
  return {{"kty", "OKP"}, {"crv", "Ed25519"}, {"x", "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}};
}
inline json rfc8037_private() {
  json k = rfc8037_public();
  k["d"] = "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A";
  return k;
}
constexpr const char* kRfc8037Thumbprint = "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k";
constexpr const char* kRfc8037Token =
    "eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc"
    ".hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg";

// A compact JWS with exactly this header text (which jws_sign would refuse or rewrite), signed
// properly by `key`: for tests of what a verifier does with hostile headers.
inline std::string forge(std::string_view header_text, std::string_view payload, const Jwk& key) {
  std::string input = base64url_encode(header_text) + "." + base64url_encode(payload);
  auto sig = key.sign(input);
  EXPECT_TRUE(sig.ok()) << sig.error().message;
  return input + "." + base64url_encode(sig.ok() ? *sig : std::string());
}

inline Jwk generate(KeyType type, std::string kid = {}) {
  auto key = Jwk::generate(type, std::move(kid));
  EXPECT_TRUE(key.ok()) << key.error().message;
  return std::move(key).value();
}

inline JwkSet set_of(std::vector<Jwk> keys) {
  auto set = JwkSet::of(std::move(keys));
  EXPECT_TRUE(set.ok()) << set.error().message;
  return std::move(set).value();
}

// The error message of a failed Result/Status, or a marker that it succeeded.
template <class R>
std::string error_of(const R& r) {
  return r.ok() ? std::string("<ok>") : r.error().message;
}

}  // namespace custody::crypto::testing
