// access_token_payload: the token endpoint's hand-written claims serialisation must give exactly
// the bytes access_token_claims(...).dump() gives, for every optional member.
#include <gtest/gtest.h>

#include "oauth/access_token.h"

namespace custody::oauth {
namespace {

using nlohmann::json;

delegation::Record base_record() {
  delegation::Record r;
  r.id = "dlg_01JD0000000000000000000000";
  r.root_id = r.id;
  r.subject = "agt_01JD0000000000000000000001";
  r.client_id = r.subject;
  r.audience = {"agt_01JD0000000000000000000002"};
  r.scopes = {"read", "write"};
  r.issued_at = 1'800'000'000 * kMicrosPerSecond + 123'456;
  r.expires_at = r.issued_at + 300 * kMicrosPerSecond;
  return r;
}

void expect_same(const delegation::Record& r, const json& act = nullptr,
                 const json& may_act = nullptr) {
  const std::string issuer = "https://iam.example";
  auto payload = access_token_payload(r, issuer, act, may_act);
  ASSERT_TRUE(payload.ok()) << payload.error().message;
  EXPECT_EQ(*payload, access_token_claims(r, issuer, act, may_act).dump());
}

TEST(OAuthAccessTokenPayload, ClientCredentialsToken) {
  expect_same(base_record());
}

TEST(OAuthAccessTokenPayload, EveryOptionalMember) {
  auto r = base_record();
  r.audience = {"https://api.example/a", "agt_01JD0000000000000000000003"};
  r.cnf_jkt = "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I";
  r.max_hops = 2;
  r.device_id = "dev_01JD0000000000000000000004";
  r.depth = 2;
  r.root_id = "dlg_01JD0000000000000000000009";
  r.policy = {{"version", 7}, {"policies", {"p1"}}, {"approval", "apr_01JD00000000000000000005"}};
  json act = {{"sub", "agt_b"}, {"act", {{"sub", "agt_a"}, {"iss", "https://other.example"}}}};
  json may_act = {{"sub", "agt_c"}};
  expect_same(r, act, may_act);
}

TEST(OAuthAccessTokenPayload, EscapesAndExternalValues) {
  auto r = base_record();
  r.subject = "user \"quoted\" \\ back\nslash é";
  r.scopes = {};
  // An act from a trusted external issuer's token may hold any JSON value.
  json act = {{"sub", "ext"}, {"n", 9007199254740993ULL}, {"f", 1.5}, {"x", {1, "two", nullptr}}};
  expect_same(r, act);
}

TEST(OAuthAccessTokenPayload, RefusesInvalidUtf8) {
  auto r = base_record();
  r.subject = "\xff";
  EXPECT_FALSE(access_token_payload(r, "https://iam.example", nullptr, nullptr).ok());
  json act = {{"sub", "\xfe"}};
  EXPECT_FALSE(access_token_payload(base_record(), "https://iam.example", act, nullptr).ok());
}

}  // namespace
}  // namespace custody::oauth
