// Scans of tests/discovery/fixtures/windows, a system drive (C:\) read with Windows path
// resolution: carol's profile under /Users with Claude Desktop, VS Code, Cline, Roo (in Cursor's
// user dir), Cursor, Zed and Goose in their Windows locations, the Public and Default profiles
// (no user's home), and managed files under Program Files and ProgramData.
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>

#include "discovery/path_resolver.h"
#include "discovery/report_json.h"
#include "discovery/scanner.h"

namespace custody::discovery {
namespace {

const std::string kFixtures = DISCOVERY_FIXTURES_DIR;
const std::string kWindowsRoot = kFixtures + "/windows";

ScanOptions windows_options() {
  ScanOptions o;
  o.root = kWindowsRoot;
  o.hash_key = "test-key";
  o.device_id = "win-device";
  o.macos_paths = false;
  o.windows_paths = true;
  return o;
}

const Report& windows_report() {
  static const Report report = scan(windows_options());
  return report;
}

const Finding* find(const Report& r, std::string_view name) {
  for (const auto& f : r.findings) {
    if (f.server_name == name) return &f;
  }
  return nullptr;
}

TEST(WindowsPaths, ViewPathOfADrivePath) {
  EXPECT_EQ(windows_view_path("C:\\Users\\carol\\src"), "/Users/carol/src");
  EXPECT_EQ(windows_view_path("c:/Users/carol/src"), "/Users/carol/src");
  EXPECT_EQ(windows_view_path("D:\\"), "/");
  EXPECT_FALSE(windows_view_path("/home/alice"));
  EXPECT_FALSE(windows_view_path("C:relative"));
  EXPECT_FALSE(windows_view_path("\\\\server\\share\\x"));
}

TEST(WindowsPaths, HomesAreUserProfilesOnly) {
  RootView root(kWindowsRoot);
  EXPECT_EQ(find_homes(root, false, true), std::vector<std::string>{"/Users/carol"});
  EXPECT_TRUE(find_homes(root, false, false).empty());
}

TEST(WindowsPaths, ClientsInTheirWindowsLocations) {
  const Report& r = windows_report();
  struct Expect {
    const char* server;
    const char* client;
    const char* file;
  };
  const Expect expected[] = {
      {"win-filesystem", "claude-desktop",
       "/Users/carol/AppData/Roaming/Claude/claude_desktop_config.json"},
      {"win-vscode", "vscode", "/Users/carol/AppData/Roaming/Code/User/mcp.json"},
      {"win-cline", "cline",
       "/Users/carol/AppData/Roaming/Code/User/globalStorage/saoudrizwan.claude-dev/settings/"
       "cline_mcp_settings.json"},
      {"win-roo", "roo-code",
       "/Users/carol/AppData/Roaming/Cursor/User/globalStorage/rooveterinaryinc.roo-cline/"
       "settings/mcp_settings.json"},
      {"win-cursor", "cursor", "/Users/carol/.cursor/mcp.json"},
      {"win-zed", "zed", "/Users/carol/AppData/Roaming/Zed/settings.json"},
      {"win-goose", "goose", "/Users/carol/AppData/Roaming/Block/goose/config/config.yaml"},
  };
  for (const auto& e : expected) {
    const Finding* f = find(r, e.server);
    ASSERT_NE(f, nullptr) << e.server;
    EXPECT_EQ(f->client, e.client) << e.server;
    EXPECT_EQ(f->config_file, e.file) << e.server;
    EXPECT_EQ(f->scope, Scope::kUser) << e.server;
  }
  EXPECT_EQ(find(r, "public-must-not-appear"), nullptr);
  EXPECT_EQ(find(r, "default-must-not-appear"), nullptr);
}

TEST(WindowsPaths, ManagedFilesUnderProgramFilesAndProgramData) {
  const Report& r = windows_report();
  const Finding* wiki = find(r, "win-corp-wiki");
  ASSERT_NE(wiki, nullptr);
  EXPECT_EQ(wiki->scope, Scope::kManaged);
  EXPECT_EQ(wiki->config_file, "/Program Files/ClaudeCode/managed-mcp.json");
  const Finding* legacy = find(r, "win-corp-legacy");
  ASSERT_NE(legacy, nullptr);
  EXPECT_EQ(legacy->config_file, "/ProgramData/ClaudeCode/managed-mcp.json");
  // The policy beside it (ProgramData/ClaudeCode/managed-settings.json) denies it by name.
  EXPECT_TRUE(std::any_of(legacy->risks.begin(), legacy->risks.end(), [](const RiskSignal& s) {
    return s.signal == "denied-by-managed-policy";
  }));
  const Finding* gemini = find(r, "win-corp-gemini");
  ASSERT_NE(gemini, nullptr);
  EXPECT_EQ(gemini->client, "gemini-cli");
  EXPECT_EQ(gemini->scope, Scope::kManaged);
}

TEST(WindowsPaths, ClaudeCodeProjectsByDrivePathAndHomeRedaction) {
  const Report& r = windows_report();
  const Finding* project = find(r, "win-project");
  ASSERT_NE(project, nullptr);
  EXPECT_EQ(project->project, "/Users/carol/src/winapp");
  // C:\Users\carol\Documents is carol's home: shown as ~, as /home/alice/... is on Linux.
  const Finding* fs = find(r, "win-filesystem");
  ASSERT_NE(fs, nullptr);
  ASSERT_FALSE(fs->args.empty());
  EXPECT_EQ(fs->args.back(), "~\\Documents");
  const Finding* cline = find(r, "win-cline");
  ASSERT_NE(cline, nullptr);
  EXPECT_EQ(cline->args, std::vector<std::string>{"~/mcp/cline/index.js"});
}

TEST(WindowsPaths, OffByDefaultOnOtherPlatforms) {
#ifndef _WIN32
  ScanOptions o = windows_options();
  o.windows_paths = false;
  Report r = scan(o);
  EXPECT_TRUE(r.findings.empty());
#endif
}

TEST(WindowsPaths, NoPlantedSecretLeaks) {
  std::ifstream in(kFixtures + "/planted-secrets.txt");
  std::string json = report_to_json(windows_report()).dump(2);
  std::string text = report_to_text(windows_report());
  std::string line;
  int n = 0;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    ++n;
    EXPECT_EQ(json.find(line), std::string::npos);
    EXPECT_EQ(text.find(line), std::string::npos);
  }
  EXPECT_GT(n, 40);
  // The literals planted in the Windows tree were flagged, not dropped.
  const Finding* desk = find(windows_report(), "win-anthropic");
  ASSERT_NE(desk, nullptr);
  ASSERT_EQ(desk->secrets.size(), 1u);
  EXPECT_EQ(desk->secrets[0].classification, SecretClass::kLiteral);
}

}  // namespace
}  // namespace custody::discovery
