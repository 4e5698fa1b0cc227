// JWS compact: the RFC vectors, round trips per algorithm, and each refusal with its reason.
#include <gtest/gtest.h>

#include "common/encoding.h"
#include "crypto/jwk.h"
#include "crypto/jws.h"
#include "crypto/keyed_hash.h"
#include "crypto_fixtures.h"

namespace custody::crypto {
namespace {

using nlohmann::json;
using testing::error_of;
using testing::forge;
using testing::generate;
using testing::set_of;

const VerifyPolicy kAllAlgs{{Alg::kES256, Alg::kEdDSA, Alg::kRS256}};

class CryptoJws : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    ec_ = new Jwk(generate(KeyType::kEcP256, "ec-1"));
    ed_ = new Jwk(generate(KeyType::kEd25519, "ed-1"));
    rsa_ = new Jwk(generate(KeyType::kRsa, "rsa-1"));
  }
  static void TearDownTestSuite() {
    delete ec_;
    delete ed_;
    delete rsa_;
  }
  static JwkSet all() { return set_of({*ec_, *ed_, *rsa_}); }

  // A refusal: kUnauthenticated with exactly this message.
  static void expect_refused(std::string_view token, const JwkSet& keys, const VerifyPolicy& policy,
                             const std::string& message) {
    auto r = jws_verify(token, keys, policy);
    ASSERT_FALSE(r.ok()) << "accepted: " << token;
    EXPECT_EQ(r.error().code, Code::kUnauthenticated);
    EXPECT_EQ(r.error().message, message);
  }

  static Jwk* ec_;
  static Jwk* ed_;
  static Jwk* rsa_;
};
Jwk* CryptoJws::ec_ = nullptr;
Jwk* CryptoJws::ed_ = nullptr;
Jwk* CryptoJws::rsa_ = nullptr;

TEST_F(CryptoJws, Rfc7515A3Es256Verifies) {
  JwkSet keys = set_of({Jwk::parse_public(testing::rfc7515_a3_public()).value()});
  auto r = jws_verify(testing::kRfc7515A3Token, keys);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->alg, Alg::kES256);
  EXPECT_EQ(r->payload, testing::kRfc7515A3Payload);
  EXPECT_EQ(r->header, json({{"alg", "ES256"}}));
  // One flipped bit in the signature (R's first byte) and it fails.
  std::string token = testing::kRfc7515A3Token;
  token[token.rfind('.') + 1] = 'E';
  expect_refused(token, keys, {}, "signature verification failed");
}

TEST_F(CryptoJws, Rfc8037A4Ed25519SignsExactly) {
  Jwk key = Jwk::parse_private(testing::rfc8037_private()).value();
  // Ed25519 is deterministic: the same key and input give the published signature.
  auto token = jws_sign(json::object(), "Example of Ed25519 signing", key);
  ASSERT_TRUE(token.ok()) << token.error().message;
  EXPECT_EQ(*token, testing::kRfc8037Token);
  JwkSet keys = set_of({Jwk::parse_public(testing::rfc8037_public()).value()});
  auto r = jws_verify(testing::kRfc8037Token, keys, VerifyPolicy{{Alg::kEdDSA}});
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->payload, "Example of Ed25519 signing");
}

TEST_F(CryptoJws, RoundTripsEachAlgorithm) {
  for (const Jwk* key : {ec_, ed_, rsa_}) {
    auto token = jws_sign(json{{"typ", "JWT"}, {"kid", key->kid()}}, "{\"a\":1}", *key);
    ASSERT_TRUE(token.ok()) << token.error().message;
    auto r = jws_verify(*token, all(), kAllAlgs);
    ASSERT_TRUE(r.ok()) << alg_name(key->alg()) << ": " << r.error().message;
    EXPECT_EQ(r->alg, key->alg());
    EXPECT_EQ(r->header["alg"], alg_name(key->alg()));
    EXPECT_EQ(r->payload, "{\"a\":1}");
    EXPECT_EQ(r->key.thumbprint(), key->thumbprint());
    // Signature sizes: ES256 is R||S, never DER.
    const auto sig = base64url_decode(token->substr(token->rfind('.') + 1)).value();
    const std::size_t expected = key->type() == KeyType::kRsa ? 256u : 64u;
    EXPECT_EQ(sig.size(), expected);
  }
}

