// The firewall section from nft's JSON ruleset and iptables-save, through the fixture runner.
#include "posture/firewall.h"

#include <gtest/gtest.h>

#include "test_support.h"

namespace custody::posture {
namespace {

using testing::FixtureRunner;
using testing::kIptables;
using testing::kNft;
using testing::read_fixture;

constexpr std::chrono::seconds kTimeout{5};

TEST(NftJson, CountsRulesAndDropPolicies) {
  auto c = parse_nft_json(read_fixture("nft-list-ruleset.json"));
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->rules, 3);
  EXPECT_TRUE(c->blocking_policy);
  auto empty = parse_nft_json(read_fixture("nft-empty-ruleset.json"));
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(empty->rules, 0);
  EXPECT_FALSE(empty->blocking_policy);
  EXPECT_FALSE(parse_nft_json("not json").ok());
  EXPECT_FALSE(parse_nft_json("{\"nftables\": 3}").ok());
  EXPECT_FALSE(parse_nft_json("[]").ok());
}

TEST(IptablesSave, CountsAppendsAndPolicies) {
  auto c = parse_iptables_save(read_fixture("iptables-save-ufw.txt"));
  EXPECT_EQ(c.rules, 5);
  EXPECT_TRUE(c.blocking_policy);
  auto e = parse_iptables_save(read_fixture("iptables-save-empty.txt"));
  EXPECT_EQ(e.rules, 0);
  EXPECT_FALSE(e.blocking_policy);
}

TEST(Firewall, NftablesActiveSkipsIptables) {
  FixtureRunner runner;
  runner.set(kNft, read_fixture("nft-list-ruleset.json"));
  std::vector<std::string> w;
  auto f = collect_firewall(&runner, kTimeout, &w);
  EXPECT_TRUE(f.known);
  EXPECT_TRUE(f.active);
  EXPECT_EQ(f.backend, "nftables");
  EXPECT_EQ(f.rules, 3);
  EXPECT_EQ(runner.calls[kIptables], 0);
  EXPECT_TRUE(w.empty());
}

TEST(Firewall, IptablesWhenNftIsMissing) {
  FixtureRunner runner;
  runner.set(kIptables, read_fixture("iptables-save-ufw.txt"));
  std::vector<std::string> w;
  auto f = collect_firewall(&runner, kTimeout, &w);
  EXPECT_TRUE(f.known);
  EXPECT_TRUE(f.active);
  EXPECT_EQ(f.backend, "iptables");
  EXPECT_EQ(f.rules, 5);
}

TEST(Firewall, EmptyNftablesThenLegacyIptablesRules) {
  FixtureRunner runner;
  runner.set(kNft, read_fixture("nft-empty-ruleset.json"));
  runner.set(kIptables, read_fixture("iptables-save-ufw.txt"));
  std::vector<std::string> w;
  auto f = collect_firewall(&runner, kTimeout, &w);
  EXPECT_TRUE(f.active);
  EXPECT_EQ(f.backend, "iptables");
}

TEST(Firewall, BothEmptyIsKnownInactive) {
  FixtureRunner runner;
  runner.set(kNft, read_fixture("nft-empty-ruleset.json"));
  runner.set(kIptables, read_fixture("iptables-save-empty.txt"));
  std::vector<std::string> w;
  auto f = collect_firewall(&runner, kTimeout, &w);
  EXPECT_TRUE(f.known);
  EXPECT_FALSE(f.active);
  EXPECT_EQ(f.backend, "nftables");
  EXPECT_EQ(f.rules, 0);
  EXPECT_TRUE(w.empty());
}

TEST(Firewall, NoPermissionOrNoToolsIsUnknown) {
  FixtureRunner runner;
  runner.set(kNft, "", 1);  // "Operation not permitted" on stderr
  runner.fail(kIptables, Error::unavailable("iptables-save: timed out after 5000 ms"));
  std::vector<std::string> w;
  auto f = collect_firewall(&runner, kTimeout, &w);
  EXPECT_FALSE(f.known);
  EXPECT_FALSE(f.active);
  EXPECT_EQ(f.backend, "");
  ASSERT_EQ(w.size(), 1u);
  EXPECT_NE(w[0].find("timed out"), std::string::npos);

  std::vector<std::string> w2;
  EXPECT_FALSE(collect_firewall(nullptr, kTimeout, &w2).known);
  EXPECT_EQ(w2.size(), 1u);
}

TEST(Firewall, GarbageFromNftFallsBackToIptables) {
  FixtureRunner runner;
  runner.set(kNft, "\x01\x02{{{ not json");
  runner.set(kIptables, "garbage\n-A INPUT -j DROP\n");
  std::vector<std::string> w;
  auto f = collect_firewall(&runner, kTimeout, &w);
  EXPECT_TRUE(f.known);
  EXPECT_EQ(f.backend, "iptables");
  EXPECT_EQ(f.rules, 1);
}

}  // namespace
}  // namespace custody::posture
