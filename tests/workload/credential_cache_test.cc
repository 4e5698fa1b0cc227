// The credential cache: reuse until 80% of the lifetime, LRU bound, keys.
#include "workload/credential_cache.h"

#include <gtest/gtest.h>

namespace custody::workload {
namespace {

constexpr Micros kT0 = 1'800'000'000 * kMicrosPerSecond;

Credential expiring_in(Micros now, int seconds, std::string value = "tok") {
  Credential c;
  c.value = std::move(value);
  c.expires_at = std::chrono::system_clock::time_point(std::chrono::microseconds(now)) +
                 std::chrono::seconds(seconds);
  return c;
}

TEST(CredentialCache, ReusedUntilEightyPercentOfTheLifetime) {
  FixedClock clock(kT0);
  CredentialCache cache(clock, 8);
  cache.put("k", expiring_in(kT0, 100));
  clock.advance(79 * kMicrosPerSecond);
  ASSERT_TRUE(cache.get("k").has_value());
  EXPECT_EQ(cache.get("k")->value, "tok");
  clock.advance(1 * kMicrosPerSecond);
  EXPECT_FALSE(cache.get("k").has_value());
  EXPECT_EQ(cache.size(), 0u);
}

TEST(CredentialCache, ExpiredIsNotStored) {
  FixedClock clock(kT0);
  CredentialCache cache(clock, 8);
  cache.put("k", expiring_in(kT0, -1));
  EXPECT_FALSE(cache.get("k").has_value());
}

TEST(CredentialCache, BoundedLeastRecentlyUsedFirst) {
  FixedClock clock(kT0);
  CredentialCache cache(clock, 2);
  cache.put("a", expiring_in(kT0, 100, "A"));
  cache.put("b", expiring_in(kT0, 100, "B"));
  ASSERT_TRUE(cache.get("a").has_value());  // b is now the least recently used
  cache.put("c", expiring_in(kT0, 100, "C"));
  EXPECT_EQ(cache.size(), 2u);
  EXPECT_TRUE(cache.get("a").has_value());
  EXPECT_FALSE(cache.get("b").has_value());
  EXPECT_TRUE(cache.get("c").has_value());
}

TEST(CredentialCache, KeySeparatesIdentityExecutableUidAndParams) {
  WorkloadBinding b{"id", "client", {}};
  PeerInfo p;
  p.uid = 1000;
  p.exe_sha256 = std::string(64, 'a');
  const std::string base = cache_key("token", b, p, "{}");
  EXPECT_EQ(base, cache_key("token", b, p, "{}"));
  EXPECT_NE(base, cache_key("assertion", b, p, "{}"));
  EXPECT_NE(base, cache_key("token", b, p, "{\"scope\":\"x\"}"));
  PeerInfo other_uid = p;
  other_uid.uid = 1001;
  EXPECT_NE(base, cache_key("token", b, other_uid, "{}"));
  PeerInfo other_exe = p;
  other_exe.exe_sha256 = std::string(64, 'b');
  EXPECT_NE(base, cache_key("token", b, other_exe, "{}"));
  WorkloadBinding other_id{"id2", "client", {}};
  EXPECT_NE(base, cache_key("token", other_id, p, "{}"));
}

}  // namespace
}  // namespace custody::workload
