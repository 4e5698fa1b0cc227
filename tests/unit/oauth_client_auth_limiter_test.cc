// The client authentication limiter (oauth/client_auth_limiter.h): a key is locked out from its
// max_failures-th failure until its window ends, keys are independent, 0 disables it, and the
// table stays within max_keys (ended windows go first, then the earliest tenth).
#include <gtest/gtest.h>

#include "oauth/client_auth_limiter.h"

namespace custody::oauth {
namespace {

constexpr Micros kT0 = 1'800'000'000LL * kMicrosPerSecond;
constexpr Micros kWindow = 60 * kMicrosPerSecond;

ClientAuthLimiter limiter(std::int64_t max_failures, std::size_t max_keys = 1000) {
  return ClientAuthLimiter({max_failures, kWindow, max_keys});
}

TEST(ClientAuthLimiter, LocksOutFromTheLastAllowedFailureUntilTheWindowEnds) {
  auto l = limiter(3);
  l.failed("10.0.0.1 agt_a", kT0);
  l.failed("10.0.0.1 agt_a", kT0 + 1);
  EXPECT_FALSE(l.locked("10.0.0.1 agt_a", kT0 + 2));
  l.failed("10.0.0.1 agt_a", kT0 + 3);
  auto wait = l.locked("10.0.0.1 agt_a", kT0 + 10 * kMicrosPerSecond);
  ASSERT_TRUE(wait);
  EXPECT_EQ(*wait, kWindow - 10 * kMicrosPerSecond) << "until the window that began at kT0 ends";
  EXPECT_FALSE(l.locked("10.0.0.2 agt_a", kT0 + 4)) << "another address";
  EXPECT_FALSE(l.locked("10.0.0.1 agt_b", kT0 + 4)) << "another client";
  EXPECT_FALSE(l.locked("10.0.0.1 agt_a", kT0 + kWindow)) << "the window ended";
  // A failure after the window starts a new count.
  l.failed("10.0.0.1 agt_a", kT0 + kWindow);
  EXPECT_FALSE(l.locked("10.0.0.1 agt_a", kT0 + kWindow + 1));
}

TEST(ClientAuthLimiter, KeysUseThePeersAddressWithoutItsPort) {
  EXPECT_EQ(address_without_port("127.0.0.1:54321"), "127.0.0.1");
  EXPECT_EQ(address_without_port("::1:54321"), "::1");
  EXPECT_EQ(address_without_port("2001:db8::7:443"), "2001:db8::7");
  EXPECT_EQ(address_without_port("in-process"), "in-process");
}

TEST(ClientAuthLimiter, ZeroMeansNoLimit) {
  auto l = limiter(0);
  for (int i = 0; i < 1000; ++i) l.failed("10.0.0.1 agt_a", kT0 + i);
  EXPECT_FALSE(l.locked("10.0.0.1 agt_a", kT0 + 1000));
  EXPECT_EQ(l.tracked(), 0u);
}

TEST(ClientAuthLimiter, StaysWithinMaxKeysDroppingEndedThenEarliestWindows) {
  auto l = limiter(2, 100);
  // Keys that fill the table.
  for (int i = 0; i < 100; ++i) l.failed("old " + std::to_string(i), kT0);
  EXPECT_EQ(l.tracked(), 100u);
  // After the window every old key has ended: a new one makes room by dropping them all.
  Micros later = kT0 + kWindow + 1;
  l.failed("attacker", later);
  l.failed("attacker", later);
  EXPECT_EQ(l.tracked(), 1u);
  // Filled again with live windows: the earliest tenth goes, here the attacker's (it began
  // first, so it was the nearest to its end anyway).
  for (int i = 0; i < 99; ++i) l.failed("spray " + std::to_string(i), later + 1 + i);
  EXPECT_EQ(l.tracked(), 100u);
  l.failed("one more", later + 200);
  EXPECT_LE(l.tracked(), 100u);
  EXPECT_GE(l.tracked(), 90u);
  EXPECT_FALSE(l.locked("attacker", later + 300)) << "the earliest window went first";
  EXPECT_FALSE(l.locked("spray 50", later + 300)) << "one failure is no lockout";
}

}  // namespace
}  // namespace custody::oauth