TEST_F(CryptoJws, SignRefusesWhatItWouldNotVerify) {
  Jwk pub = Jwk::parse_public(ec_->public_json()).value();
  EXPECT_EQ(error_of(jws_sign(json::object(), "x", pub)), "signing needs a private key");
  EXPECT_EQ(error_of(jws_sign(json{{"alg", "RS256"}}, "x", *ec_)),
            "JWS header alg does not fit the key, which signs with ES256");
  EXPECT_EQ(error_of(jws_sign(json{{"crit", {"exp"}}}, "x", *ec_)),
            "JWS header crit is not supported");
  EXPECT_EQ(error_of(jws_sign(json::array(), "x", *ec_)), "JWS header must be a JSON object");
}

TEST_F(CryptoJws, RejectsAlgNone) {
  const std::string unsigned_token =
      base64url_encode(R"({"alg":"none"})") + "." + base64url_encode("{}") + ".";
  expect_refused(unsigned_token, all(), kAllAlgs, "algorithm none is not allowed");
  const std::string shouted =
      base64url_encode(R"({"alg":"NONE"})") + "." + base64url_encode("{}") + ".";
  expect_refused(shouted, all(), kAllAlgs, "algorithm none is not allowed");
}

TEST_F(CryptoJws, RejectsHmacWithAPublicKey) {
  // The classic confusion: HS256 "signed" with the verifier's public key as the HMAC secret.
  const std::string secret = ec_->public_json().dump();
  const std::string input = base64url_encode(R"({"alg":"HS256","kid":"ec-1"})") + "." +
                            base64url_encode(R"({"sub":"admin"})");
  const std::string token = input + "." + base64url_encode(hmac_sha256(secret, input));
  expect_refused(token, all(), kAllAlgs,
                 "algorithm \"HS256\" is not allowed: HMAC would use a public key as a shared "
                 "secret");
  for (const char* alg : {"HS384", "HS512"}) {
    const std::string t = base64url_encode(std::string(R"({"alg":")") + alg + "\"}") + "." +
                          base64url_encode("{}") + "." + base64url_encode("sig");
    auto r = jws_verify(t, all(), kAllAlgs);
    EXPECT_NE(error_of(r).find("HMAC"), std::string::npos) << alg;
  }
}

TEST_F(CryptoJws, RejectsAlgorithmsOutsideTheAllowList) {
  auto token = jws_sign(json{{"kid", "rsa-1"}}, "{}", *rsa_);
  ASSERT_TRUE(token.ok());
  // The default policy is ES256 only.
  expect_refused(*token, all(), {}, "algorithm RS256 is not allowed by this verifier");
  auto ed = jws_sign(json{{"kid", "ed-1"}}, "{}", *ed_);
  expect_refused(*ed, all(), {}, "algorithm EdDSA is not allowed by this verifier");
  EXPECT_TRUE(jws_verify(*ed, all(), VerifyPolicy{{Alg::kEdDSA}}).ok());
}

TEST_F(CryptoJws, RejectsUnknownAlgorithms) {
  const std::string token = forge(R"({"alg":"ES512"})", "{}", *ec_);
  expect_refused(token, all(), kAllAlgs, "algorithm \"ES512\" is not supported");
  const std::string numeric = forge(R"({"alg":256})", "{}", *ec_);
  expect_refused(numeric, all(), kAllAlgs, "token header alg must be a string");
  const std::string missing = forge(R"({"typ":"JWT"})", "{}", *ec_);
  expect_refused(missing, all(), kAllAlgs, "token header has no alg");
}

