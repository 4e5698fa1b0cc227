// Whole collections over the fixture trees, the update cache through the collector, the optional
// discovery section, garbage that must not crash or hang anything, and the CLI.
#include "posture/collector.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <cstdio>
#include <fstream>

#include "posture/posture_json.h"
#include "test_support.h"

namespace custody::posture {
namespace {

using testing::fixture;
using testing::FixtureRunner;
using testing::read_fixture;
using testing::TempTree;

PostureOptions options_for(const std::string& root) {
  PostureOptions o;
  o.root = root;
  o.agent_version = "9.9.9-test";
  return o;
}

bool has_warning(const Posture& p, std::string_view part) {
  for (const auto& w : p.warnings) {
    if (w.find(part) != std::string::npos) return true;
  }
  return false;
}

TEST(Collector, DebianLaptop) {
  FixtureRunner runner;
  runner.set(testing::kAptUpgrade, read_fixture("apt-get-dist-upgrade-debian.txt"));
  runner.set(testing::kNft, read_fixture("nft-list-ruleset.json"));
  runner.set(testing::kGsettingsLock, "true\n");
  runner.set(testing::kGsettingsIdle, "uint32 300\n");
  FixedClock clock(1'700'000'000 * kMicrosPerSecond);
  PostureCollector c(options_for(fixture("debian-luks-nft")), &runner, &clock);
  Posture p = c.collect();
  EXPECT_EQ(p.collected_at, 1700000000);
  EXPECT_EQ(p.os.id, "debian");
  EXPECT_EQ(p.kernel.release, "6.1.0-18-amd64");
  EXPECT_TRUE(p.updates.known);
  EXPECT_EQ(p.updates.pending, 4);
  EXPECT_EQ(p.updates.pending_security, 1);
  EXPECT_TRUE(p.disk_encryption.root_encrypted);
  EXPECT_EQ(p.disk_encryption.method, "luks2");
  EXPECT_TRUE(p.firewall.active);
  EXPECT_EQ(p.firewall.backend, "nftables");
  EXPECT_EQ(p.firewall.rules, 3);
  EXPECT_TRUE(p.secure_boot.known);
  EXPECT_TRUE(p.secure_boot.enabled);
  EXPECT_TRUE(p.screen_lock.known);
  EXPECT_TRUE(p.screen_lock.enabled);
  EXPECT_EQ(p.mdm.vendor, "microsoft-intune");
  EXPECT_EQ(p.agent.version, "9.9.9-test");
  EXPECT_FALSE(p.ai_components.known);
  EXPECT_TRUE(p.warnings.empty()) << p.warnings[0];
  EXPECT_GE(p.collection_ms, 0);
}

TEST(Collector, UbuntuDesktop) {
  FixtureRunner runner;
  runner.set(testing::kIptables, read_fixture("iptables-save-ufw.txt"));
  PostureCollector c(options_for(fixture("ubuntu-plain-iptables")), &runner);
  Posture p = c.collect();
  EXPECT_EQ(p.os.version_id, "22.04");
  EXPECT_EQ(p.updates.pending, 7);
  EXPECT_EQ(p.updates.pending_security, 3);
  EXPECT_TRUE(p.disk_encryption.known);
  EXPECT_FALSE(p.disk_encryption.root_encrypted);
  EXPECT_EQ(p.firewall.backend, "iptables");
  EXPECT_TRUE(p.firewall.active);
  EXPECT_TRUE(p.secure_boot.known);
  EXPECT_FALSE(p.secure_boot.enabled);
  EXPECT_TRUE(p.screen_lock.known);
  EXPECT_FALSE(p.screen_lock.enabled);
  EXPECT_EQ(p.mdm.vendor, "canonical-landscape");
  EXPECT_EQ(runner.calls[testing::kAptUpgrade], 0);
}

TEST(Collector, ContainerIsMostlyUnknownWithReasons) {
  PostureCollector c(options_for(fixture("container-overlay")));  // no runner: no commands
  Posture p = c.collect();
  EXPECT_TRUE(p.os.known);
  EXPECT_EQ(p.os.id, "alpine");
  EXPECT_TRUE(p.kernel.known);
  EXPECT_FALSE(p.updates.known);
  EXPECT_FALSE(p.disk_encryption.known);
  EXPECT_FALSE(p.firewall.known);
  EXPECT_FALSE(p.secure_boot.known);
  EXPECT_FALSE(p.screen_lock.known);
  EXPECT_TRUE(p.mdm.known);
  EXPECT_FALSE(p.mdm.enrolled);
  EXPECT_TRUE(has_warning(p, "overlay"));
  EXPECT_TRUE(has_warning(p, "firewall: not inspected"));
  EXPECT_TRUE(has_warning(p, "legacy BIOS"));
  EXPECT_TRUE(has_warning(p, "headless"));
  EXPECT_TRUE(has_warning(p, "updates:"));
}

TEST(Collector, UpdateCheckIsCachedAcrossCollections) {
  FixtureRunner runner;
  runner.set(testing::kAptUpgrade, read_fixture("apt-get-dist-upgrade-debian.txt"));
  FixedClock clock(1'700'000'000 * kMicrosPerSecond);
  PostureCollector c(options_for(fixture("debian-luks-nft")), &runner, &clock);
  for (int i = 0; i < 5; ++i) {
    Posture p = c.collect();
    EXPECT_EQ(p.updates.pending, 4);
    clock.advance(60 * kMicrosPerSecond);
  }
  EXPECT_EQ(runner.calls[testing::kAptUpgrade], 1);
  EXPECT_EQ(runner.calls[testing::kNft], 5);  // the firewall is asked every time
  clock.advance(6 * 3600 * kMicrosPerSecond);
  (void)c.collect();
  EXPECT_EQ(runner.calls[testing::kAptUpgrade], 2);
}

TEST(Collector, BrokenTreeDoesNotCrash) {
  FixtureRunner runner;
  runner.set(testing::kAptUpgrade, "\xff\xfe garbage\nInst\nInst x (\n");
  runner.set(testing::kNft, std::string("\0\0\0", 3));
  runner.set(testing::kIptables, "\xff:\n:\n-A\n");
  runner.set(testing::kGsettingsLock, "\x01\x02");
  PostureCollector c(options_for(fixture("broken")), &runner);
  Posture p = c.collect();
  EXPECT_FALSE(p.disk_encryption.known);
  EXPECT_FALSE(p.secure_boot.known);
  EXPECT_FALSE(p.screen_lock.known);
  EXPECT_FALSE(p.warnings.empty());
  std::string text;
  ASSERT_NO_THROW(text = posture_to_json(p).dump());
  auto back = posture_from_json(nlohmann::json::parse(text));
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_FALSE(posture_to_text(p).empty());
}

TEST(Collector, FifosHugeFilesAndUnreadableBitsDoNotHangOrCrash) {
  TempTree t;
  t.copy_fixture("debian-luks-nft");
  std::filesystem::remove(t.path("/etc/os-release"));
  ASSERT_EQ(::mkfifo(t.path("/etc/os-release").c_str(), 0644), 0);  // would block a plain open
  std::filesystem::remove(t.path("/proc/self/mounts"));
  ASSERT_EQ(::mkfifo(t.path("/proc/self/mounts").c_str(), 0644), 0);
  t.write("/proc/mounts", std::string(8 * 1024 * 1024, 'A'));  // larger than the cap
  t.write("/usr/lib/os-release", std::string(3 * 1024 * 1024, '\n'));
  t.write("/proc/sys/kernel/osrelease", std::string(200 * 1024, '6'));
  ::chmod(t.path("/run/systemd/sessions").c_str(), 0);
  ::chmod(t.path("/sys/firmware/efi/efivars").c_str(), 0);
  FixtureRunner runner;
  runner.set(testing::kAptUpgrade, "");
  const auto start = std::chrono::steady_clock::now();
  PostureCollector c(options_for(t.root()), &runner);
  Posture p = c.collect();
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
  EXPECT_FALSE(p.os.known);
  EXPECT_FALSE(p.kernel.known);
  EXPECT_FALSE(p.disk_encryption.known);
  EXPECT_TRUE(has_warning(p, "not a regular file"));
  EXPECT_TRUE(has_warning(p, "larger than"));
  EXPECT_TRUE(p.updates.known);  // an empty simulation: nothing pending
  EXPECT_EQ(p.updates.pending, 0);
  EXPECT_NO_THROW((void)posture_to_json(p).dump());
}

TEST(Collector, DiscoveryFingerprintsWithoutSecrets) {
  const std::string root = std::string(DISCOVERY_FIXTURES_DIR) + "/root";
  PostureOptions o = options_for(root);
  o.include_discovery = true;
  PostureCollector c(o);
  Posture p = c.collect();
  ASSERT_TRUE(p.ai_components.known);
  EXPECT_GT(p.ai_components.count, 0);
  EXPECT_EQ(p.ai_components.fingerprints.size(), static_cast<std::size_t>(p.ai_components.count));
  for (const auto& f : p.ai_components.fingerprints) {
    EXPECT_EQ(f.size(), 64u) << f;
    EXPECT_EQ(f.find_first_not_of("0123456789abcdef"), std::string::npos) << f;
  }
  // No value planted in the discovery fixture shows up in the report.
  const std::string json = posture_to_json(p).dump();
  std::ifstream planted(std::string(DISCOVERY_FIXTURES_DIR) + "/planted-secrets.txt");
  std::string line;
  int checked = 0;
  while (std::getline(planted, line)) {
    if (line.empty() || line[0] == '#') continue;
    const std::string& value = line;
    EXPECT_EQ(json.find(value), std::string::npos) << "leaked: " << value;
    ++checked;
  }
  EXPECT_GT(checked, 10);
  EXPECT_EQ(json.find("\"command\""), std::string::npos);
}

std::string run_agent(const std::string& args, int* status) {
  std::string cmd = std::string(CUSTODY_AGENT_BIN) + " " + args + " 2>/dev/null";
  FILE* f = ::popen(cmd.c_str(), "r");
  std::string out;
  char buf[4096];
  std::size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) out.append(buf, n);
  int rc = ::pclose(f);
  *status = WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
  return out;
}

TEST(PostureCommand, JsonOnAFixtureRoot) {
  int status = 0;
  std::string out = run_agent("posture --root " + fixture("debian-luks-nft") + " --json", &status);
  EXPECT_EQ(status, 0);
  auto j = nlohmann::json::parse(out, nullptr, false);
  ASSERT_FALSE(j.is_discarded()) << out;
  auto p = posture_from_json(j);
  ASSERT_TRUE(p.ok()) << p.error().message;
  EXPECT_EQ(p->os.id, "debian");
  EXPECT_TRUE(p->disk_encryption.root_encrypted);
  EXPECT_FALSE(p->firewall.known);  // a fixture root: no commands run
  EXPECT_EQ(p->agent.version, CUSTODY_AGENT_VERSION);
}

TEST(PostureCommand, TextAndUsage) {
  int status = 0;
  std::string out = run_agent("posture --root " + fixture("container-overlay"), &status);
  EXPECT_EQ(status, 0);
  EXPECT_NE(out.find("os:              Alpine Linux v3.19"), std::string::npos) << out;
  EXPECT_NE(out.find("warning: "), std::string::npos);
  (void)run_agent("posture --no-such-flag", &status);
  EXPECT_EQ(status, 2);
}

}  // namespace
}  // namespace custody::posture
