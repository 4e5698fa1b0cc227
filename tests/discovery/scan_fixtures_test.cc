// Scans of tests/discovery/fixtures/root, a tree read as if it were /: alice's home has every
// client of the catalogue (../shared/DISCOVERY.md), her ~/src/app1 every project-level config,
// bob's home the bad inputs, /proc a Claude Code process with two stdio MCP children.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "discovery/catalogue.h"
#include "discovery/report_json.h"
#include "discovery/scanner.h"

namespace custody::discovery {
namespace {

namespace fs = std::filesystem;

const std::string kFixtures = DISCOVERY_FIXTURES_DIR;
const std::string kRoot = kFixtures + "/root";

ScanOptions fixture_options() {
  ScanOptions o;
  o.root = kRoot;
  o.project_roots = {"/home/alice/src", "/home/bob/src"};
  o.hash_key = "test-key";
  o.macos_paths = false;
  return o;
}

const Report& fixture_report() {
  static const Report report = scan(fixture_options());
  return report;
}

std::vector<const Finding*> by_name(const Report& r, std::string_view name) {
  std::vector<const Finding*> out;
  for (const auto& f : r.findings) {
    if (f.server_name == name) out.push_back(&f);
  }
  return out;
}

const Finding& one(const Report& r, std::string_view name) {
  auto v = by_name(r, name);
  if (v.size() != 1) {
    ADD_FAILURE() << "expected one finding named " << name << ", got " << v.size();
    static const Finding kNone;
    return kNone;
  }
  return *v[0];
}

bool has_risk(const Finding& f, std::string_view signal) {
  return std::any_of(f.risks.begin(), f.risks.end(),
                     [&](const RiskSignal& r) { return r.signal == signal; });
}

const SecretFlag* secret_at(const Finding& f, std::string_view field) {
  for (const auto& s : f.secrets) {
    if (s.field == field) return &s;
  }
  return nullptr;
}

bool warned(const Report& r, std::string_view path, std::string_view reason_part) {
  return std::any_of(r.warnings.begin(), r.warnings.end(), [&](const ScanWarning& w) {
    return w.path == path && w.reason.find(reason_part) != std::string::npos;
  });
}

std::vector<std::string> planted_secrets() {
  std::ifstream in(kFixtures + "/planted-secrets.txt");
  std::vector<std::string> out;
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty() && line[0] != '#') out.push_back(line);
  }
  return out;
}

TEST(ScanFixtures, EveryCatalogueClientIsFound) {
  std::set<std::string_view> clients;
  for (const auto& l : config_locations()) clients.insert(l.client);
  std::set<std::string> found;
  for (const auto& f : fixture_report().findings) found.insert(f.client);
  for (auto c : clients) EXPECT_TRUE(found.count(std::string(c))) << "no finding for " << c;
}

TEST(ScanFixtures, ClaudeCodeUserLocalProjectAndManagedScopes) {
  const Report& r = fixture_report();
  auto gh = by_name(r, "github");
  auto user = std::find_if(gh.begin(), gh.end(), [](const Finding* f) {
    return f->client == "claude-code" && f->config_file == "/home/alice/.claude.json";
  });
  ASSERT_NE(user, gh.end());
  EXPECT_EQ((*user)->scope, Scope::kUser);
  const Finding& local = one(r, "local-db");
  EXPECT_EQ(local.scope, Scope::kLocal);
  EXPECT_EQ(local.project, "/home/alice/src/app1");
  EXPECT_EQ(local.args, std::vector<std::string>{"~/src/app1/tools/db-mcp.js"});
  const Finding& project = one(r, "project-github");
  EXPECT_EQ(project.scope, Scope::kProject);
  EXPECT_EQ(project.config_file, "/home/alice/src/app1/.mcp.json");
  EXPECT_EQ(project.project, "/home/alice/src/app1");
  const Finding& managed = one(r, "corp-wiki");
  EXPECT_EQ(managed.scope, Scope::kManaged);
  EXPECT_EQ(managed.transport, Transport::kStreamableHttp);
  EXPECT_EQ(one(r, "corp-gemini").scope, Scope::kManaged);
}

