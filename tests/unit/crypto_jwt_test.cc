// JWT claims validation: exp/nbf/iat at exactly the skew, iss, aud, typ, and the policy's
// fail-closed defaults. Each refusal asserts its reason.
#include <gtest/gtest.h>

#include "common/clock.h"
#include "common/encoding.h"
#include "crypto/jwt.h"
#include "crypto_fixtures.h"

namespace custody::crypto {
namespace {

using nlohmann::json;
using testing::error_of;
using testing::forge;
using testing::generate;
using testing::set_of;

constexpr std::int64_t kNow = 1'800'000'000;  // 2027-01-15T08:00:00Z
constexpr Micros kSecond = kMicrosPerSecond;

class CryptoJwt : public ::testing::Test {
 protected:
  CryptoJwt() : key_(generate(KeyType::kEcP256, "as-1")), keys_(set_of({key_})) {
    policy_.issuer = "https://as.example";
    policy_.audience = "https://rs.example";
    policy_.types = {"at+jwt"};
  }

  json claims() const {
    return {{"iss", "https://as.example"},
            {"aud", "https://rs.example"},
            {"sub", "agent-7"},
            {"iat", kNow},
            {"nbf", kNow},
            {"exp", kNow + 300},
            {"jti", "t-1"}};
  }
  std::string sign(const json& c, std::string_view typ = "at+jwt") const {
    auto token = jwt_sign(c, key_, typ);
    EXPECT_TRUE(token.ok()) << token.error().message;
    return token.ok() ? *token : std::string();
  }
  Result<Jwt> verify(const std::string& token) const {
    return jwt_verify(token, keys_, policy_, clock_);
  }
  void expect_refused(const std::string& token, const std::string& message) const {
    auto r = verify(token);
    ASSERT_FALSE(r.ok()) << "accepted at " << clock_.now();
    EXPECT_EQ(r.error().code, Code::kUnauthenticated);
    EXPECT_EQ(r.error().message, message);
  }

