// Discovery reports as custodyd reads them (src/inventory/report.h): what is accepted, what is
// refused and with which field, the device-independent definition hash, and CSV quoting.
#include <gtest/gtest.h>

#include "inventory/report.h"

namespace custody::inventory {
namespace {

using nlohmann::json;

json finding() {
  return {{"kind", "mcp-server"},
          {"client", "cursor"},
          {"scope", "user"},
          {"config_file", "~/.cursor/mcp.json"},
          {"server_name", "github"},
          {"transport", "stdio"},
          {"command", "npx"},
          {"args", {"-y", "@modelcontextprotocol/server-github"}},
          {"env_names", {"GITHUB_TOKEN"}},
          {"header_names", json::array()},
          {"fingerprint", std::string(64, 'a')},
          {"secrets",
           {{{"field", "mcpServers.github.env.GITHUB_TOKEN"},
             {"classification", "literal"},
             {"pattern", "github-token"},
             {"length", 40},
             {"hmac", std::string(64, 'b')}}}},
          {"risks", {{{"signal", "plaintext-secret"}, {"detail", "1 literal credential(s)"}}}},
          {"running_pids", {42}}};
}

json report_with(const json& f) {
  return {{"schema", "custody.discovery.report/v1"}, {"findings", json::array({f})}};
}

TEST(InventoryReport, ReadsTheNamedMembersOnly) {
  json f = finding();
  f["unexpected"] = "ghp_notKeptAnywhere";
  auto r = parse_report(report_with(f));
  ASSERT_TRUE(r.ok()) << r.error().message;
  ASSERT_EQ(r->findings.size(), 1u);
  const auto& got = r->findings[0];
  EXPECT_EQ(got.server_name, "github");
  EXPECT_TRUE(got.running);
  ASSERT_EQ(got.secrets.size(), 1u);
  EXPECT_EQ(got.secrets[0].field, "mcpServers.github.env.GITHUB_TOKEN");
  EXPECT_EQ(got.secrets[0].pattern, "github-token");
  EXPECT_EQ(got.target(), "npx -y @modelcontextprotocol/server-github");
}

// Bad reports, one mutation each: the refusal names the member.
TEST(InventoryReport, RefusalsNameTheMember) {
  struct Case {
    const char* what;
    json report;
    const char* field;
  };
  auto with = [](const char* member, json value) {
    json f = finding();
    if (value.is_null())
      f.erase(member);
    else
      f[member] = std::move(value);
    return report_with(f);
  };
  std::vector<Case> cases = {
      {"not an object", json::array(), "report"},
      {"wrong schema", {{"schema", "v0"}, {"findings", json::array()}}, "report.schema"},
      {"no findings", {{"schema", "custody.discovery.report/v1"}}, "report.findings"},
      {"unknown kind", with("kind", "daemon"), "report.findings[0].kind"},
      {"no client", with("client", nullptr), "report.findings[0].client"},
      {"args not a list", with("args", "rm -rf /"), "report.findings[0].args"},
      {"args of numbers", with("args", {1, 2}), "report.findings[0].args"},
      {"short fingerprint", with("fingerprint", "abc"), "report.findings[0].fingerprint"},
      {"upper-case fingerprint", with("fingerprint", std::string(64, 'A')),
       "report.findings[0].fingerprint"},
      {"huge name", with("server_name", std::string(300, 'x')), "report.findings[0].server_name"},
      {"bad classification", with("secrets", {{{"field", "x"}, {"classification", "plaintext"}}}),
       "report.findings[0].secrets[0].classification"},
      {"risk without signal", with("risks", {{{"detail", "x"}}}),
       "report.findings[0].risks[0].signal"},
  };
  int failed = 0;
  for (const auto& c : cases) {
    auto r = parse_report(c.report);
    if (r.ok() || r.error().field != c.field) {
      ++failed;
      ADD_FAILURE() << c.what << ": " << (r.ok() ? "accepted" : r.error().field);
    }
  }
  std::cout << cases.size() - failed << " passed, " << failed << " failed\n";
}

TEST(InventoryReport, DefinitionHashIgnoresTheDeviceAndWhereItIsConfigured) {
  auto a = parse_report(report_with(finding()));
  json other = finding();
  other["fingerprint"] = std::string(64, 'c');  // another device
  other["client"] = "claude-code";
  other["config_file"] = "~/.claude.json";
  other["secrets"] = json::array();
  other["risks"] = json::array();
  auto b = parse_report(report_with(other));
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->findings[0].definition_hash(), b->findings[0].definition_hash());
  EXPECT_NE(a->findings[0].slot(), b->findings[0].slot());
  // The scanner's canonical text (agent/discovery/fingerprint.h): sorted keys, no salt.
  EXPECT_EQ(a->findings[0].definition().dump(),
            R"({"args":["-y","@modelcontextprotocol/server-github"],"command":"npx",)"
            R"("env":["GITHUB_TOKEN"],"headers":[],"transport":"stdio","url":""})");
  json edited = finding();
  edited["args"] = {"-y", "@modelcontextprotocol/server-github@2.0.0"};
  auto c = parse_report(report_with(edited));
  ASSERT_TRUE(c.ok());
  EXPECT_NE(a->findings[0].definition_hash(), c->findings[0].definition_hash());
  EXPECT_EQ(a->findings[0].slot(), c->findings[0].slot());
}

TEST(InventoryReport, DisplayNameIsPrintableAndBounded) {
  ReportedFinding f;
  f.kind = "mcp-server";
  f.server_name = "a\x1b[31mb\n";
  EXPECT_EQ(f.display_name(), "a?[31mb?");
  f.server_name = "   ";
  EXPECT_EQ(f.display_name(), "unnamed mcp-server");
  f.server_name = std::string(199, 'x') + "\xc3\xa9";  // é straddles byte 200
  EXPECT_EQ(f.display_name(), std::string(199, 'x'));
}

TEST(InventoryReport, CsvFieldsAreQuotedPerRfc4180) {
  EXPECT_EQ(csv_field("plain"), "plain");
  EXPECT_EQ(csv_field("a,b"), "\"a,b\"");
  EXPECT_EQ(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
  EXPECT_EQ(csv_field("two\r\nlines"), "\"two\r\nlines\"");
  EXPECT_EQ(csv_field("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
  EXPECT_EQ(csv_field("-y"), "'-y");
  EXPECT_EQ(csv_field(""), "");
}

}  // namespace
}  // namespace custody::inventory