TEST(ScanFixtures, TransportsAreNormalised) {
  const Report& r = fixture_report();
  EXPECT_EQ(one(r, "sentry").transport, Transport::kStreamableHttp);  // type http
  EXPECT_EQ(one(r, "linear").transport, Transport::kSse);             // type sse
  EXPECT_EQ(one(r, "events").transport, Transport::kSse);             // Cline: bare url means SSE
  EXPECT_TRUE(one(r, "events").transport_inferred);
  EXPECT_EQ(one(r, "legacy-sse").transport, Transport::kSse);           // Gemini: url means SSE
  EXPECT_EQ(one(r, "bigquery").transport, Transport::kStreamableHttp);  // Gemini httpUrl
  EXPECT_EQ(one(r, "gitlab-remote").transport, Transport::kStreamableHttp);  // serverUrl
  EXPECT_EQ(one(r, "figma").transport, Transport::kStreamableHttp);          // Codex bare url
  EXPECT_TRUE(one(r, "figma").transport_inferred);
  EXPECT_EQ(one(r, "roo-remote").transport_raw, "streamable-http");
  EXPECT_EQ(one(r, "intranet").transport, Transport::kStreamableHttp);  // Goose streamable_http
  EXPECT_EQ(one(r, "developer").transport, Transport::kBuiltin);        // Goose builtin
  EXPECT_EQ(one(r, "slack").transport, Transport::kStdio);              // opencode local
  EXPECT_EQ(one(r, "context7").transport, Transport::kStreamableHttp);  // opencode remote
  EXPECT_EQ(one(r, "cli-time").transport, Transport::kStdio);           // Cline CLI transport{}
  EXPECT_EQ(one(r, "code-reviewer").transport, Transport::kA2a);
  EXPECT_EQ(one(r, "code-reviewer").kind, "a2a-agent");
  EXPECT_TRUE(by_name(r, "helper").empty());  // a local Gemini subagent is not a finding
}

TEST(ScanFixtures, FormatsJsoncTomlYaml) {
  const Report& r = fixture_report();
  // JSONC with comments and trailing commas (VS Code, Zed, opencode).
  const Finding& gitlab = one(r, "gitlab");
  EXPECT_EQ(gitlab.client, "vscode");
  EXPECT_EQ(gitlab.args[3], "<redacted>");
  EXPECT_EQ(gitlab.args[4], "--url=https://gitlab.example.com,");  // comma inside a string kept
  EXPECT_EQ(one(r, "zed-github").client, "zed");
  EXPECT_EQ(one(r, "proj-opencode").client, "opencode");  // v2 mcp.servers in opencode.jsonc
  // Codex TOML: env table, env_vars, headers from variables.
  const Finding& docs = one(r, "openai-docs");
  EXPECT_EQ(docs.env_names,
            (std::vector<std::string>{"HOME_TOKEN", "LOG_LEVEL", "OPENAI_API_KEY"}));
  EXPECT_EQ(secret_at(docs, "mcp_servers.openai-docs.env.OPENAI_API_KEY")->pattern, "openai-key");
  const Finding& figma = one(r, "figma");
  EXPECT_EQ(secret_at(figma, "mcp_servers.figma.bearer_token_env_var")->reference,
            "FIGMA_OAUTH_TOKEN");
  EXPECT_FALSE(one(r, "legacy").enabled);
  EXPECT_EQ(one(r, "proj-codex").scope, Scope::kProject);
  // Goose and Continue YAML.
  const Finding& aws = one(r, "aws");
  EXPECT_EQ(aws.command, "uvx");
  EXPECT_EQ(secret_at(aws, "extensions.aws.envs.AWS_ACCESS_KEY_ID")->pattern, "aws-access-key");
  const Finding& sqlite = one(r, "sqlite");
  EXPECT_EQ(secret_at(sqlite, "mcpServers[0].env.SQLITE_TOKEN")->reference, "secrets.SQLITE_TOKEN");
  EXPECT_EQ(one(r, "postgres").config_file, "/home/alice/src/app1/.continue/mcpServers/db.yaml");
}