  Jwk key_;
  JwkSet keys_;
  JwtPolicy policy_;
  FixedClock clock_{kNow * kSecond};
};

TEST_F(CryptoJwt, AcceptsAValidAccessToken) {
  const std::string token = sign(claims());
  auto r = verify(token);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->claims, claims());
  EXPECT_EQ(r->header, json({{"alg", "ES256"}, {"kid", "as-1"}, {"typ", "at+jwt"}}));
  EXPECT_EQ(r->key.kid(), "as-1");
  EXPECT_EQ(r->alg, Alg::kES256);
}

TEST_F(CryptoJwt, ExpiredAtExactlyTheSkew) {
  const std::string token = sign(claims());
  clock_.set((kNow + 300 + 60) * kSecond - 1);
  EXPECT_TRUE(verify(token).ok());
  clock_.set((kNow + 300 + 60) * kSecond);
  expect_refused(token, "token expired at 2027-01-15T08:05:00.000Z");
}

TEST_F(CryptoJwt, NotBeforeAtExactlyTheSkew) {
  json c = claims();
  c["nbf"] = kNow + 100;
  const std::string token = sign(c);
  clock_.set((kNow + 100 - 60) * kSecond);
  EXPECT_TRUE(verify(token).ok());
  clock_.set((kNow + 100 - 60) * kSecond - 1);
  expect_refused(token, "token is not valid before 2027-01-15T08:01:40.000Z");
}

TEST_F(CryptoJwt, IssuedInTheFutureBeyondTheSkew) {
  json c = claims();
  c.erase("nbf");
  c["iat"] = kNow + 100;
  const std::string token = sign(c);
  clock_.set((kNow + 100 - 60) * kSecond);
  EXPECT_TRUE(verify(token).ok());
  clock_.set((kNow + 100 - 60) * kSecond - 1);
  expect_refused(token, "token issued in the future (iat 2027-01-15T08:01:40.000Z)");
}

TEST_F(CryptoJwt, SkewIsConfigurable) {
  const std::string token = sign(claims());
  policy_.skew = 0;
  clock_.set((kNow + 300) * kSecond - 1);
  EXPECT_TRUE(verify(token).ok());
  clock_.set((kNow + 300) * kSecond);
  expect_refused(token, "token expired at 2027-01-15T08:05:00.000Z");
}

TEST_F(CryptoJwt, ExpIsRequiredUnlessConfigured) {
  json c = claims();
  c.erase("exp");
  const std::string token = sign(c);
  expect_refused(token, "token has no exp");
  policy_.require_exp = false;
  EXPECT_TRUE(verify(token).ok());
}

TEST_F(CryptoJwt, IatCanBeRequired) {
  json c = claims();
  c.erase("iat");
  const std::string token = sign(c);
  EXPECT_TRUE(verify(token).ok());
  policy_.require_iat = true;
  expect_refused(token, "token has no iat");
}

TEST_F(CryptoJwt, RejectsMalformedNumericDates) {
  for (const json& bad : {json("1800000300"), json(-1), json(true), json(1e300)}) {
    json c = claims();
    c["exp"] = bad;
    expect_refused(sign(c), "token exp is not a valid NumericDate");
  }
  // Fractional seconds are valid NumericDates.
  json c = claims();
  c["exp"] = kNow + 0.5;
  clock_.set(kNow * kSecond + kSecond / 2 + 60 * kSecond - 1);
  EXPECT_TRUE(verify(sign(c)).ok());
}

TEST_F(CryptoJwt, IssuerMismatch) {
  json c = claims();
  c["iss"] = "https://as.example/";
  expect_refused(sign(c), "issuer mismatch");
  c.erase("iss");
  expect_refused(sign(c), "token has no iss");
  c["iss"] = json::array({"https://as.example"});
  expect_refused(sign(c), "token iss must be a string");
}

TEST_F(CryptoJwt, AudienceMismatch) {
  json c = claims();
  c["aud"] = "https://other.example";
  expect_refused(sign(c), "audience mismatch");
  c["aud"] = json::array({"https://other.example", "https://third.example"});
  expect_refused(sign(c), "audience mismatch");
  c["aud"] = json::array();
  expect_refused(sign(c), "audience mismatch");
  c.erase("aud");
  expect_refused(sign(c), "token has no aud");
  c["aud"] = json::array({"https://rs.example", 7});
  expect_refused(sign(c), "token aud must be a string or an array of strings");
}

TEST_F(CryptoJwt, AudienceArrayContainingTheAudience) {
  json c = claims();
  c["aud"] = json::array({"https://other.example", "https://rs.example"});
  const std::string token = sign(c);
  EXPECT_TRUE(verify(token).ok());
  // custody's RFC 7523 rule for client assertions: a single string only.
  policy_.single_audience = true;
  expect_refused(token, "token aud must be a single string");
}

TEST_F(CryptoJwt, TypMatchesAsAMediaType) {
  EXPECT_TRUE(verify(sign(claims(), "at+jwt")).ok());
  EXPECT_TRUE(verify(sign(claims(), "application/at+jwt")).ok());
  EXPECT_TRUE(verify(sign(claims(), "AT+JWT")).ok());
  expect_refused(sign(claims(), "JWT"), "token typ \"JWT\" is not accepted (expected at+jwt)");
  expect_refused(sign(claims(), "application/jwt"),
                 "token typ \"application/jwt\" is not accepted (expected at+jwt)");
  expect_refused(sign(claims(), ""), "token has no typ (expected at+jwt)");
}

TEST_F(CryptoJwt, DpopTypAndOptionalTyp) {
  policy_.types = {"dpop+jwt"};
  EXPECT_TRUE(verify(sign(claims(), "dpop+jwt")).ok());
  expect_refused(sign(claims(), "at+jwt"),
                 "token typ \"at+jwt\" is not accepted (expected dpop+jwt)");
  // RFC 7523 assertions: typ absent, JWT, or client-authentication+jwt.
  policy_.types = {"JWT", "client-authentication+jwt"};
  policy_.allow_missing_type = true;
  EXPECT_TRUE(verify(sign(claims(), "")).ok());
  EXPECT_TRUE(verify(sign(claims(), "JWT")).ok());
  EXPECT_TRUE(verify(sign(claims(), "client-authentication+jwt")).ok());
  expect_refused(
      sign(claims(), "at+jwt"),
      "token typ \"at+jwt\" is not accepted (expected JWT or client-authentication+jwt)");
}

TEST_F(CryptoJwt, PolicyIsFailClosed) {
  const std::string token = sign(claims());
  JwtPolicy empty;
  auto r = jwt_verify(token, keys_, empty, clock_);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Code::kInternal);
  EXPECT_EQ(r.error().message, "JWT policy checks iss but names no issuer");
  empty.check_issuer = false;
  EXPECT_EQ(error_of(jwt_verify(token, keys_, empty, clock_)),
            "JWT policy checks aud but names no audience");
  empty.check_audience = false;
  EXPECT_EQ(error_of(jwt_verify(token, keys_, empty, clock_)),
            "JWT policy checks typ but accepts no type");
  empty.check_type = false;
  EXPECT_TRUE(jwt_verify(token, keys_, empty, clock_).ok());
}