TEST_F(CryptoJws, RejectsAnAlgorithmThatDoesNotFitTheKey) {
  // Signed by the RSA key, but the header names the EC key.
  const std::string token = forge(R"({"alg":"RS256","kid":"ec-1"})", "{}", *rsa_);
  expect_refused(token, all(), kAllAlgs, "algorithm RS256 does not fit an EC P-256 key");
  // ES256 header, Ed25519 key named.
  const std::string ed = forge(R"({"alg":"ES256","kid":"ed-1"})", "{}", *ec_);
  expect_refused(ed, all(), kAllAlgs, "algorithm ES256 does not fit an Ed25519 key");
}

TEST_F(CryptoJws, RejectsAlgorithmOtherThanTheKeysOwn) {
  json ps = rsa_->public_json();
  ps["alg"] = "PS256";
  JwkSet keys = set_of({Jwk::parse_public(ps).value()});
  const std::string token = forge(R"({"alg":"RS256","kid":"rsa-1"})", "{}", *rsa_);
  expect_refused(token, keys, kAllAlgs,
                 "algorithm RS256 does not fit the key, which is restricted to PS256");
}

TEST_F(CryptoJws, RejectsUnknownCrit) {
  const std::string token = forge(R"({"alg":"ES256","crit":["exp"],"exp":1})", "{}", *ec_);
  expect_refused(token, all(), {}, "crit parameter \"exp\" is not understood");
  // Understood when the caller says so.
  VerifyPolicy understood;
  understood.understood_crit = {"exp"};
  EXPECT_TRUE(jws_verify(token, all(), understood).ok());
}

TEST_F(CryptoJws, RejectsMalformedCrit) {
  VerifyPolicy understood;
  understood.understood_crit = {"exp"};
  expect_refused(forge(R"({"alg":"ES256","crit":["exp"]})", "{}", *ec_), all(), understood,
                 "token header crit names \"exp\", which the header does not have");
  expect_refused(forge(R"({"alg":"ES256","crit":[]})", "{}", *ec_), all(), understood,
                 "token header crit must be a non-empty array");
  expect_refused(forge(R"({"alg":"ES256","crit":"exp","exp":1})", "{}", *ec_), all(), understood,
                 "token header crit must be a non-empty array");
  expect_refused(forge(R"({"alg":"ES256","crit":[1]})", "{}", *ec_), all(), understood,
                 "token header crit must list member names");
}

