#include "discovery/secret_classifier.h"

#include <gtest/gtest.h>

namespace custody::discovery {
namespace {

TEST(SecretClassifier, RecognisesReferenceSyntaxes) {
  struct Case {
    const char* value;
    const char* name;
  };
  for (const auto& c : std::vector<Case>{{"${GITHUB_TOKEN}", "GITHUB_TOKEN"},
                                         {"${TOKEN:-none}", "TOKEN"},
                                         {"$TOKEN", "TOKEN"},
                                         {"%TOKEN%", "TOKEN"},
                                         {"${env:TOKEN}", "env:TOKEN"},
                                         {"{env:TOKEN}", "TOKEN"},
                                         {"${input:pat}", "input:pat"},
                                         {"${file:/run/secret}", "file:/run/secret"},
                                         {"${{ secrets.DB }}", "secrets.DB"},
                                         {"Bearer ${API_TOKEN}", "API_TOKEN"}}) {
    std::string name;
    EXPECT_TRUE(SecretClassifier::is_reference(c.value, &name)) << c.value;
    EXPECT_EQ(name, c.name) << c.value;
  }
  EXPECT_FALSE(SecretClassifier::is_reference("pa$$word"));
  EXPECT_FALSE(SecretClassifier::is_reference("prefix-${X}-suffix"));
}

TEST(SecretClassifier, PatternsOfKnownCredentials) {
  EXPECT_EQ(SecretClassifier::pattern_of("ghp_abcdefghijklmnopqrstuvwxyz0123456789"),
            "github-token");
  EXPECT_EQ(SecretClassifier::pattern_of("github_pat_11ABCDEFG0123456789_abcdefghij"),
            "github-token");
  EXPECT_EQ(SecretClassifier::pattern_of("sk-ant-api03-abcdefghijklmnop"), "anthropic-key");
  EXPECT_EQ(SecretClassifier::pattern_of("sk-proj-abcdefghijklmnopqrstuv"), "openai-key");
  EXPECT_EQ(SecretClassifier::pattern_of("xoxb-1234567890-abcdefghij"), "slack-token");
  EXPECT_EQ(SecretClassifier::pattern_of("AKIAABCDEFGHIJKLMNOP"), "aws-access-key");
  EXPECT_EQ(SecretClassifier::pattern_of("AIzaSyA1234567890abcdefghijklmnopqrstu"),
            "google-api-key");
  EXPECT_EQ(SecretClassifier::pattern_of("glpat-abcdefghij0123456789"), "gitlab-token");
  EXPECT_EQ(SecretClassifier::pattern_of("Bearer ghp_abcdefghijklmnopqrstuvwxyz0123456789"),
            "github-token");
  EXPECT_EQ(SecretClassifier::pattern_of("Bearer abc"), "bearer-literal");
  EXPECT_EQ(SecretClassifier::pattern_of("Q2h5dGhvbjNJc0Z1bjEyMzQ1Ng"), "high-entropy");
  EXPECT_EQ(SecretClassifier::pattern_of("debug"), "");
  EXPECT_EQ(SecretClassifier::pattern_of("/usr/local/lib/node_modules/pkg/index.js"), "");
  EXPECT_EQ(SecretClassifier::pattern_of("a sentence with Many words 123"), "");
}

TEST(SecretClassifier, SecretLikeNames) {
  for (const char* n : {"GITHUB_PERSONAL_ACCESS_TOKEN", "Authorization", "X-Api-Key", "apiKey",
                        "clientSecret", "CLIENT_SECRET", "DB_PASSWORD", "GITLAB_PAT", "KEY"}) {
    EXPECT_TRUE(SecretClassifier::secret_like_name(n)) << n;
  }
  for (const char* n :
       {"PATH", "PATTERN", "LOG_LEVEL", "KEYBOARD_LAYOUT", "BYPASS_CACHE", "HOME"}) {
    EXPECT_FALSE(SecretClassifier::secret_like_name(n)) << n;
  }
}

TEST(SecretClassifier, HugeValuesAreClassifiedWithoutRegexRecursion) {
  std::string huge(4 * 1024 * 1024, 'a');
  EXPECT_EQ(SecretClassifier::pattern_of(huge), "oversized");
  EXPECT_FALSE(SecretClassifier::is_reference("${" + huge + "}"));
  SecretFlag f = SecretClassifier("k").classify("env.X", huge);
  EXPECT_EQ(f.classification, SecretClass::kLiteral);
  EXPECT_EQ(f.length, huge.size());
}

TEST(SecretClassifier, PlausibleCredentials) {
  for (const char* v : {"hunter2hunter2", "ghp_abcdefghijklmnopqrstuvwxyz0123456789", "${TOKEN}",
                        "Bearer abc", "s3cr3t"}) {
    EXPECT_TRUE(SecretClassifier::plausible_credential(v)) << v;
  }
  for (const char* v : {"3334", "true", "off", "/run/user/1000/ssh-agent.sock",
                        "~/.config/key.json", "./key.pem"}) {
    EXPECT_FALSE(SecretClassifier::plausible_credential(v)) << v;
  }
}

TEST(SecretClassifier, ClassifyKeepsNoValue) {
  SecretClassifier c("key");
  std::string secret = "ghp_abcdefghijklmnopqrstuvwxyz0123456789";
  SecretFlag f = c.classify("env.T", secret);
  EXPECT_EQ(f.classification, SecretClass::kLiteral);
  EXPECT_EQ(f.pattern, "github-token");
  EXPECT_EQ(f.length, secret.size());
  EXPECT_EQ(f.hmac.size(), 64u);
  EXPECT_EQ(f.field.find(secret), std::string::npos);
  EXPECT_EQ(f.hmac.find(secret), std::string::npos);
  // The same value under the same key hashes the same (reuse is visible); another key differs.
  EXPECT_EQ(c.classify("x", secret).hmac, f.hmac);
  EXPECT_NE(SecretClassifier("other").classify("x", secret).hmac, f.hmac);

  EXPECT_EQ(c.classify("e", "").classification, SecretClass::kEmpty);
  SecretFlag r = c.classify("e", "${X}");
  EXPECT_EQ(r.classification, SecretClass::kReference);
  EXPECT_TRUE(r.hmac.empty());
}

}  // namespace
}  // namespace custody::discovery
