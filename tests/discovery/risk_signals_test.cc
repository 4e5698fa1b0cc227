#include "discovery/risk_signals.h"

#include <gtest/gtest.h>

namespace custody::discovery {
namespace {

bool pinned(std::string_view cmd, std::vector<std::string> args) {
  auto p = package_of(cmd, args);
  EXPECT_TRUE(p.has_value()) << cmd;
  return p && p->pinned;
}

TEST(RiskSignals, PackageRunnersAndPins) {
  EXPECT_FALSE(pinned("npx", {"-y", "@modelcontextprotocol/server-github"}));
  EXPECT_TRUE(pinned("npx", {"-y", "@modelcontextprotocol/server-github@2025.4.8"}));
  EXPECT_FALSE(pinned("npx", {"@playwright/mcp@latest"}));
  EXPECT_TRUE(pinned("/usr/bin/npx", {"mcp-remote@0.1.18", "https://x"}));
  EXPECT_FALSE(pinned("npx", {"-p", "pkg", "bin"}));
  EXPECT_FALSE(pinned("bunx", {"pkg"}));
  EXPECT_FALSE(pinned("pnpm", {"dlx", "pkg"}));
  EXPECT_FALSE(pinned("uvx", {"mcp-server-fetch"}));
  EXPECT_TRUE(pinned("uvx", {"mcp-server-fetch==0.6.2"}));
  EXPECT_TRUE(pinned("uvx", {"--python", "3.12", "pkg@1.0"}));
  EXPECT_FALSE(pinned("uv", {"tool", "run", "pkg"}));
  EXPECT_FALSE(pinned("pipx", {"run", "pkg"}));
  EXPECT_FALSE(package_of("node", {"index.js"}).has_value());
  EXPECT_FALSE(package_of("npx", {}).has_value());
}

TEST(RiskSignals, PlainHttpToRemoteHostsOnly) {
  EXPECT_TRUE(insecure_remote_http("http://mcp.example.com/mcp"));
  EXPECT_TRUE(insecure_remote_http("http://10.0.0.8:8080/"));
  EXPECT_FALSE(insecure_remote_http("http://localhost:3000/mcp"));
  EXPECT_FALSE(insecure_remote_http("http://127.0.0.1:3845/mcp"));
  EXPECT_FALSE(insecure_remote_http("http://[::1]:80/"));
  EXPECT_FALSE(insecure_remote_http("https://mcp.example.com/"));
}

TEST(RiskSignals, FromAFinding) {
  Finding f;
  f.command = "docker";
  f.args = {"run", "-i", "--rm", "-e", "X", "mcp/fetch"};
  f.secrets.push_back({"env.T", SecretClass::kLiteral, "", "github-token", 40, "h"});
  add_risk_signals(f, nlohmann::json{{"autoApprove", {"tool"}}, {"trust", true}});
  std::vector<std::string> signals;
  for (const auto& r : f.risks) signals.push_back(r.signal);
  EXPECT_EQ(signals, (std::vector<std::string>{"plaintext-secret", "auto-approve", "auto-approve",
                                               "unpinned-image"}));
  Finding pinned_image;
  pinned_image.command = "docker";
  pinned_image.args = {"run", "-i", "mcp/fetch@sha256:abc"};
  add_risk_signals(pinned_image, nlohmann::json::object());
  EXPECT_TRUE(pinned_image.risks.empty());
}

}  // namespace
}  // namespace custody::discovery