TEST_F(CryptoJws, RejectsJku) {
  const std::string token =
      forge(R"({"alg":"ES256","jku":"https://attacker.example/jwks"})", "{}", *ec_);
  expect_refused(token, all(), {},
                 "token header jku is not allowed: custody never fetches keys named by a token");
}

TEST_F(CryptoJws, RejectsX5u) {
  const std::string token =
      forge(R"({"alg":"ES256","x5u":"https://attacker.example/cert"})", "{}", *ec_);
  expect_refused(token, all(), {},
                 "token header x5u is not allowed: custody never fetches keys named by a token");
}

TEST_F(CryptoJws, RejectsUnencodedPayloadHeader) {
  const std::string token = forge(R"({"alg":"ES256","b64":false})", "{}", *ec_);
  expect_refused(token, all(), {}, "token header b64 (unencoded payload) is not supported");
}

TEST_F(CryptoJws, IgnoresAnEmbeddedKey) {
  // The header carries the attacker's own key; verification uses only the key set.
  Jwk attacker = generate(KeyType::kEcP256);
  json header = {{"alg", "ES256"}, {"jwk", attacker.public_json()}};
  const std::string token = forge(header.dump(), "{}", attacker);
  expect_refused(token, set_of({*ec_}), {}, "signature verification failed");
}

TEST_F(CryptoJws, RejectsMalformedBase64url) {
  const std::string good = *jws_sign(json::object(), "{\"a\":1}", *ec_);
  const auto dot1 = good.find('.');
  const auto dot2 = good.rfind('.');
  const std::string header = good.substr(0, dot1);
  const std::string payload = good.substr(dot1 + 1, dot2 - dot1 - 1);
  const std::string sig = good.substr(dot2 + 1);
  expect_refused(header + "=." + payload + "." + sig, all(), {},
                 "token header is not unpadded base64url");
  expect_refused(header + "." + payload + "=." + sig, all(), {},
                 "token payload is not unpadded base64url");
  expect_refused(header + "." + payload + ".+" + sig.substr(1), all(), {},
                 "token signature is not unpadded base64url");
  expect_refused(header + "." + payload + ". " + sig, all(), {},
                 "token signature is not unpadded base64url");
  // 64 bytes encode to 86 characters whose last one carries 4 unused bits; setting one gives
  // the same bytes under a second spelling.
  std::string sloppy = sig;
  sloppy.back() = sloppy.back() == 'A' ? 'B' : static_cast<char>(sloppy.back() + 1);
  expect_refused(header + "." + payload + "." + sloppy, all(), {},
                 "token signature is not unpadded base64url");
}

TEST_F(CryptoJws, RejectsWrongNumberOfParts) {
  const std::string good = *jws_sign(json::object(), "{}", *ec_);
  const std::string message = "token must be three base64url parts separated by two dots";
  expect_refused(good + ".", all(), {}, message);
  expect_refused(good + ".e30", all(), {}, message);
  expect_refused(good.substr(0, good.rfind('.')), all(), {}, message);
  expect_refused("", all(), {}, message);
  expect_refused("..", all(), {}, "token header is not valid JSON");
}

TEST_F(CryptoJws, RejectsOversizedTokens) {
  const std::string big = *jws_sign(json::object(), std::string(16 * 1024, 'a'), *ec_);
  expect_refused(big, all(), {}, "token is larger than 16384 bytes");
  const std::string small = *jws_sign(json::object(), "{}", *ec_);
  VerifyPolicy tight;
  tight.max_token_bytes = 64;
  expect_refused(small, all(), tight, "token is larger than 64 bytes");
  EXPECT_TRUE(jws_verify(small, all(), {}).ok());
}

TEST_F(CryptoJws, RejectsDuplicateHeaderMembers) {
  // nlohmann would keep the last "alg"; another library might keep the first.
  const std::string token = forge(R"({"alg":"none","alg":"ES256"})", "{}", *ec_);
  expect_refused(token, all(), {}, "token header has duplicate member \"alg\"");
  const std::string nested = forge(R"({"alg":"ES256","x":{"k":1,"k":2}})", "{}", *ec_);
  expect_refused(nested, all(), {}, "token header has duplicate member \"k\"");
}

TEST_F(CryptoJws, RejectsHeadersThatAreNotObjects) {
  expect_refused(forge(R"(["ES256"])", "{}", *ec_), all(), {}, "token header is not a JSON object");
  expect_refused(forge(R"({"alg":"ES256")", "{}", *ec_), all(), {},
                 "token header is not valid JSON");
  std::string deep = R"({"alg":"ES256","x":)" + std::string(40, '[') + std::string(40, ']') + "}";
  expect_refused(forge(deep, "{}", *ec_), all(), {}, "token header nests deeper than 32 levels");
}

TEST_F(CryptoJws, RejectsEs256SignaturesOfTheWrongLength) {
  const std::string good = *jws_sign(json::object(), "{}", *ec_);
  const std::string input = good.substr(0, good.rfind('.'));
  const std::string raw = base64url_decode(good.substr(good.rfind('.') + 1)).value();
  const std::string message = "ES256 signature must be 64 bytes (R||S)";
  expect_refused(input + "." + base64url_encode(raw.substr(0, 63)), all(), {}, message);
  expect_refused(input + "." + base64url_encode(raw + '\0'), all(), {}, message);
  expect_refused(input + ".", all(), {}, message);
  // A DER signature (what OpenSSL produces natively) is not the JWS format.
  expect_refused(input + "." +
                     base64url_encode(std::string("\x30\x44\x02\x20", 4) + raw.substr(0, 32) +
                                      "\x02\x20" + raw.substr(32)),
                 all(), {}, message);
}

TEST_F(CryptoJws, RejectsOtherWrongSignatureLengths) {
  const std::string ed = *jws_sign(json{{"kid", "ed-1"}}, "{}", *ed_);
  expect_refused(ed.substr(0, ed.rfind('.')) + "." + base64url_encode(std::string(63, 'a')), all(),
                 kAllAlgs, "EdDSA signature must be 64 bytes");
  const std::string rs = *jws_sign(json{{"kid", "rsa-1"}}, "{}", *rsa_);
  expect_refused(rs.substr(0, rs.rfind('.')) + "." + base64url_encode(std::string(255, 'a')), all(),
                 kAllAlgs, "RS256 signature must be 256 bytes");
}

TEST_F(CryptoJws, RejectsATamperedPayload) {
  const std::string good = *jws_sign(json::object(), R"({"sub":"alice"})", *ec_);
  const auto dot1 = good.find('.');
  const auto dot2 = good.rfind('.');
  const std::string tampered =
      good.substr(0, dot1 + 1) + base64url_encode(R"({"sub":"admin"})") + good.substr(dot2);
  expect_refused(tampered, all(), {}, "signature verification failed");
}

TEST_F(CryptoJws, SelectsTheKeyByKid) {
  Jwk other = generate(KeyType::kEcP256, "ec-2");
  const std::string token = *jws_sign(json{{"kid", "ec-2"}}, "{}", other);
  auto r = jws_verify(token, set_of({*ec_, other}), {});
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->key.kid(), "ec-2");
  // With a kid, only that key is tried: the right key under another kid does not help.
  const std::string misnamed = forge(R"({"alg":"ES256","kid":"ec-1"})", "{}", other);
  expect_refused(misnamed, set_of({*ec_, other}), {}, "signature verification failed");
  expect_refused(*jws_sign(json{{"kid", "nope"}}, "{}", *ec_), all(), {},
                 "no key with kid \"nope\"");
}

TEST_F(CryptoJws, WithoutKidTriesKeysOfTheMatchingType) {
  Jwk second = generate(KeyType::kEcP256, "ec-2");
  const std::string token = *jws_sign(json::object(), "{}", second);
  auto r = jws_verify(token, set_of({*ed_, *ec_, second}), kAllAlgs);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->key.kid(), "ec-2");
  expect_refused(token, set_of({*ed_, *rsa_}), kAllAlgs, "no key for algorithm ES256");
  expect_refused(token, set_of({*ec_}), kAllAlgs, "signature verification failed");
}

TEST_F(CryptoJws, ParseThenVerifyWithAnEmbeddedKey) {
  // The DPoP pattern: the caller takes the key from the header, deliberately.
  Jwk proof_key = generate(KeyType::kEd25519, "");
  json header = {{"typ", "dpop+jwt"}, {"jwk", proof_key.public_json()}};
  const std::string token = *jws_sign(header, "{}", proof_key);
  auto parsed = jws_parse(token, VerifyPolicy{{Alg::kES256, Alg::kEdDSA}});
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  Jwk embedded = Jwk::parse_public(parsed->header["jwk"]).value();
  EXPECT_TRUE(jws_verify_signature(*parsed, embedded).ok());
  EXPECT_EQ(error_of(jws_verify_signature(*parsed, *ec_)),
            "algorithm EdDSA does not fit an EC P-256 key");
}

}  // namespace
}  // namespace custody::crypto