TEST(ScanFixtures, SecretsAreClassified) {
  const Report& r = fixture_report();
  auto cursor_gh = std::find_if(r.findings.begin(), r.findings.end(), [](const Finding& f) {
    return f.client == "cursor" && f.server_name == "github";
  });
  ASSERT_NE(cursor_gh, r.findings.end());
  const SecretFlag* pat =
      secret_at(*cursor_gh, "mcpServers.github.env.GITHUB_PERSONAL_ACCESS_TOKEN");
  ASSERT_NE(pat, nullptr);
  EXPECT_EQ(pat->classification, SecretClass::kLiteral);
  EXPECT_EQ(pat->pattern, "github-token");
  EXPECT_EQ(pat->length, 40u);
  EXPECT_EQ(pat->hmac.size(), 64u);
  EXPECT_TRUE(has_risk(*cursor_gh, "plaintext-secret"));

  const SecretFlag* ref =
      secret_at(one(r, "github-remote"), "servers.github-remote.headers.Authorization");
  ASSERT_NE(ref, nullptr);
  EXPECT_EQ(ref->classification, SecretClass::kReference);
  EXPECT_EQ(ref->reference, "input:pat");
  EXPECT_FALSE(has_risk(one(r, "github-remote"), "plaintext-secret"));

  EXPECT_NE(secret_at(one(r, "linear"), "mcpServers.linear.auth.CLIENT_SECRET"), nullptr);
  EXPECT_NE(secret_at(one(r, "bigquery"), "mcpServers.bigquery.oauth.clientSecret"), nullptr);
  EXPECT_NE(secret_at(one(r, "legacy"), "mcp_servers.legacy.bearer_token"), nullptr);
  EXPECT_NE(secret_at(one(r, "lm-remote"), "mcpServers.lm-remote.url#userinfo"), nullptr);
  EXPECT_EQ(one(r, "lm-remote").url, "https://lm.example.com/mcp");
  EXPECT_NE(secret_at(one(r, "gitlab-remote"), "mcpServers.gitlab-remote.serverUrl?private_token"),
            nullptr);
  EXPECT_EQ(secret_at(one(r, "gitlab-remote"), "mcpServers.gitlab-remote.serverUrl?private_token")
                ->pattern,
            "gitlab-token");
  EXPECT_NE(secret_at(one(r, "code-reviewer"), "auth.token"), nullptr);
  EXPECT_EQ(one(r, "q-github").args[4], "GITHUB_TOKEN=<redacted>");
  EXPECT_EQ(one(r, "kiro-remote").args[4], "<redacted>");
  // A non-secret env value is not flagged (its name is still listed).
  EXPECT_EQ(secret_at(one(r, "aws"), "extensions.aws.envs.AWS_REGION"), nullptr);
}

