// JSON shapes of identities and credentials (docs/api.md); entitlements and tokens are covered
// next to their operations.
#include <gtest/gtest.h>

#include "directory/json.h"

namespace custody::directory {
namespace {

constexpr Micros kT = 1'800'000'000'123'456;  // 2027-01-15T08:00:00.123456Z

TEST(DirectoryJson, Identity) {
  Identity i;
  i.id = "agt_01JDQ3V6S7K2W8C0M4N5P6R7T8";
  i.kind = Kind::kMcpServer;
  i.display_name = "Search";
  i.labels = {{"team", "search"}};
  i.owner_id = "usr_01JDQ3V6S7K2W8C0M4N5P6R7T9";
  i.state = State::kSuspended;
  i.version = 3;
  i.created_at = kT;
  i.updated_at = kT + 1000;
  nlohmann::json expected = {{"id", i.id},
                             {"kind", "mcp_server"},
                             {"display_name", "Search"},
                             {"description", ""},
                             {"labels", {{"team", "search"}}},
                             {"owner_id", *i.owner_id},
                             {"state", "suspended"},
                             {"version", 3},
                             {"created_at", "2027-01-15T08:00:00.123Z"},
                             {"updated_at", "2027-01-15T08:00:00.124Z"}};
  EXPECT_EQ(to_json(i), expected);

  Identity h;
  h.kind = Kind::kHuman;
  auto j = to_json(h);
  EXPECT_TRUE(j["owner_id"].is_null());
  EXPECT_TRUE(j["labels"].is_object());
  EXPECT_TRUE(j["labels"].empty());
}

TEST(DirectoryJson, CredentialHidesTheHash) {
  Credential c;
  c.id = "crd_01JDQ3V6S7K2W8C0M4N5P6R7T8";
  c.type = CredentialType::kClientSecret;
  c.secret_hash = "deadbeef";
  c.created_at = kT;
  c.expires_at = kT + 10;
  auto j = to_json(c, kT);
  EXPECT_FALSE(j.contains("secret_hash"));
  EXPECT_FALSE(j.contains("public_jwk"));
  EXPECT_FALSE(j.contains("jwk_thumbprint"));
  EXPECT_EQ(j.dump().find("deadbeef"), std::string::npos);
  EXPECT_EQ(j["active"], true);
  EXPECT_EQ(to_json(c, kT + 10)["active"], false);
  EXPECT_TRUE(j["revoked_at"].is_null());

  c.type = CredentialType::kJwk;
  c.secret_hash.reset();
  c.public_jwk = R"({"crv":"Ed25519","kty":"OKP","x":"abc"})";
  c.jwk_thumbprint = "tp";
  j = to_json(c, kT);
  EXPECT_EQ(j["public_jwk"]["kty"], "OKP");
  EXPECT_EQ(j["jwk_thumbprint"], "tp");
  c.public_jwk = "{broken";  // a damaged row shows null instead of failing
  EXPECT_TRUE(to_json(c, kT)["public_jwk"].is_null());
}

}  // namespace
}  // namespace custody::directory
