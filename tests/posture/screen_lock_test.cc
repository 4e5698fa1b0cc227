// Screen lock: logind sessions, GNOME through gsettings, KDE through kscreenlockerrc.
#include "posture/screen_lock.h"

#include <gtest/gtest.h>

#include "test_support.h"

namespace custody::posture {
namespace {

using testing::fixture;
using testing::FixtureRunner;
using testing::kGsettingsIdle;
using testing::kGsettingsLock;
using testing::TempTree;

constexpr std::chrono::seconds kTimeout{5};

TEST(ScreenLock, PicksTheActiveUserSessionNotTheGreeter) {
  auto s = find_graphical_session(RootFiles(fixture("debian-luks-nft")));
  ASSERT_TRUE(s);
  EXPECT_EQ(s->user, "alice");
  EXPECT_EQ(s->uid, "1000");
  EXPECT_EQ(s->desktop, "GNOME");
  EXPECT_EQ(s->home, "/home/alice");
  EXPECT_EQ(s->uid_number, 1000);
  EXPECT_EQ(s->gid_number, 1000);
}

TEST(ScreenLock, ANonNumericUidIsNotSwitchedTo) {
  auto s = find_graphical_session(RootFiles(fixture("broken")));
  ASSERT_TRUE(s);
  EXPECT_EQ(s->uid_number, -1);
  EXPECT_EQ(s->gid_number, -1);
  FixtureRunner runner;
  runner.set(kGsettingsLock, "true\n");
  std::vector<std::string> w;
  auto l = collect_screen_lock(RootFiles(fixture("broken")), &runner, kTimeout, &w);
  EXPECT_TRUE(l.known);
  EXPECT_EQ(runner.last_options[kGsettingsLock].run_as_uid, -1);
  EXPECT_EQ(runner.last_env[kGsettingsLock].count("XDG_RUNTIME_DIR"), 0u);
}

TEST(ScreenLock, GnomeThroughGsettingsAsTheSessionUser) {
  FixtureRunner runner;
  runner.set(kGsettingsLock, "true\n");
  runner.set(kGsettingsIdle, "uint32 300\n");
  std::vector<std::string> w;
  auto l = collect_screen_lock(RootFiles(fixture("debian-luks-nft")), &runner, kTimeout, &w);
  EXPECT_TRUE(l.known);
  EXPECT_TRUE(l.enabled);
  auto env = runner.last_env[kGsettingsLock];
  EXPECT_EQ(env["HOME"], "/home/alice");
  EXPECT_EQ(env["XDG_CONFIG_HOME"], "/home/alice/.config");
  EXPECT_EQ(env["GSETTINGS_BACKEND"], "dconf");
  EXPECT_EQ(env["XDG_RUNTIME_DIR"], "/run/user/1000");
  EXPECT_EQ(runner.last_options[kGsettingsLock].run_as_uid, 1000);
  EXPECT_EQ(runner.last_options[kGsettingsLock].run_as_gid, 1000);
  EXPECT_TRUE(w.empty());
}

TEST(ScreenLock, GnomeLockOffOrNeverIdleIsDisabled) {
  FixtureRunner off;
  off.set(kGsettingsLock, "false\n");
  off.set(kGsettingsIdle, "uint32 300\n");
  std::vector<std::string> w;
  auto l = collect_screen_lock(RootFiles(fixture("debian-luks-nft")), &off, kTimeout, &w);
  EXPECT_TRUE(l.known);
  EXPECT_FALSE(l.enabled);

  FixtureRunner never;
  never.set(kGsettingsLock, "true\n");
  never.set(kGsettingsIdle, "uint32 0\n");
  l = collect_screen_lock(RootFiles(fixture("debian-luks-nft")), &never, kTimeout, &w);
  EXPECT_TRUE(l.known);
  EXPECT_FALSE(l.enabled);
}

TEST(ScreenLock, GnomeWithoutGsettingsOrWithGarbageIsUnknown) {
  FixtureRunner missing;
  std::vector<std::string> w;
  auto l = collect_screen_lock(RootFiles(fixture("debian-luks-nft")), &missing, kTimeout, &w);
  EXPECT_FALSE(l.known);
  FixtureRunner garbage;
  garbage.set(kGsettingsLock, "No such schema \xff\n");
  l = collect_screen_lock(RootFiles(fixture("debian-luks-nft")), &garbage, kTimeout, &w);
  EXPECT_FALSE(l.known);
  l = collect_screen_lock(RootFiles(fixture("debian-luks-nft")), nullptr, kTimeout, &w);
  EXPECT_FALSE(l.known);
  EXPECT_EQ(w.size(), 3u);
}

TEST(ScreenLock, KdeReadsKscreenlockerrc) {
  std::vector<std::string> w;
  auto l = collect_screen_lock(RootFiles(fixture("ubuntu-plain-iptables")), nullptr, kTimeout, &w);
  EXPECT_TRUE(l.known);
  EXPECT_FALSE(l.enabled);  // Autolock=false

  TempTree t;
  t.write("/run/systemd/sessions/5", "TYPE=x11\nUSER=carol\nUID=1002\nDESKTOP=KDE\nACTIVE=1\n");
  t.write("/etc/passwd", "carol:x:1002:1002::/home/carol:/bin/bash\n");
  l = collect_screen_lock(RootFiles(t.root()), nullptr, kTimeout, &w);
  EXPECT_TRUE(l.known);
  EXPECT_TRUE(l.enabled);  // no kscreenlockerrc: the default locks
}

TEST(ScreenLock, HeadlessIsUnknown) {
  std::vector<std::string> w;
  FixtureRunner runner;
  auto l = collect_screen_lock(RootFiles(fixture("container-overlay")), &runner, kTimeout, &w);
  EXPECT_FALSE(l.known);
  ASSERT_EQ(w.size(), 1u);
  EXPECT_NE(w[0].find("headless"), std::string::npos);

  TempTree tty;
  tty.write("/run/systemd/sessions/1", "TYPE=tty\nUSER=root\nACTIVE=1\n");
  EXPECT_FALSE(collect_screen_lock(RootFiles(tty.root()), &runner, kTimeout, &w).known);
  EXPECT_TRUE(runner.calls.empty());
}

TEST(EnvFile, ParsesKeyValueLines) {
  auto kv = parse_env_file("# c\nA=1\n[Sec]\nB= two \n=x\nnoeq\n");
  EXPECT_EQ(kv["A"], "1");
  EXPECT_EQ(kv["B"], "two");
  EXPECT_EQ(kv.size(), 2u);
}

}  // namespace
}  // namespace custody::posture
