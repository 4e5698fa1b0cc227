// os-release(5) parsing and the os and kernel sections over the fixture trees.
#include "posture/os_info.h"

#include <gtest/gtest.h>

#include "test_support.h"

namespace custody::posture {
namespace {

using testing::fixture;

TEST(OsRelease, ParsesQuotingAndEscapesAsTheShellWould) {
  auto kv = parse_os_release(
      "# comment\n"
      "\n"
      "NAME=\"Fancy \\\"Linux\\\"\"\n"
      "ID=fancy\n"
      "VERSION='1.0 (it''s)'\n"
      "PRETTY_NAME=\"Dollar \\$HOME back\\\\slash tick \\`x\\`\"\n"
      "VARIANT=\"keep \\n as is\"\n"
      "  VERSION_ID = 7\n"
      "not an assignment\n"
      "1BAD=x\n"
      "BAD-NAME=x\n"
      "ID=later\n");
  EXPECT_EQ(kv["NAME"], "Fancy \"Linux\"");
  EXPECT_EQ(kv["ID"], "later");
  EXPECT_EQ(kv["VERSION"], "1.0 (its)");
  EXPECT_EQ(kv["PRETTY_NAME"], "Dollar $HOME back\\slash tick `x`");
  EXPECT_EQ(kv["VARIANT"], "keep \\n as is");
  EXPECT_EQ(kv.count("1BAD"), 0u);
  EXPECT_EQ(kv.count("BAD-NAME"), 0u);
  EXPECT_EQ(kv.count("VERSION_ID "), 0u);  // blanks around '=' are not an assignment
}

TEST(OsRelease, UnterminatedQuoteKeepsTheRestOfTheLine) {
  auto kv = parse_os_release("ID=\"debian\nNAME=x\n");
  EXPECT_EQ(kv["ID"], "debian");
  EXPECT_EQ(kv["NAME"], "x");
}

TEST(OsInfo, DebianFixture) {
  std::vector<std::string> w;
  OsInfo os = collect_os(RootFiles(fixture("debian-luks-nft")), &w);
  EXPECT_TRUE(os.known);
  EXPECT_EQ(os.id, "debian");
  EXPECT_EQ(os.version_id, "12");
  EXPECT_EQ(os.version, "12 (bookworm)");
  EXPECT_EQ(os.name, "Debian GNU/Linux");
  EXPECT_EQ(os.pretty_name, "Debian GNU/Linux 12 (bookworm)");
  EXPECT_TRUE(w.empty());
}

TEST(OsInfo, FollowsTheRelativeSymlinkToUsrLib) {
  std::vector<std::string> w;
  OsInfo os = collect_os(RootFiles(fixture("ubuntu-plain-iptables")), &w);
  EXPECT_TRUE(os.known);
  EXPECT_EQ(os.id, "ubuntu");
  EXPECT_EQ(os.version_id, "22.04");
  EXPECT_EQ(os.pretty_name, "Ubuntu 22.04.4 LTS");
}

TEST(OsInfo, FallsBackToUsrLibOsRelease) {
  std::vector<std::string> w;
  OsInfo os = collect_os(RootFiles(fixture("container-overlay")), &w);
  EXPECT_TRUE(os.known);
  EXPECT_EQ(os.id, "alpine");
  EXPECT_EQ(os.version_id, "3.19.1");
  EXPECT_EQ(os.version, "");  // Alpine sets no VERSION
}

TEST(OsInfo, MissingIsUnknownWithAWarning) {
  testing::TempTree t;
  std::vector<std::string> w;
  OsInfo os = collect_os(RootFiles(t.root()), &w);
  EXPECT_FALSE(os.known);
  EXPECT_EQ(os.id, "");
  ASSERT_EQ(w.size(), 1u);
  EXPECT_NE(w[0].find("os-release"), std::string::npos);
}

TEST(OsInfo, DefaultsOfOsRelease5) {
  testing::TempTree t;
  t.write("/etc/os-release", "VERSION_ID=1\n");
  std::vector<std::string> w;
  OsInfo os = collect_os(RootFiles(t.root()), &w);
  EXPECT_TRUE(os.known);
  EXPECT_EQ(os.id, "linux");
  EXPECT_EQ(os.name, "Linux");
  EXPECT_EQ(os.pretty_name, "Linux");
}

TEST(Kernel, ReadsReleaseAndVersion) {
  std::vector<std::string> w;
  KernelInfo k = collect_kernel(RootFiles(fixture("debian-luks-nft")), &w);
  EXPECT_TRUE(k.known);
  EXPECT_EQ(k.release, "6.1.0-18-amd64");
  EXPECT_EQ(k.version, "#1 SMP PREEMPT_DYNAMIC Debian 6.1.76-1 (2024-02-01)");
}

TEST(Kernel, MissingIsUnknown) {
  testing::TempTree t;
  std::vector<std::string> w;
  KernelInfo k = collect_kernel(RootFiles(t.root()), &w);
  EXPECT_FALSE(k.known);
  EXPECT_EQ(w.size(), 1u);
}

}  // namespace
}  // namespace custody::posture
