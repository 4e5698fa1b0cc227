// Brute-force protection for client authentication (docs/oauth.md, "Failed client
// authentication") against a custodyd that locks a (address, client_id) pair out after 3 failures
// in a 2-second window: the 4th attempt is refused with 429 even with the right secret, at every
// endpoint that authenticates clients, and audited; another client from the same address is not
// affected; the lockout ends with the window.
#include <gtest/gtest.h>

#include <thread>

#include "oauth_fixture.h"

namespace custody::apitest {
namespace {

class ClientAuthLockoutTest : public ::testing::Test {
 protected:
  void SetUp() override {
    CUSTODY_START_OR_SKIP(server_);
    admin_ = server_.admin();
    owner_ = create_human(*admin_)["id"].get<std::string>();
  }

  Agent agent(const std::string& name) {
    Agent a;
    a.id = create_agent(*admin_, owner_, name)["id"].get<std::string>();
    EXPECT_EQ(admin_->post("/api/v1/identities/" + a.id + "/activate", json::object()).status, 200);
    Response cred = admin_->post("/api/v1/identities/" + a.id + "/credentials",
                                 json{{"type", "client_secret"}});
    EXPECT_EQ(cred.status, 201) << cred.describe();
    a.secret = cred.json().value("secret", "");
    Response e = admin_->post(
        "/api/v1/identities/" + a.id + "/entitlements",
        json{{"scope", "read"}, {"resource", "https://api.example"}, {"justification", "test"}});
    EXPECT_EQ(e.status, 201) << e.describe();
    return a;
  }
  Response post_form(const std::string& path, const Agent& client,
                     const std::vector<std::pair<std::string, std::string>>& params) {
    Client c(server_.port());
    return c.request_raw(
        "POST", path, form(params),
        {{"Content-Type", "application/x-www-form-urlencoded"}, {"Authorization", client.basic()}});
  }
  Response token(const Agent& a) {
    return post_form("/oauth2/token", a,
                     {{"grant_type", "client_credentials"}, {"audience", "https://api.example"}});
  }

  Custodyd server_{{{"CUSTODY_OAUTH_CLIENT_AUTH_MAX_FAILURES", "3"},
                    {"CUSTODY_OAUTH_CLIENT_AUTH_FAILURE_WINDOW_SECONDS", "2"}}};
  std::unique_ptr<Client> admin_;
  std::string owner_;
};

TEST_F(ClientAuthLockoutTest, ThreeFailuresLockThePairOutUntilTheWindowEnds) {
  Agent a = agent("guessed");
  Agent other = agent("bystander");
  Agent forged{a.id, "cs_not-the-secret"};
  for (int i = 0; i < 3; ++i) {
    Response r = token(forged);
    ASSERT_EQ(r.status, 401) << "attempt " << i + 1 << ": " << r.describe();
    EXPECT_EQ(r.json().value("error", ""), "invalid_client");
  }

  // Locked out: even the right secret is refused, before it is checked.
  Response locked = token(a);
  ASSERT_EQ(locked.status, 429) << locked.describe();
  EXPECT_EQ(locked.json().value("error", ""), "invalid_client");
  EXPECT_NE(locked.json().value("error_description", "").find("too many failed authentications"),
            std::string::npos)
      << locked.describe();
  int retry_after = std::atoi(locked.header("Retry-After").c_str());
  EXPECT_GE(retry_after, 1) << locked.describe();
  EXPECT_LE(retry_after, 2) << locked.describe();
  EXPECT_EQ(locked.header("Cache-Control"), "no-store");
  EXPECT_TRUE(RefusalAudited(*admin_, locked, "invalid_client", "oauth.token"));

  // Every endpoint that authenticates clients is closed to the pair.
  Response introspect = post_form("/oauth2/introspect", a, {{"token", "x"}});
  EXPECT_EQ(introspect.status, 429) << introspect.describe();
  Response revoke = post_form("/oauth2/revoke", a, {{"token", "x"}});
  EXPECT_EQ(revoke.status, 429) << revoke.describe();
  Response backchannel = post_form("/oauth2/bc-authorize", a, {{"scope", "openid"}});
  EXPECT_EQ(backchannel.status, 429) << backchannel.describe();

  // Another client from the same address is not affected.
  Response fine = token(other);
  EXPECT_EQ(fine.status, 200) << fine.describe();

  // The window ends; the right secret works again.
  std::this_thread::sleep_for(std::chrono::milliseconds(2100));
  Response again = token(a);
  EXPECT_EQ(again.status, 200) << again.describe();
}

}  // namespace
}  // namespace custody::apitest