TEST(ScanFixtures, RiskSignals) {
  const Report& r = fixture_report();
  EXPECT_TRUE(has_risk(one(r, "filesystem"), "unpinned-package"));
  EXPECT_FALSE(has_risk(one(r, "anthropic-tools"), "unpinned-package"));  // uvx pkg==1.2.0
  EXPECT_TRUE(has_risk(one(r, "playwright"), "unpinned-package"));        // @latest
  EXPECT_FALSE(has_risk(one(r, "kiro-remote"), "unpinned-package"));      // mcp-remote@0.1.18
  EXPECT_TRUE(has_risk(one(r, "q-github"), "unpinned-image"));            // :latest
  EXPECT_TRUE(has_risk(one(r, "weather"), "auto-approve"));               // Cline autoApprove
  EXPECT_TRUE(has_risk(one(r, "roo-remote"), "auto-approve"));            // Roo alwaysAllow
  EXPECT_TRUE(has_risk(one(r, "maps"), "auto-approve"));                  // Gemini trust
  EXPECT_TRUE(has_risk(one(r, "intranet"), "insecure-http"));
  EXPECT_TRUE(has_risk(one(r, "remote-docs"), "insecure-http"));
  EXPECT_FALSE(has_risk(one(r, "proj-cursor"), "insecure-http"));  // loopback
  EXPECT_TRUE(has_risk(one(r, "gitlab"), "env-file"));
  EXPECT_FALSE(one(r, "memory").enabled);
}

TEST(ScanFixtures, ClaudeCodeManagedPolicy) {
  const Report& r = fixture_report();
  EXPECT_TRUE(has_risk(one(r, "sentry"), "denied-by-managed-policy"));  // serverUrl pattern
  EXPECT_TRUE(has_risk(one(r, "local-db"), "not-in-managed-allowlist"));
  EXPECT_FALSE(has_risk(one(r, "corp-wiki"), "not-in-managed-allowlist"));       // by name
  EXPECT_FALSE(has_risk(one(r, "project-github"), "not-in-managed-allowlist"));  // by command
  EXPECT_FALSE(has_risk(one(r, "linear"), "not-in-managed-allowlist"));  // Cursor: not Claude's
}

TEST(ScanFixtures, ProcessesAreMatchedToConfigEntries) {
  const Report& r = fixture_report();
  std::map<int, const ProcessRecord*> procs;
  for (const auto& p : r.processes) procs[p.pid] = &p;
  ASSERT_TRUE(procs.count(200));
  EXPECT_EQ(procs[200]->role, "client");
  EXPECT_EQ(procs[200]->client, "claude-code");
  // 201: npx server-github, launched by Claude Code: matched to ~/.claude.json's entry.
  ASSERT_TRUE(procs.count(201));
  EXPECT_EQ(procs[201]->role, "mcp-server");
  auto gh = std::find_if(r.findings.begin(), r.findings.end(), [](const Finding& f) {
    return f.client == "claude-code" && f.server_name == "github";
  });
  ASSERT_NE(gh, r.findings.end());
  EXPECT_EQ(procs[201]->matched_fingerprint, gh->fingerprint);
  EXPECT_EQ(gh->running_pids, std::vector<int>{201});
  ASSERT_EQ(procs[201]->environ_secrets.size(), 1u);  // GITHUB_PERSONAL_ACCESS_TOKEN, not PATH
  EXPECT_EQ(procs[201]->environ_secrets[0].pattern, "github-token");
  // 202: an MCP server with no config entry: a process-scope finding, its --api-key redacted.
  ASSERT_TRUE(procs.count(202));
  const Finding& fetch = one(r, "mcp-server-fetch");
  EXPECT_EQ(fetch.scope, Scope::kProcess);
  EXPECT_EQ(fetch.args.back(), "<redacted>");
  EXPECT_TRUE(has_risk(fetch, "plaintext-secret"));
  // 203 (a shell under the client) is not an MCP server; 300 vanished mid-read.
  EXPECT_FALSE(procs.count(203));
  EXPECT_TRUE(warned(r, "/proc/300", "exited"));
}

