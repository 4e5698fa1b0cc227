// DPoP proof validation (RFC 9449 §4.3) and server nonces: each refusal with its reason.
#include <gtest/gtest.h>

#include "crypto/jws.h"
#include "crypto/jwt.h"
#include "oauth/dpop.h"

namespace custody::oauth {
namespace {

using nlohmann::json;

constexpr Micros kNow = 1'800'000'000LL * kMicrosPerSecond;

class DpopTest : public ::testing::Test {
 protected:
  DpopTest() : key_(*crypto::Jwk::generate(crypto::KeyType::kEcP256)) {
    settings_.issuer = "https://iam.example.com";
  }

  std::string proof(json claims, json header_extra = json::object(),
                    std::optional<crypto::Jwk> signer = std::nullopt) {
    json header = {{"typ", "dpop+jwt"}, {"jwk", key_.public_json()}};
    header.update(header_extra);
    return *crypto::jws_sign(header, claims.dump(), signer ? *signer : key_);
  }
  json claims() const {
    return {{"jti", "j-1"},
            {"htm", "POST"},
            {"htu", "https://iam.example.com/oauth2/token"},
            {"iat", kNow / kMicrosPerSecond}};
  }
  OAuthResult<std::optional<DpopProof>> check(std::string proof_text, Micros now = kNow) {
    OAuthRequest r;
    r.url = "https://iam.example.com/oauth2/token";
    r.dpop = {std::move(proof_text)};
    return check_dpop_proof(r, settings_, nonces_, now);
  }
  std::string refusal(std::string proof_text, Micros now = kNow) {
    auto r = check(std::move(proof_text), now);
    return r.ok() ? "accepted" : r.error().error + ": " + r.error().description;
  }

  crypto::Jwk key_;
  Settings settings_;
  DpopNonces nonces_{"0123456789abcdef0123456789abcdef"};
};

TEST_F(DpopTest, AValidProofYieldsTheKeyThumbprint) {
  auto r = check(proof(claims()));
  ASSERT_TRUE(r.ok()) << r.error().description;
  ASSERT_TRUE(r.value().has_value());
  EXPECT_EQ(r.value()->jkt, key_.thumbprint());
  EXPECT_EQ(r.value()->replay_value(), key_.thumbprint() + ":j-1");
}

TEST_F(DpopTest, NoHeaderIsNoProof) {
  OAuthRequest r;
  auto none = check_dpop_proof(r, settings_, nonces_, kNow);
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none.value().has_value());
}

TEST_F(DpopTest, RefusesEachBrokenRule) {
  json c = claims();
  EXPECT_NE(refusal(proof(c, {{"typ", "JWT"}})).find("typ must be dpop+jwt"), std::string::npos);
  c = claims();
  c["htm"] = "GET";
  EXPECT_NE(refusal(proof(c)).find("htm does not match"), std::string::npos);
  c = claims();
  c["htu"] = "https://evil.example.com/oauth2/token";
  EXPECT_NE(refusal(proof(c)).find("htu does not match"), std::string::npos);
  c = claims();
  c["iat"] = kNow / kMicrosPerSecond - 3600;
  EXPECT_NE(refusal(proof(c)).find("too old"), std::string::npos);
  c = claims();
  c["iat"] = kNow / kMicrosPerSecond + 3600;
  EXPECT_NE(refusal(proof(c)).find("in the future"), std::string::npos);
  c = claims();
  c.erase("jti");
  EXPECT_NE(refusal(proof(c)).find("jti is required"), std::string::npos);
  // Signed by another key than the one in the header.
  auto other = *crypto::Jwk::generate(crypto::KeyType::kEcP256);
  EXPECT_NE(refusal(proof(claims(), json::object(), other)).find("invalid_dpop_proof"),
            std::string::npos);
  // A private key in the header is refused outright.
  json priv = *key_.private_json();
  EXPECT_NE(refusal(proof(claims(), {{"jwk", priv}})).find("invalid_dpop_proof"),
            std::string::npos);
}

TEST_F(DpopTest, HtuComparesWithoutQueryFragmentCaseOrDefaultPort) {
  EXPECT_EQ(normalize_htu("HTTPS://IAM.example.com:443/oauth2/token?x=1#f"),
            "https://iam.example.com/oauth2/token");
  EXPECT_EQ(normalize_htu("http://h:80/p"), "http://h/p");
  EXPECT_EQ(normalize_htu("http://h:8080/p"), "http://h:8080/p");
  json c = claims();
  c["htu"] = "https://IAM.EXAMPLE.COM:443/oauth2/token?ignored";
  EXPECT_EQ(refusal(proof(c)), "accepted");
}

TEST_F(DpopTest, NoncesAreRequiredWhenOnAndExpireAfterTwoWindows) {
  settings_.dpop_nonce = true;
  auto missing = check(proof(claims()));
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().error, "use_dpop_nonce");
  EXPECT_TRUE(missing.error().dpop_nonce_needed);

  json c = claims();
  c["nonce"] = nonces_.current(kNow);
  EXPECT_EQ(refusal(proof(c)), "accepted");
  // Still good in the next 5-minute window, not after.
  c["iat"] = (kNow + 300 * kMicrosPerSecond) / kMicrosPerSecond;
  EXPECT_EQ(refusal(proof(c), kNow + 300 * kMicrosPerSecond), "accepted");
  c["iat"] = (kNow + 900 * kMicrosPerSecond) / kMicrosPerSecond;
  EXPECT_NE(refusal(proof(c), kNow + 900 * kMicrosPerSecond).find("use_dpop_nonce"),
            std::string::npos);
  // Another server secret's nonce is unknown here.
  DpopNonces other("another secret, another deployment");
  c = claims();
  c["nonce"] = other.current(kNow);
  EXPECT_NE(refusal(proof(c)).find("stale or unknown"), std::string::npos);
}

}  // namespace
}  // namespace custody::oauth
