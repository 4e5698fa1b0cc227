#include "discovery/redact.h"

#include <gtest/gtest.h>

namespace custody::discovery {
namespace {

class RedactTest : public ::testing::Test {
 protected:
  SecretClassifier classifier_{"k"};
  std::vector<std::string> homes_{"/home/alice"};
  Redactor redactor_{classifier_, homes_};
  std::vector<SecretFlag> flags_;
};

TEST_F(RedactTest, ValuesAfterCredentialFlags) {
  auto out = redactor_.args({"-y", "pkg", "--token", "ghp_abcdefghijklmnopqrstuvwxyz0123456789",
                             "--api-key=s3cr3tvalue", "-H", "Authorization: Bearer abc"},
                            "s", flags_);
  EXPECT_EQ(out, (std::vector<std::string>{"-y", "pkg", "--token", "<redacted>",
                                           "--api-key=<redacted>", "-H", "<redacted>"}));
  ASSERT_EQ(flags_.size(), 3u);
  EXPECT_EQ(flags_[0].field, "s.args[3]");
  EXPECT_EQ(flags_[0].pattern, "github-token");
  EXPECT_EQ(flags_[2].pattern, "bearer-literal");
}

TEST_F(RedactTest, ReferencesAfterFlagsAreClassifiedNotLiteral) {
  auto out = redactor_.args({"--token", "${GITHUB_TOKEN}"}, "s", flags_);
  ASSERT_EQ(flags_.size(), 1u);
  EXPECT_EQ(flags_[0].classification, SecretClass::kReference);
  EXPECT_EQ(flags_[0].reference, "GITHUB_TOKEN");
}

TEST_F(RedactTest, BareCredentialsNameValueAndHomePaths) {
  auto out = redactor_.args(
      {"-e", "GITHUB_TOKEN=ghp_abcdefghijklmnopqrstuvwxyz0123456789",
       "sk-ant-api03-abcdefghijklmnop", "/home/alice/x.db", "/etc/x", "LOG_LEVEL=debug"},
      "s", flags_);
  EXPECT_EQ(out, (std::vector<std::string>{"-e", "GITHUB_TOKEN=<redacted>", "<redacted>", "~/x.db",
                                           "/etc/x", "LOG_LEVEL=debug"}));
  EXPECT_EQ(flags_.size(), 2u);
}

TEST_F(RedactTest, UrlUserinfoAndQuery) {
  EXPECT_EQ(redactor_.url("https://u:pw@h.example.com:8443/p?a=1&token=xyz#frag", "url", flags_),
            "https://h.example.com:8443/p?a=<redacted>&token=<redacted>#frag");
  ASSERT_EQ(flags_.size(), 2u);
  EXPECT_EQ(flags_[0].field, "url#userinfo");
  EXPECT_EQ(flags_[1].field, "url?token");
  EXPECT_EQ(redactor_.url("unix:///run/x.sock#/mcp", "u", flags_), "unix:///run/x.sock#/mcp");
  EXPECT_EQ(redactor_.url("https://h/mcp", "u", flags_), "https://h/mcp");
}

TEST_F(RedactTest, NonCredentialValuesAfterCredentialFlagsAreKept) {
  auto out =
      redactor_.args({"--oauth-port", "3334", "--key-file", "/home/alice/key.pem", "--auth=true",
                      "--token-file=./t.txt", "GOOGLE_CREDENTIALS=/etc/c.json"},
                     "s", flags_);
  EXPECT_EQ(out, (std::vector<std::string>{"--oauth-port", "3334", "--key-file", "~/key.pem",
                                           "--auth=true", "--token-file=./t.txt",
                                           "GOOGLE_CREDENTIALS=/etc/c.json"}));
  EXPECT_TRUE(flags_.empty());
}

TEST(RedactFlags, CredentialFlagNames) {
  for (const char* f : {"--token", "--api-key", "--apiKey", "--header", "-H", "--password=x",
                        "--auth-token", "--client-secret"}) {
    EXPECT_TRUE(Redactor::credential_flag(f)) << f;
  }
  for (const char* f : {"-y", "--db-path", "--port", "stdio", "-", "--verbose", "-u", "--user"}) {
    EXPECT_FALSE(Redactor::credential_flag(f)) << f;
  }
}

}  // namespace
}  // namespace custody::discovery