TEST(ScanFixtures, BadInputIsSkippedWithWarnings) {
  const Report& r = fixture_report();
  EXPECT_TRUE(warned(r, "/home/bob/.cursor/mcp.json", "binary"));
  EXPECT_TRUE(warned(r, "/home/bob/.kiro/settings/mcp.json", "JSON syntax error"));
  EXPECT_TRUE(warned(r, "/home/bob/.codex/config.toml", "TOML syntax error"));
  EXPECT_TRUE(warned(r, "/home/bob/.continue/config.yaml", "YAML syntax error"));
  EXPECT_TRUE(warned(r, "/home/bob/.codeium/windsurf/mcp_config.json", "symlink loop"));
  EXPECT_TRUE(warned(r, "/home/bob/src/proj/loop", "symlink loop"));
  // The scan went on: bob's project config beside the loop was read.
  EXPECT_EQ(one(r, "bob-proj").scope, Scope::kProject);
  // node_modules is not walked.
  EXPECT_TRUE(by_name(r, "must-not-appear").empty());
}

TEST(ScanFixtures, ProjectsKnownToClaudeCodeAreReadWithoutAProjectRoot) {
  ScanOptions o = fixture_options();
  o.project_roots.clear();
  Report r = scan(o);
  EXPECT_EQ(one(r, "project-github").project, "/home/alice/src/app1");
  EXPECT_EQ(one(r, "proj-api").client, "vscode");
  EXPECT_TRUE(by_name(r, "bob-proj").empty());  // not in any ~/.claude.json, not walked
}

TEST(ScanFixtures, CredentialStoresAreNotedNotRead) {
  const Report& r = fixture_report();
  std::set<std::string> paths;
  for (const auto& c : r.credential_stores) paths.insert(c.path);
  EXPECT_TRUE(paths.count("/home/alice/.claude/.credentials.json"));
  EXPECT_TRUE(paths.count("/home/alice/.gemini/mcp-oauth-tokens.json"));
}

TEST(ScanFixtures, DeviceIdFromMachineId) {
  const Report& r = fixture_report();
  EXPECT_EQ(r.device_id_source, "machine-id");
  ScanOptions o = fixture_options();
  o.device_id = "other-device";
  Report other = scan(o);
  EXPECT_EQ(other.device_id_source, "option");
  EXPECT_NE(one(other, "sentry").fingerprint, one(r, "sentry").fingerprint);
}

// The no-secret-leak test: no value planted in the fixtures (config literals, credential store
// contents, /proc environ and cmdline, the malformed file's literal) appears in the JSON or the
// text report, whatever the hash key.
TEST(ScanFixtures, NoPlantedSecretLeaksIntoTheReport) {
  auto secrets = planted_secrets();
  ASSERT_GE(secrets.size(), 30u);
  const Report& r = fixture_report();
  std::string json = report_to_json(r).dump(2);
  std::string text = report_to_text(r);
  for (const auto& s : secrets) {
    EXPECT_EQ(json.find(s), std::string::npos) << "JSON report leaks a planted secret";
    EXPECT_EQ(text.find(s), std::string::npos) << "text report leaks a planted secret";
    // Nor any 12-character slice of it (a truncation or partial copy would still leak).
    for (std::size_t i = 0; i + 12 <= s.size(); i += 6) {
      std::string part = s.substr(i, 12);
      EXPECT_EQ(json.find(part), std::string::npos) << "JSON report leaks part of a secret";
    }
  }
}

TEST(ScanFixtures, ReportJsonShape) {
  nlohmann::json j = report_to_json(fixture_report());
  EXPECT_EQ(j["schema"], "custody.discovery.report/v1");
  ASSERT_TRUE(j["findings"].is_array());
  for (const auto& f : j["findings"]) {
    for (const char* k :
         {"client", "scope", "config_file", "server_name", "transport", "fingerprint",
          "definition_hash", "secrets", "risks", "env_names", "header_names"}) {
      EXPECT_TRUE(f.contains(k)) << k;
    }
  }
  EXPECT_GT(j["stats"]["config_files_read"].get<int>(), 40);  // includes 2 managed settings
  EXPECT_EQ(j["stats"]["config_files_skipped"].get<int>(), 5);
}

