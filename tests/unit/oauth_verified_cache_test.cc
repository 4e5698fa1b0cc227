#include <gtest/gtest.h>

#include "oauth/verified_cache.h"

namespace custody::oauth {
namespace {

constexpr Micros kNow = 1'800'000'000LL * kMicrosPerSecond;
constexpr Micros kSkew = 60 * kMicrosPerSecond;

class VerifiedCacheTest : public ::testing::Test {
 protected:
  VerifiedCacheTest()
      : key_(*crypto::Jwk::generate(crypto::KeyType::kEcP256, "kid-1")),
        published_(*crypto::JwkSet::of({key_})) {}
  PresentedToken token(Micros exp) {
    PresentedToken t;
    t.subject = "agt_a";
    t.expires_at = exp;
    return t;
  }
  crypto::Jwk key_;
  crypto::JwkSet published_;
};

TEST_F(VerifiedCacheTest, HitsOnlyTheSameBytesBeforeExpiryWithThePublishedKey) {
  VerifiedTokenCache cache;
  cache.insert("a.b.c", "kid-1", token(kNow + 100 * kMicrosPerSecond), kNow, kSkew);
  ASSERT_NE(cache.find("a.b.c", kNow, kSkew, published_), nullptr);
  EXPECT_EQ(cache.find("a.b.c", kNow, kSkew, published_)->subject, "agt_a");
  EXPECT_EQ(cache.find("a.b.d", kNow, kSkew, published_), nullptr) << "other bytes miss";
  EXPECT_EQ(cache.find("a.b.c", kNow + 160 * kMicrosPerSecond, kSkew, published_), nullptr)
      << "expired (exp + skew) misses";
  EXPECT_EQ(cache.find("a.b.c", kNow, kSkew, crypto::JwkSet()), nullptr)
      << "a key no longer published misses";
}

TEST_F(VerifiedCacheTest, StaysWithinCapacity) {
  VerifiedTokenCache cache(100);
  for (int i = 0; i < 1000; ++i)
    cache.insert("t" + std::to_string(i), "kid-1", token(kNow + 100 * kMicrosPerSecond), kNow,
                 kSkew);
  EXPECT_LE(cache.size(), 100u);
  EXPECT_NE(cache.find("t999", kNow, kSkew, published_), nullptr) << "the newest entry is kept";
}

}  // namespace
}  // namespace custody::oauth
