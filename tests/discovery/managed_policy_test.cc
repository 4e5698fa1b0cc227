#include "discovery/managed_policy.h"

#include <gtest/gtest.h>

namespace custody::discovery {
namespace {

TEST(ManagedPolicy, Wildcards) {
  EXPECT_TRUE(wildcard_match("https://*.example.com/*", "https://mcp.example.com/mcp"));
  EXPECT_TRUE(wildcard_match("*", ""));
  EXPECT_TRUE(wildcard_match("a*b*c", "aXbYbZc"));
  EXPECT_FALSE(wildcard_match("https://*.example.com/*", "https://example.org/mcp"));
  EXPECT_FALSE(wildcard_match("abc", "abcd"));
  EXPECT_TRUE(wildcard_match(std::string(1000, '*') + "x", std::string(100000, 'a') + "x"));
}

TEST(ManagedPolicy, EntriesMatchByNameCommandOrUrl) {
  Finding f;
  f.client = "claude-code";
  f.server_name = "github";
  f.command = "npx";
  f.args = {"-y", "pkg"};
  EXPECT_TRUE(policy_entry_matches({{"serverName", "github"}}, f));
  EXPECT_FALSE(policy_entry_matches({{"serverName", "gitlab"}}, f));
  EXPECT_TRUE(policy_entry_matches({{"serverCommand", {"npx", "-y", "pkg"}}}, f));
  EXPECT_FALSE(policy_entry_matches({{"serverCommand", {"npx", "pkg"}}}, f));
  EXPECT_FALSE(policy_entry_matches({{"serverUrl", "*"}}, f));  // a stdio server has no URL
  f.url = "https://x.example.com/mcp";
  EXPECT_TRUE(policy_entry_matches({{"serverUrl", "https://*.example.com/*"}}, f));
  EXPECT_FALSE(policy_entry_matches(nlohmann::json::array(), f));
}

TEST(ManagedPolicy, DeniedWinsThenAllowlist) {
  auto policy = managed_policy_of(
      {{"deniedMcpServers", {{{"serverName", "bad"}}}},
       {"allowedMcpServers", {{{"serverName", "good"}}, {{"serverName", "bad"}}}}},
      "/etc/claude-code/managed-settings.json");
  ASSERT_TRUE(policy.has_value());
  std::vector<Finding> findings(4);
  for (auto& f : findings) f.client = "claude-code";
  findings[0].server_name = "bad";
  findings[1].server_name = "good";
  findings[2].server_name = "other";
  findings[3].server_name = "other";
  findings[3].client = "cursor";  // the policy is Claude Code's
  apply_managed_policies({*policy}, findings);
  ASSERT_EQ(findings[0].risks.size(), 1u);
  EXPECT_EQ(findings[0].risks[0].signal, "denied-by-managed-policy");
  EXPECT_TRUE(findings[1].risks.empty());
  ASSERT_EQ(findings[2].risks.size(), 1u);
  EXPECT_EQ(findings[2].risks[0].signal, "not-in-managed-allowlist");
  EXPECT_TRUE(findings[3].risks.empty());
  EXPECT_FALSE(managed_policy_of({{"theme", "dark"}}, "f").has_value());
}

}  // namespace
}  // namespace custody::discovery