// A scratch root for the bad-input cases that cannot live in git (size, permissions).
class ScratchRoot : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() /
            ("custody-discovery-" + std::to_string(::getpid()) + "-" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(root_);
    fs::create_directories(root_ / "home/u");
  }
  void TearDown() override {
    std::error_code ec;
    fs::permissions(root_ / "home/u/src/locked", fs::perms::owner_all, ec);
    fs::remove_all(root_, ec);
  }
  void write(const std::string& rel, const std::string& text) {
    fs::create_directories((root_ / rel).parent_path());
    std::ofstream(root_ / rel, std::ios::binary) << text;
  }
  ScanOptions options() {
    ScanOptions o;
    o.root = root_.string();
    o.device_id = "d";
    return o;
  }
  fs::path root_;
};

TEST_F(ScratchRoot, HugeFileIsSkipped) {
  std::string big = R"({"mcpServers": {"a": {"command": "x"}}, "pad": ")";
  big += std::string(2 * 1024 * 1024, 'x');
  big += "\"}";
  write("home/u/.cursor/mcp.json", big);
  ScanOptions o = options();
  o.max_file_bytes = 1024 * 1024;
  Report r = scan(o);
  EXPECT_TRUE(r.findings.empty());
  EXPECT_TRUE(warned(r, "/home/u/.cursor/mcp.json", "size cap"));
  o.max_file_bytes = 4 * 1024 * 1024;
  EXPECT_EQ(scan(o).findings.size(), 1u);
}

TEST_F(ScratchRoot, DirectoryWithAConfigsNameIsSkipped) {
  fs::create_directories(root_ / "home/u/.cursor/mcp.json");
  Report r = scan(options());
  EXPECT_TRUE(warned(r, "/home/u/.cursor/mcp.json", "not a regular file"));
}

TEST_F(ScratchRoot, UnreadableDirectoryIsSkipped) {
  write("home/u/src/ok/.mcp.json", R"({"mcpServers": {"ok": {"command": "x"}}})");
  write("home/u/src/locked/.mcp.json", R"({"mcpServers": {"hidden": {"command": "x"}}})");
  fs::permissions(root_ / "home/u/src/locked", fs::perms::none);
  ScanOptions o = options();
  o.project_roots = {"/home/u/src"};
  auto check = [&]() {
    Report r = scan(o);
    return warned(r, "/home/u/src/locked", "cannot open directory") &&
           by_name(r, "ok").size() == 1 && by_name(r, "hidden").empty();
  };
  if (::geteuid() != 0) {
    EXPECT_TRUE(check());
    return;
  }
  // Root reads any directory: scan from a child that has dropped to nobody (65534).
  fs::permissions(root_, fs::perms::all, fs::perm_options::add);
  for (auto& e :
       fs::recursive_directory_iterator(root_, fs::directory_options::skip_permission_denied)) {
    std::error_code ec;
    if (e.path().filename() != "locked") {
      fs::permissions(e.path(), fs::perms::others_read | fs::perms::others_exec,
                      fs::perm_options::add, ec);
    }
  }
  pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    if (::setgid(65534) != 0 || ::setuid(65534) != 0) ::_exit(2);
    ::_exit(check() ? 0 : 1);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0) << "1: expected warning or findings missing; 2: setuid failed";
}

TEST_F(ScratchRoot, WalkLimitsStopTheWalkAndSayWhy) {
  for (int i = 0; i < 50; ++i) write("home/u/src/p" + std::to_string(i) + "/f.txt", "x");
  write("home/u/src/a/b/c/d/e/.mcp.json", R"({"mcpServers": {"deep": {"command": "x"}}})");
  ScanOptions o = options();
  o.project_roots = {"/home/u/src"};
  o.walk.max_depth = 3;
  Report r = scan(o);
  EXPECT_TRUE(by_name(r, "deep").empty());  // below the depth limit
  o.walk.max_depth = 8;
  EXPECT_EQ(by_name(scan(o), "deep").size(), 1u);
  o.walk.max_entries = 10;
  Report limited = scan(o);
  EXPECT_TRUE(limited.stats.project_walk_truncated);
  EXPECT_TRUE(warned(limited, "(project walk)", "entry limit"));
}

