#include "discovery/config_reader.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace custody::discovery {
namespace {

TEST(ConfigReader, ParseErrorsNameAPositionNotTheContent) {
  const std::string secret = "ghp_abcdefghijklmnopqrstuvwxyz0123456789";
  auto json = parse_document(R"({"env": {"T": ")" + secret + R"(" ]] })", Format::kJson);
  ASSERT_FALSE(json.ok());
  EXPECT_NE(json.error().message.find("JSON syntax error at byte"), std::string::npos);
  EXPECT_EQ(json.error().message.find("ghp_"), std::string::npos);
  auto toml = parse_document("[a]\nt = \"" + secret + "\" x\n", Format::kToml);
  ASSERT_FALSE(toml.ok());
  EXPECT_EQ(toml.error().message.find("ghp_"), std::string::npos);
  auto yaml = parse_document("a: [" + secret + "\n", Format::kYaml);
  ASSERT_FALSE(yaml.ok());
  EXPECT_EQ(yaml.error().message.find("ghp_"), std::string::npos);
}

// Deeply nested input must end in a value or an error, never in a stack overflow.
TEST(ConfigReader, DeepNestingDoesNotCrash) {
  const std::size_t depth = 100000;
  std::string json = std::string(depth, '[') + std::string(depth, ']');
  (void)parse_document(json, Format::kJson);
  std::string yaml = std::string(depth, '[') + std::string(depth, ']');
  (void)parse_document(yaml, Format::kYaml);
  std::string toml = "a = " + std::string(depth, '[') + std::string(depth, ']');
  (void)parse_document(toml, Format::kToml);
  SUCCEED();
}

TEST(ConfigReader, TomlKeepsTypesAndNesting) {
  auto doc = parse_document(
      "[mcp_servers.a]\ncommand = \"npx\"\nargs = [\"-y\", \"p\"]\nenabled = false\n"
      "timeout = 30\n[mcp_servers.a.env]\nK = \"v\"\n",
      Format::kToml);
  ASSERT_TRUE(doc.ok());
  const auto& a = (*doc)["mcp_servers"]["a"];
  EXPECT_EQ(a["command"], "npx");
  EXPECT_EQ(a["args"].size(), 2u);
  EXPECT_EQ(a["enabled"], false);
  EXPECT_EQ(a["timeout"], 30);
  EXPECT_EQ(a["env"]["K"], "v");
}

TEST(ConfigReader, YamlScalarsAreStrings) {
  auto doc =
      parse_document("extensions:\n  x:\n    enabled: true\n    args: [a, 1]\n", Format::kYaml);
  ASSERT_TRUE(doc.ok());
  EXPECT_EQ((*doc)["extensions"]["x"]["enabled"], "true");
  EXPECT_EQ((*doc)["extensions"]["x"]["args"][1], "1");
}

TEST(ConfigReader, MarkdownFrontMatter) {
  auto doc = parse_document("---\nkind: remote\nname: r\n---\nbody: not yaml\n",
                            Format::kMarkdownFrontMatter);
  ASSERT_TRUE(doc.ok());
  EXPECT_EQ((*doc)["kind"], "remote");
  EXPECT_FALSE(doc->contains("body"));
  auto none = parse_document("# just markdown\n", Format::kMarkdownFrontMatter);
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
  EXPECT_FALSE(parse_document("---\nkind: remote\n", Format::kMarkdownFrontMatter).ok());
}

TEST(ConfigReader, ClaudeJsonKeepsOnlyServerMembers) {
  auto doc = parse_document(
      R"({"numStartups": 3, "history": [{"display": "x"}],
          "mcpServers": {"a": {"command": "c", "args": ["1"], "env": {"K": "v"}}},
          "projects": {"/p": {"history": [1, 2], "allowedTools": [],
                              "mcpServers": {"b": {"command": "d", "history": "kept"}}}}})",
      Format::kJson, Layout::kClaudeJson);
  ASSERT_TRUE(doc.ok());
  EXPECT_FALSE(doc->contains("numStartups"));
  EXPECT_FALSE(doc->contains("history"));
  EXPECT_EQ((*doc)["mcpServers"]["a"]["env"]["K"], "v");
  const auto& p = (*doc)["projects"]["/p"];
  EXPECT_FALSE(p.contains("history"));
  EXPECT_FALSE(p.contains("allowedTools"));
  // Inside a server entry nothing is dropped, whatever the member is called.
  EXPECT_EQ(p["mcpServers"]["b"]["history"], "kept");
}

TEST(ConfigReader, ReadTextFileOutcomes) {
  namespace fs = std::filesystem;
  fs::path dir = fs::temp_directory_path() / ("custody-reader-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  auto write = [&](const char* name, const std::string& text) {
    std::ofstream(dir / name, std::ios::binary) << text;
    return (dir / name).string();
  };
  EXPECT_EQ(read_text_file((dir / "missing").string(), 100).outcome, ReadOutcome::kMissing);
  EXPECT_EQ(read_text_file((dir / "missing/below").string(), 100).outcome, ReadOutcome::kMissing);
  auto ok = read_text_file(write("ok.json", "{\"a\": \"é\"}"), 100);
  EXPECT_EQ(ok.outcome, ReadOutcome::kOk);
  EXPECT_EQ(ok.text, "{\"a\": \"é\"}");
  EXPECT_EQ(read_text_file(write("nul", std::string("{\0}", 3)), 100).reason,
            "binary content (NUL byte or invalid UTF-8)");
  EXPECT_EQ(read_text_file(write("latin1", "{\"a\": \"\xe9\"}"), 100).outcome,
            ReadOutcome::kSkipped);
  EXPECT_EQ(read_text_file(write("truncated-utf8", "ab\xc3"), 100).outcome, ReadOutcome::kSkipped);
  EXPECT_NE(read_text_file(write("big", std::string(101, 'x')), 100).reason.find("size cap"),
            std::string::npos);
  fs::create_symlink("self", dir / "self");
  EXPECT_EQ(read_text_file((dir / "self").string(), 100).reason, "symlink loop");
  EXPECT_EQ(read_text_file(dir.string(), 100).reason, "not a regular file");
  fs::remove_all(dir);
}

// A file that yields more bytes than its size said (it grew while being read) is not trusted.
// /proc files report size 0 and then produce content, which is exactly that.
TEST(ConfigReader, FileThatGrowsWhileReadIsSkipped) {
  ReadResult r = read_text_file("/proc/self/status", 1 << 20);
  EXPECT_EQ(r.outcome, ReadOutcome::kSkipped);
  EXPECT_EQ(r.reason, "changed while being read");
}

}  // namespace
}  // namespace custody::discovery