TEST_F(CryptoJwt, RejectsDuplicateClaims) {
  // nlohmann keeps the last "aud"; a resource server in another language may read the first.
  const std::string payload =
      R"({"iss":"https://as.example","aud":"https://evil.example","aud":"https://rs.example",)"
      R"("exp":1800000300})";
  const std::string token = forge(R"({"alg":"ES256","kid":"as-1","typ":"at+jwt"})", payload, key_);
  expect_refused(token, "token claims has duplicate member \"aud\"");
}

TEST_F(CryptoJwt, RejectsClaimsThatAreNotAnObject) {
  const std::string header = R"({"alg":"ES256","kid":"as-1","typ":"at+jwt"})";
  expect_refused(forge(header, "[1]", key_), "token claims is not a JSON object");
  expect_refused(forge(header, "{\"exp\":", key_), "token claims is not valid JSON");
}

TEST_F(CryptoJwt, RejectsRegisteredStringClaimsOfTheWrongType) {
  json c = claims();
  c["sub"] = 42;
  expect_refused(sign(c), "token sub must be a string");
}

TEST_F(CryptoJwt, SignatureFailuresComeFirst) {
  Jwk stranger = generate(KeyType::kEcP256, "as-1");
  auto token = jwt_sign(claims(), stranger, "at+jwt");
  ASSERT_TRUE(token.ok());
  expect_refused(*token, "signature verification failed");
  const std::string none = base64url_encode(R"({"alg":"none","typ":"at+jwt"})") + "." +
                           base64url_encode(claims().dump()) + ".";
  expect_refused(none, "algorithm none is not allowed");
}

TEST_F(CryptoJwt, Rfc7515A3AsAJwt) {
  JwkSet keys = set_of({Jwk::parse_public(testing::rfc7515_a3_public()).value()});
  JwtPolicy policy;
  policy.issuer = "joe";
  policy.check_audience = false;
  policy.check_type = false;
  FixedClock before(1300819380LL * kSecond - 1);
  auto r = jwt_verify(testing::kRfc7515A3Token, keys, policy, before);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->claims["http://example.com/is_root"], true);
  FixedClock after((1300819380LL + 60) * kSecond);
  EXPECT_EQ(error_of(jwt_verify(testing::kRfc7515A3Token, keys, policy, after)),
            "token expired at 2011-03-22T18:43:00.000Z");
}

TEST_F(CryptoJwt, BuildingBlocksForEmbeddedKeys) {
  auto claims_json = jwt_parse_claims(R"({"htm":"POST","iat":1800000000})");
  ASSERT_TRUE(claims_json.ok());
  JwtPolicy dpop;
  dpop.check_issuer = false;
  dpop.check_audience = false;
  dpop.types = {"dpop+jwt"};
  dpop.require_exp = false;
  EXPECT_TRUE(jwt_check_claims(json{{"typ", "dpop+jwt"}}, *claims_json, dpop, kNow * kSecond).ok());
  EXPECT_EQ(error_of(jwt_check_claims(json{{"typ", "jwt"}}, *claims_json, dpop, kNow * kSecond)),
            "token typ \"jwt\" is not accepted (expected dpop+jwt)");
}

TEST_F(CryptoJwt, SignRefusesNonObjectClaims) {
  EXPECT_EQ(error_of(jwt_sign(json::array(), key_)), "JWT claims must be a JSON object");
  EXPECT_EQ(error_of(jwt_sign(json{{"sub", "\xff"}}, key_)), "JWT claims are not valid UTF-8");
}

TEST_F(CryptoJwt, SignSerializedGivesWhatSignGives) {
  // Same header and payload bytes as jwt_sign of the parsed claims; only the ES256 signature
  // (randomised) differs, and the token verifies.
  const std::string payload = claims().dump();
  auto token = jwt_sign_serialized(payload, key_, "at+jwt");
  ASSERT_TRUE(token.ok()) << token.error().message;
  const std::string reference = sign(claims());
  auto signing_input = [](const std::string& t) { return t.substr(0, t.rfind('.')); };
  EXPECT_EQ(signing_input(*token), signing_input(reference));
  auto verified = verify(*token);
  ASSERT_TRUE(verified.ok()) << verified.error().message;
  EXPECT_EQ(verified->claims, claims());
  EXPECT_EQ(verified->header, (json{{"alg", "ES256"}, {"kid", "as-1"}, {"typ", "at+jwt"}}));
}

TEST_F(CryptoJwt, SignSerializedRefusesWhatIsNotAnObject) {
  EXPECT_EQ(error_of(jwt_sign_serialized("[1]", key_)), "JWT claims must be a JSON object");
  EXPECT_EQ(error_of(jwt_sign_serialized("", key_)), "JWT claims must be a JSON object");
  EXPECT_EQ(error_of(jwt_sign_serialized("{", key_)), "JWT claims must be a JSON object");
}

}  // namespace
}  // namespace custody::crypto
