#include "discovery/fingerprint.h"

#include <gtest/gtest.h>

#include "discovery/normaliser.h"

namespace custody::discovery {
namespace {

class FingerprintTest : public ::testing::Test {
 protected:
  Finding normalise(const nlohmann::json& entry, std::string_view client = "cursor",
                    std::string_view device = "device-1") {
    RawEntry raw{"github", "mcpServers.github", "", &entry};
    EntrySource source{std::string(client), Scope::kUser, "/home/a/.cursor/mcp.json", ""};
    return normalise_entry(raw, source, redactor_, classifier_, device);
  }
  SecretClassifier classifier_{"k"};
  std::vector<std::string> homes_{"/home/a"};
  Redactor redactor_{classifier_, homes_};
};

const nlohmann::json kEntry = {
    {"command", "npx"},
    {"args", {"-y", "@modelcontextprotocol/server-github"}},
    {"env", {{"GITHUB_PERSONAL_ACCESS_TOKEN", "ghp_abcdefghijklmnopqrstuvwxyz0123456789"}}}};

TEST_F(FingerprintTest, SameDefinitionSameFingerprint) {
  std::string a = normalise(kEntry).fingerprint;
  EXPECT_EQ(a.size(), 64u);
  EXPECT_EQ(normalise(kEntry).fingerprint, a);
  // Wherever it is configured: another client, another file.
  EXPECT_EQ(normalise(kEntry, "claude-code").fingerprint, a);
  // Key order and a one-string command line normalise to the same definition.
  nlohmann::json reordered = nlohmann::json::parse(
      R"({"env": {"GITHUB_PERSONAL_ACCESS_TOKEN": "ghp_abcdefghijklmnopqrstuvwxyz0123456789"},
          "command": "npx -y @modelcontextprotocol/server-github"})");
  EXPECT_EQ(normalise(reordered).fingerprint, a);
}

TEST_F(FingerprintTest, EditedDefinitionChangesIt) {
  std::string a = normalise(kEntry).fingerprint;
  nlohmann::json edited = kEntry;
  edited["args"][1] = "@modelcontextprotocol/server-github@2025.4.8";
  EXPECT_NE(normalise(edited).fingerprint, a);
  edited = kEntry;
  edited["command"] = "bunx";
  EXPECT_NE(normalise(edited).fingerprint, a);
  edited = kEntry;
  edited["env"]["EXTRA"] = "1";
  EXPECT_NE(normalise(edited).fingerprint, a);
}

TEST_F(FingerprintTest, RotatedSecretIsNotDrift) {
  std::string a = normalise(kEntry).fingerprint;
  nlohmann::json rotated = kEntry;
  rotated["env"]["GITHUB_PERSONAL_ACCESS_TOKEN"] = "ghp_zyxwvutsrqponmlkjihgfedcba9876543210";
  EXPECT_EQ(normalise(rotated).fingerprint, a);
}

TEST_F(FingerprintTest, PerDevice) {
  EXPECT_NE(normalise(kEntry, "cursor", "device-1").fingerprint,
            normalise(kEntry, "cursor", "device-2").fingerprint);
}

TEST_F(FingerprintTest, LaunchDefinitionCarriesNoSecret) {
  Finding f = normalise(kEntry);
  EXPECT_EQ(launch_definition(f).find("ghp_"), std::string::npos);
}

}  // namespace
}  // namespace custody::discovery
