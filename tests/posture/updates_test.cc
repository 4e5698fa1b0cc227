// Pending updates: update-notifier's file, apt-get's simulation, dnf, and the cache.
#include "posture/updates.h"

#include <gtest/gtest.h>

#include "posture/os_info.h"
#include "test_support.h"

namespace custody::posture {
namespace {

using testing::fixture;
using testing::FixtureRunner;
using testing::kAptUpgrade;
using testing::read_fixture;

OsInfo os_of(const RootFiles& root) {
  std::vector<std::string> w;
  return collect_os(root, &w);
}

TEST(UpdateNotifier, CurrentAndOlderWordings) {
  auto now = parse_update_notifier(
      "\n7 updates can be applied immediately.\n3 of these updates are standard security "
      "updates.\nTo see these additional updates run: apt list --upgradable\n");
  ASSERT_TRUE(now);
  EXPECT_EQ(now->pending, 7);
  EXPECT_EQ(now->security, 3);
  auto old =
      parse_update_notifier("12 packages can be updated.\n5 updates are security updates.\n");
  ASSERT_TRUE(old);
  EXPECT_EQ(old->pending, 12);
  EXPECT_EQ(old->security, 5);
  auto none = parse_update_notifier("0 updates can be applied immediately.\n");
  ASSERT_TRUE(none);
  EXPECT_EQ(none->pending, 0);
  EXPECT_EQ(none->security, 0);
  auto empty = parse_update_notifier("\n\n");
  ASSERT_TRUE(empty);
  EXPECT_EQ(empty->pending, 0);
  EXPECT_FALSE(parse_update_notifier("something else entirely\n"));
}

TEST(AptSimulation, CountsInstLinesAndSecuritySuites) {
  auto c = parse_apt_simulation(read_fixture("apt-get-dist-upgrade-debian.txt"));
  EXPECT_EQ(c.pending, 4);
  EXPECT_EQ(c.security, 1);
  auto ubuntu = parse_apt_simulation(
      "Inst libc6 [2.35-0ubuntu3.5] (2.35-0ubuntu3.6 Ubuntu:22.04/jammy-updates, "
      "Ubuntu:22.04/jammy-security [amd64])\n"
      "Inst vim [1] (2 Ubuntu:22.04/jammy-updates [amd64]) []\n"
      "Conf libc6 (2.35-0ubuntu3.6 Ubuntu:22.04/jammy-security [amd64])\n");
  EXPECT_EQ(ubuntu.pending, 2);
  EXPECT_EQ(ubuntu.security, 1);
  EXPECT_EQ(parse_apt_simulation("").pending, 0);
}

TEST(DnfCheckUpdate, CountsPackageLines) {
  EXPECT_EQ(count_dnf_check_update("\n"
                                   "kernel.x86_64        6.7.9-200.fc39     updates\n"
                                   "openssl-libs.x86_64  1:3.1.1-4.fc39     updates\n"
                                   "Obsoleting Packages\n"
                                   "grub2-tools.x86_64   1:2.06-1.fc39      updates\n"),
            2);
}

TEST(UpdateCheck, PrefersUpdateNotifierWithoutRunningApt) {
  FixtureRunner runner;
  FixedClock clock(1'700'000'000 * kMicrosPerSecond);
  UpdateCheck check(&runner, &clock, std::chrono::hours(6), std::chrono::seconds(5));
  RootFiles root(fixture("ubuntu-plain-iptables"));
  std::vector<std::string> w;
  UpdatesInfo u = check.collect(root, os_of(root), &w);
  EXPECT_TRUE(u.known);
  EXPECT_EQ(u.manager, "apt");
  EXPECT_EQ(u.pending, 7);
  EXPECT_EQ(u.pending_security, 3);
  EXPECT_EQ(runner.calls[kAptUpgrade], 0);
}

TEST(UpdateCheck, SimulatesAnUpgradeAndCachesItForMaxAge) {
  FixtureRunner runner;
  runner.set(kAptUpgrade, read_fixture("apt-get-dist-upgrade-debian.txt"));
  FixedClock clock(1'700'000'000 * kMicrosPerSecond);
  UpdateCheck check(&runner, &clock, std::chrono::hours(6), std::chrono::seconds(5));
  RootFiles root(fixture("debian-luks-nft"));
  OsInfo os = os_of(root);
  std::vector<std::string> w;
  UpdatesInfo u = check.collect(root, os, &w);
  EXPECT_TRUE(u.known);
  EXPECT_EQ(u.manager, "apt");
  EXPECT_EQ(u.pending, 4);
  EXPECT_EQ(u.pending_security, 1);
  EXPECT_EQ(runner.calls[kAptUpgrade], 1);

  clock.advance(5 * 3600 * kMicrosPerSecond);  // 5 h later: cached
  u = check.collect(root, os, &w);
  EXPECT_EQ(u.pending, 4);
  EXPECT_EQ(runner.calls[kAptUpgrade], 1);

  runner.set(kAptUpgrade, "Inst a [1] (2 Debian:12/stable [amd64])\n");
  clock.advance(3600 * kMicrosPerSecond);  // 6 h after the first check: asked again
  u = check.collect(root, os, &w);
  EXPECT_EQ(u.pending, 1);
  EXPECT_EQ(u.pending_security, 0);
  EXPECT_EQ(runner.calls[kAptUpgrade], 2);
  EXPECT_TRUE(w.empty());
}

TEST(UpdateCheck, ZeroMaxAgeAsksEveryTimeAndAClockGoingBackRefreshes) {
  FixtureRunner runner;
  runner.set(kAptUpgrade, read_fixture("apt-get-dist-upgrade-debian.txt"));
  FixedClock clock(1'700'000'000 * kMicrosPerSecond);
  RootFiles root(fixture("debian-luks-nft"));
  std::vector<std::string> w;
  UpdateCheck every(&runner, &clock, std::chrono::seconds(0), std::chrono::seconds(5));
  (void)every.collect(root, os_of(root), &w);
  (void)every.collect(root, os_of(root), &w);
  EXPECT_EQ(runner.calls[kAptUpgrade], 2);

  UpdateCheck cached(&runner, &clock, std::chrono::hours(6), std::chrono::seconds(5));
  (void)cached.collect(root, os_of(root), &w);
  clock.advance(-10 * kMicrosPerSecond);
  (void)cached.collect(root, os_of(root), &w);
  EXPECT_EQ(runner.calls[kAptUpgrade], 4);
}

TEST(UpdateCheck, FailuresAreCachedAsUnknownWithTheirWarning) {
  FixtureRunner runner;
  runner.fail(kAptUpgrade, Error::unavailable("apt-get: timed out after 5000 ms"));
  FixedClock clock(0);
  UpdateCheck check(&runner, &clock, std::chrono::hours(6), std::chrono::seconds(5));
  RootFiles root(fixture("debian-luks-nft"));
  std::vector<std::string> w1, w2;
  UpdatesInfo u = check.collect(root, os_of(root), &w1);
  EXPECT_FALSE(u.known);
  EXPECT_EQ(u.manager, "apt");
  ASSERT_EQ(w1.size(), 1u);
  EXPECT_NE(w1[0].find("timed out"), std::string::npos);
  u = check.collect(root, os_of(root), &w2);
  EXPECT_EQ(w2, w1);
  EXPECT_EQ(runner.calls[kAptUpgrade], 1);
}

TEST(UpdateCheck, NonZeroExitIsUnknown) {
  FixtureRunner runner;
  runner.set(kAptUpgrade, "E: broken\n", 100);
  FixedClock clock(0);
  UpdateCheck check(&runner, &clock, std::chrono::hours(6), std::chrono::seconds(5));
  RootFiles root(fixture("debian-luks-nft"));
  std::vector<std::string> w;
  EXPECT_FALSE(check.collect(root, os_of(root), &w).known);
  EXPECT_EQ(w.size(), 1u);
}

TEST(UpdateCheck, WithoutRunnerOnlyFilesAreRead) {
  FixedClock clock(0);
  UpdateCheck check(nullptr, &clock, std::chrono::hours(6), std::chrono::seconds(5));
  RootFiles root(fixture("debian-luks-nft"));
  std::vector<std::string> w;
  UpdatesInfo u = check.collect(root, os_of(root), &w);
  EXPECT_FALSE(u.known);
  EXPECT_EQ(u.manager, "apt");
  ASSERT_EQ(w.size(), 1u);
  EXPECT_NE(w[0].find("not run"), std::string::npos);
}

TEST(UpdateCheck, NoPackageManagerIsUnknown) {
  FixtureRunner runner;
  FixedClock clock(0);
  UpdateCheck check(&runner, &clock, std::chrono::hours(6), std::chrono::seconds(5));
  RootFiles root(fixture("container-overlay"));
  std::vector<std::string> w;
  UpdatesInfo u = check.collect(root, os_of(root), &w);
  EXPECT_FALSE(u.known);
  EXPECT_EQ(u.manager, "");
  EXPECT_TRUE(runner.calls.empty());
}

TEST(UpdateCheck, Dnf) {
  testing::TempTree t;
  t.write("/etc/os-release", "ID=fedora\nVERSION_ID=39\n");
  t.write("/usr/bin/dnf", "");
  FixtureRunner runner;
  runner.set("dnf -q -C check-update",
             "\nkernel.x86_64  6.7.9-200.fc39  updates\nvim.x86_64  2:9.1-1.fc39  updates\n", 100);
  runner.set("dnf -q -C updateinfo list --security",
             "FEDORA-2024-1 Important/Sec. kernel-6.7.9-200.fc39.x86_64\n");
  FixedClock clock(0);
  UpdateCheck check(&runner, &clock, std::chrono::hours(6), std::chrono::seconds(5));
  RootFiles root(t.root());
  std::vector<std::string> w;
  UpdatesInfo u = check.collect(root, os_of(root), &w);
  EXPECT_TRUE(u.known);
  EXPECT_EQ(u.manager, "dnf");
  EXPECT_EQ(u.pending, 2);
  EXPECT_EQ(u.pending_security, 1);
}

}  // namespace
}  // namespace custody::posture