TEST_F(ScratchRoot, MissingProjectRootIsAWarning) {
  ScanOptions o = options();
  o.project_roots = {"/nowhere"};
  Report r = scan(o);
  EXPECT_TRUE(warned(r, "/nowhere", "not a directory"));
}

// The live /proc of the test machine (through a symlink in the scratch root): real status and
// cmdline formats, processes that exit during the scan, kernel threads with empty command lines.
TEST_F(ScratchRoot, LiveProcIsReadWithoutError) {
  fs::create_directory_symlink("/proc", root_ / "proc");
  Report r = scan(options());
  EXPECT_GT(r.stats.processes_seen, 0u);
}

// A process may call itself anything: bytes that are not UTF-8 in /proc must not make the JSON
// report impossible to write (nlohmann::json::dump throws on them), which would hide everything.
TEST_F(ScratchRoot, ProcessBytesThatAreNotUtf8) {
  using namespace std::string_literals;
  write("proc/10/status", "Name:\tclaude\nPPid:\t1\n");
  write("proc/10/cmdline", "claude\0"s);
  write("proc/11/status", "Name:\tmcp\xff\nPPid:\t10\n");
  write("proc/11/cmdline", "npx\0mcp-\xff\xfe-server\0\xed\xa0\x80\0caf\xc3\xa9\0"s);
  write("proc/11/environ", "API_T\xffOKEN=ghp_Fx7kQ2mZ9pL4vN8rT1wY6cB3dH5jK0sA2eG4\0"s);
  Report r = scan(options());
  std::string json;
  ASSERT_NO_THROW(json = report_to_json(r).dump());
  ASSERT_EQ(r.processes.size(), 2u);
  EXPECT_EQ(r.processes[1].name, "mcp?");
  EXPECT_EQ(r.processes[1].argv, (std::vector<std::string>{"npx",
                                                           "mcp-?"
                                                           "?-server",
                                                           "???", "caf\xc3\xa9"}));
  ASSERT_EQ(r.processes[1].environ_secrets.size(), 1u);
  EXPECT_EQ(r.processes[1].environ_secrets[0].field, "environ.API_T?OKEN");
}

TEST_F(ScratchRoot, MacosPathsWhenAsked) {
  write("Users/m/Library/Application Support/Claude/claude_desktop_config.json",
        R"({"mcpServers": {"mac": {"command": "x"}}})");
  ScanOptions o = options();
  o.macos_paths = false;
  EXPECT_TRUE(scan(o).findings.empty());
  o.macos_paths = true;
  Report r = scan(o);
  ASSERT_EQ(r.findings.size(), 1u);
  EXPECT_EQ(r.findings[0].client, "claude-desktop");
}

// The command itself, as a user runs it.
TEST(CustodyAgentCli, ScanJsonAndTextCarryNoSecret) {
  auto run = [](const std::string& args) {
    std::string cmd = std::string(CUSTODY_AGENT_BIN) + " scan --root " + kRoot +
                      " --project-root /home/alice/src " + args + " 2>&1";
    std::string out;
    FILE* p = ::popen(cmd.c_str(), "r");
    char buf[4096];
    std::size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
    EXPECT_EQ(::pclose(p), 0);
    return out;
  };
  std::string json = run("--json");
  nlohmann::json j = nlohmann::json::parse(json);
  EXPECT_GT(j["findings"].size(), 50u);
  std::string text = run("");
  EXPECT_NE(text.find("CLIENT"), std::string::npos);
  EXPECT_NE(text.find("finding(s)"), std::string::npos);
  for (const auto& s : planted_secrets()) {
    EXPECT_EQ(json.find(s), std::string::npos);
    EXPECT_EQ(text.find(s), std::string::npos);
  }
}

}  // namespace
}  // namespace custody::discovery
