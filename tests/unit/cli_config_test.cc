// Server and token resolution for the CLI (src/cli/cli_config.h).
#include "cli/cli_config.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

namespace custody::cli {
namespace {

TEST(CliConfigPath, PrefersAbsoluteXdgConfigHome) {
  EXPECT_EQ(config_file_path({{"XDG_CONFIG_HOME", "/x"}, {"HOME", "/home/u"}}),
            "/x/custody/config");
  EXPECT_EQ(config_file_path({{"XDG_CONFIG_HOME", "rel"}, {"HOME", "/home/u"}}),
            "/home/u/.config/custody/config");
  EXPECT_EQ(config_file_path({{"XDG_CONFIG_HOME", ""}, {"HOME", "/home/u"}}),
            "/home/u/.config/custody/config");
  EXPECT_EQ(config_file_path({}), "");
}

TEST(CliConfigFile, ParsesKeysCommentsAndQuotes) {
  auto file = parse_config_file(
      "# custody CLI\n"
      "\n"
      "  server = https://custody.example.com  \r\n"
      "token=\"cst_abc=def\"\n"
      "   # indented comment\n",
      "cfg");
  ASSERT_TRUE(file.ok()) << file.error().message;
  EXPECT_EQ(file->server, "https://custody.example.com");
  EXPECT_EQ(file->token, "cst_abc=def");  // only the first '=' separates key and value

  auto single = parse_config_file("token = 'cst_x'", "cfg");
  ASSERT_TRUE(single.ok());
  EXPECT_EQ(single->token, "cst_x");
  auto empty = parse_config_file("", "cfg");
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(empty->server, "");
}

TEST(CliConfigFile, NamesFileAndLineOfErrors) {
  auto unknown = parse_config_file("server = http://a\nsever = http://b\n", "/etc/x");
  ASSERT_FALSE(unknown.ok());
  EXPECT_NE(unknown.error().message.find("/etc/x:2:"), std::string::npos);
  EXPECT_NE(unknown.error().message.find("\"sever\""), std::string::npos);

  auto no_equals = parse_config_file("# ok\ntoken cst_x\n", "f");
  ASSERT_FALSE(no_equals.ok());
  EXPECT_NE(no_equals.error().message.find("f:2:"), std::string::npos);
}

TEST(CliResolve, FlagThenEnvThenFileThenDefault) {
  ConfigFile file{"http://file:1", "cst_file"};
  EnvMap env{{"CUSTODY_SERVER", "http://env:1"}, {"CUSTODY_TOKEN", "cst_env"}, {"HOME", "/h"}};

  Settings s = resolve_settings("http://flag:1", "cst_flag", env, file);
  EXPECT_EQ(s.server, "http://flag:1");
  EXPECT_EQ(s.token, "cst_flag");

  s = resolve_settings("", "", env, file);
  EXPECT_EQ(s.server, "http://env:1");
  EXPECT_EQ(s.token, "cst_env");

  s = resolve_settings("", "", {{"CUSTODY_TOKEN", ""}}, file);  // empty counts as unset
  EXPECT_EQ(s.server, "http://file:1");
  EXPECT_EQ(s.token, "cst_file");

  s = resolve_settings("", "", {}, {});
  EXPECT_EQ(s.server, "http://127.0.0.1:8080");
  EXPECT_EQ(s.token, "");
}

TEST(CliResolve, ResolvesServerAndTokenIndependently) {
  Settings s = resolve_settings("http://flag:1", "", {{"CUSTODY_TOKEN", "cst_env"}},
                                {"http://file:1", "cst_file"});
  EXPECT_EQ(s.server, "http://flag:1");
  EXPECT_EQ(s.token, "cst_env");
}

TEST(CliResolve, MissingTokenMessageNamesEveryWay) {
  Settings s = resolve_settings("", "", {{"HOME", "/home/u"}}, {});
  std::string msg = missing_token_message(s);
  EXPECT_EQ(msg.rfind("no admin token: pass --token, set CUSTODY_TOKEN or", 0), 0u) << msg;
  EXPECT_NE(msg.find("/home/u/.config/custody/config"), std::string::npos) << msg;
}

class CliLoadSettings : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("custody_cli_config_test_" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_ / "custody");
    env_ = {{"XDG_CONFIG_HOME", dir_.string()}};
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  void write(const std::string& text, mode_t mode) {
    std::string path = (dir_ / "custody" / "config").string();
    std::ofstream(path) << text;
    ::chmod(path.c_str(), mode);
  }

  std::filesystem::path dir_;
  EnvMap env_;
};

TEST_F(CliLoadSettings, MissingFileIsFine) {
  auto s = load_settings("", "", env_);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->server, "http://127.0.0.1:8080");
  EXPECT_TRUE(s->warnings.empty());
}

TEST_F(CliLoadSettings, ReadsFileAndWarnsWhenTokenIsExposed) {
  write("token = cst_file\n", 0600);
  auto s = load_settings("", "", env_);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->token, "cst_file");
  EXPECT_TRUE(s->warnings.empty());

  write("token = cst_file\n", 0644);
  s = load_settings("", "", env_);
  ASSERT_TRUE(s.ok());
  ASSERT_EQ(s->warnings.size(), 1u);
  EXPECT_NE(s->warnings[0].find("chmod 600"), std::string::npos);
}

TEST_F(CliLoadSettings, MalformedFileIsAnError) {
  write("tokne = x\n", 0600);
  EXPECT_FALSE(load_settings("", "cst_flag", env_).ok());
}

}  // namespace
}  // namespace custody::cli
