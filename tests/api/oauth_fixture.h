// A fixture for API tests that use the authorization server: agents with client secrets,
// entitlements, client_credentials and token exchange requests, and the assertion that a refusal
// carries its OAuth error, its bound and its audit event. Shared by oauth_test.cc and
// delegation_bounds_test.cc.
#pragma once

#include <gtest/gtest.h>

#include "common/encoding.h"
#include "harness.h"
#include "net/url.h"

namespace custody::apitest {

inline constexpr std::string_view kExchange = "urn:ietf:params:oauth:grant-type:token-exchange";
inline constexpr std::string_view kAccessToken = "urn:ietf:params:oauth:token-type:access_token";

// application/x-www-form-urlencoded values: everything but RFC 3986 unreserved characters escaped.
inline std::string form_encode(std::string_view s) {
  return net::percent_encode(s);
}

inline std::string form(const std::vector<std::pair<std::string, std::string>>& params) {
  std::string out;
  for (const auto& [k, v] : params) {
    if (!out.empty()) out += '&';
    out += form_encode(k) + "=" + form_encode(v);
  }
  return out;
}

inline json claims_of(const std::string& jwt) {
  auto first = jwt.find('.');
  auto second = jwt.find('.', first + 1);
  auto payload = base64url_decode(jwt.substr(first + 1, second - first - 1));
  if (!payload) return json();
  return json::parse(*payload, nullptr, false);
}

struct Agent {
  std::string id;
  std::string secret;
  std::string basic() const {
    return "Basic " + base64_encode(form_encode(id) + ":" + form_encode(secret));
  }
};

class OAuthFixture : public SharedCustodydTest {
 protected:
  void SetUp() override {
    SharedCustodydTest::SetUp();
    if (IsSkipped()) return;
    owner_ = create_human(admin())["id"].get<std::string>();
  }

  Agent agent(const std::string& name) {
    return activated_with_secret(create_agent(admin(), owner_, name)["id"].get<std::string>());
  }
  // The identity `id` activated, with a new client secret.
  Agent activated_with_secret(const std::string& id) {
    Agent a;
    a.id = id;
    activate(a.id);
    Response cred = admin().post("/api/v1/identities/" + a.id + "/credentials",
                                 json{{"type", "client_secret"}});
    EXPECT_EQ(cred.status, 201) << cred.describe();
    a.secret = cred.json().value("secret", "");
    return a;
  }
  void activate(const std::string& id) {
    Response r = admin().post("/api/v1/identities/" + id + "/activate", json::object());
    EXPECT_EQ(r.status, 200) << r.describe();
  }
  void entitle(const Agent& a, const std::string& scope, const std::string& resource) {
    Response r = admin().post(
        "/api/v1/identities/" + a.id + "/entitlements",
        json{{"scope", scope}, {"resource", resource}, {"justification", "oauth test"}});
    EXPECT_EQ(r.status, 201) << r.describe();
  }

  Response post_form(const std::string& path, const Agent& client,
                     const std::vector<std::pair<std::string, std::string>>& params) {
    Client c(server().port());
    return c.request_raw(
        "POST", path, form(params),
        {{"Content-Type", "application/x-www-form-urlencoded"}, {"Authorization", client.basic()}});
  }
  Response client_credentials(const Agent& a, const std::string& audience,
                              const std::string& scope = "") {
    std::vector<std::pair<std::string, std::string>> p = {{"grant_type", "client_credentials"}};
    if (!audience.empty()) p.emplace_back("audience", audience);
    if (!scope.empty()) p.emplace_back("scope", scope);
    return post_form("/oauth2/token", a, p);
  }
  Response exchange(const Agent& actor, const std::string& subject_token,
                    std::vector<std::pair<std::string, std::string>> extra = {}) {
    std::vector<std::pair<std::string, std::string>> p = {
        {"grant_type", std::string(kExchange)},
        {"subject_token", subject_token},
        {"subject_token_type", std::string(kAccessToken)}};
    p.insert(p.end(), extra.begin(), extra.end());
    return post_form("/oauth2/token", actor, p);
  }
  static std::string token_of(const Response& r) {
    return r.json().value("access_token", std::string());
  }

  // A refusal with this OAuth error and bound, whose audit event says the same.
  ::testing::AssertionResult Refused(const Response& r, int status, std::string_view error,
                                     std::string_view bound, std::string_view reason_part) {
    json body = r.json();
    if (r.status != status || body.value("error", "") != error)
      return ::testing::AssertionFailure()
             << "expected " << status << " " << error << ", got " << r.describe();
    if (!bound.empty() && body.value("bound", "") != bound)
      return ::testing::AssertionFailure() << "expected bound " << bound << ": " << r.describe();
    if (body.value("error_description", "").find(reason_part) == std::string::npos)
      return ::testing::AssertionFailure()
             << "description lacks \"" << reason_part << "\": " << r.describe();
    if (r.header("Cache-Control") != "no-store")
      return ::testing::AssertionFailure() << "refusal is cacheable";
    auto event = find_audit_event(admin(), r, error, "oauth.token");
    if (!event) return ::testing::AssertionFailure() << "refusal not audited: " << r.describe();
    if (!bound.empty() && (*event)["details"].value("bound", "") != bound)
      return ::testing::AssertionFailure() << "audited bound differs: " << event->dump();
    return ::testing::AssertionSuccess();
  }

  std::string owner_;
};

}  // namespace custody::apitest
