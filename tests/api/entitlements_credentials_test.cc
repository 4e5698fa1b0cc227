// Entitlements (grant, expiry computed at read time, revoke) and credentials (one-time client
// secrets, public JWKs only, none for humans). docs/api.md, Entitlements and Credentials.
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/sha.h>

#include <ctime>
#include <memory>

#include "harness.h"

namespace custody::apitest {
namespace {

using Clock = std::chrono::system_clock;

// RFC 3339 UTC with milliseconds, as custody writes times.
std::string rfc3339(Clock::time_point t) {
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
  std::time_t secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[96];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, int(ms % 1000));
  return buf;
}

// Independent of custody's own encoder on purpose: the thumbprint is checked against it.
std::string base64url(const unsigned char* data, std::size_t n) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  std::size_t i = 0;
  for (; i + 2 < n; i += 3) {
    unsigned v = (data[i] << 16) | (data[i + 1] << 8) | data[i + 2];
    for (int s = 18; s >= 0; s -= 6) out += kAlphabet[(v >> s) & 63];
  }
  if (n - i == 1) {
    unsigned v = data[i] << 16;
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
  } else if (n - i == 2) {
    unsigned v = (data[i] << 16) | (data[i + 1] << 8);
    for (int s = 18; s >= 6; s -= 6) out += kAlphabet[(v >> s) & 63];
  }
  return out;
}

struct EcKey {
  json public_jwk;
  std::string d;  // base64url private scalar
  std::string thumbprint;
};

// A fresh P-256 key pair as a JWK, with its RFC 7638 thumbprint.
EcKey new_p256_key() {
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(EVP_EC_gen("P-256"), EVP_PKEY_free);
  EcKey out;
  if (!key) return out;
  unsigned char point[65];
  std::size_t point_len = 0;
  EVP_PKEY_get_octet_string_param(key.get(), OSSL_PKEY_PARAM_PUB_KEY, point, sizeof point,
                                  &point_len);
  BIGNUM* priv = nullptr;
  EVP_PKEY_get_bn_param(key.get(), OSSL_PKEY_PARAM_PRIV_KEY, &priv);
  unsigned char d[32] = {};
  if (priv) BN_bn2binpad(priv, d, sizeof d);
  BN_clear_free(priv);
  if (point_len != 65 || point[0] != 0x04) return out;
  std::string x = base64url(point + 1, 32), y = base64url(point + 33, 32);
  out.public_jwk = {{"kty", "EC"}, {"crv", "P-256"}, {"x", x}, {"y", y}};
  out.d = base64url(d, sizeof d);
  std::string canonical = R"({"crv":"P-256","kty":"EC","x":")" + x + R"(","y":")" + y + R"("})";
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(canonical.data()), canonical.size(), digest);
  out.thumbprint = base64url(digest, sizeof digest);
  return out;
}

class EntitlementsCredentialsTest : public SharedCustodydTest {
 protected:
  void SetUp() override {
    SharedCustodydTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    owner_ = create_human(admin());
    json body = owned_body("service", owner_.value("id", ""));
    body["state"] = "active";
    service_ = create_identity(admin(), body);
    ASSERT_TRUE(service_.contains("id"));
  }
  std::string service_path() { return "/api/v1/identities/" + service_["id"].get<std::string>(); }
  json grant_body() {
    return {{"scope", "billing:read"},
            {"resource", "https://api.example.com"},
            {"tools", {"invoice.lookup"}},
            {"justification", "month-end close"}};
  }
  std::vector<json> credentials() {
    Response r = admin().get(service_path() + "/credentials");
    EXPECT_EQ(r.status, 200) << r.describe();
    auto j = r.json();
    return j.is_object() && j["items"].is_array() ? j["items"].get<std::vector<json>>()
                                                  : std::vector<json>{};
  }

  json owner_, service_;
};

TEST_F(EntitlementsCredentialsTest, ExpiredEntitlementStopsCountingWithoutAnyAction) {
  auto expires = Clock::now() + std::chrono::milliseconds(1500);
  json body = grant_body();
  body["expires_at"] = rfc3339(expires);
  Response r = admin().post(service_path() + "/entitlements", body);
  ASSERT_EQ(r.status, 201) << r.describe();
  json e = r.json();
  std::string id = e.value("id", "");
  EXPECT_EQ(id.rfind("ent_", 0), 0u) << id;
  EXPECT_EQ(e["identity_id"], service_["id"]);
  EXPECT_EQ(e["scope"], "billing:read");
  EXPECT_EQ(e["resource"], "https://api.example.com");
  EXPECT_EQ(e["tools"], json({"invoice.lookup"}));
  EXPECT_EQ(e["justification"], "month-end close");
  EXPECT_EQ(e.value("granted_by", "").rfind("tok_", 0), 0u) << e.dump();
  EXPECT_TRUE(e["revoked_at"].is_null());
  EXPECT_TRUE(e["expires_at"].is_string());
  EXPECT_EQ(e["active"], true);

  Response now = admin().get("/api/v1/entitlements/" + id);
  ASSERT_EQ(now.status, 200) << now.describe();
  EXPECT_EQ(now.json()["active"], true);

  std::this_thread::sleep_until(expires + std::chrono::milliseconds(300));
  Response later = admin().get("/api/v1/entitlements/" + id);
  ASSERT_EQ(later.status, 200) << later.describe();
  EXPECT_EQ(later.json()["active"], false) << later.describe();
  EXPECT_TRUE(later.json()["revoked_at"].is_null()) << "expiry is not a revocation";

  Response all = admin().get(service_path() + "/entitlements");
  ASSERT_EQ(all.status, 200) << all.describe();
  ASSERT_EQ(all.json()["items"].size(), 1u) << all.describe();
  EXPECT_EQ(all.json()["items"][0]["active"], false);
  Response active = admin().get(service_path() + "/entitlements?active=true");
  ASSERT_EQ(active.status, 200) << active.describe();
  EXPECT_EQ(active.json()["items"].size(), 0u) << active.describe();
  // Expiry took effect without any job or request writing anything.
  EXPECT_EQ(audit_events(admin(), "target=" + id).size(), 1u);
}

TEST_F(EntitlementsCredentialsTest, RevokedEntitlementIsInactiveAndAudited) {
  Response r = admin().post(service_path() + "/entitlements", grant_body());
  ASSERT_EQ(r.status, 201) << r.describe();
  std::string id = r.json().value("id", "");
  EXPECT_EQ(r.header("Location"), "/api/v1/entitlements/" + id);
  EXPECT_TRUE(r.json()["expires_at"].is_null());
  EXPECT_EQ(audit_events(admin(), "target=" + id + "&action=entitlement.grant").size(), 1u);

  Response revoked = admin().del("/api/v1/entitlements/" + id);
  ASSERT_EQ(revoked.status, 200) << revoked.describe();
  EXPECT_EQ(revoked.json()["active"], false);
  EXPECT_TRUE(revoked.json()["revoked_at"].is_string()) << revoked.describe();

  Response got = admin().get("/api/v1/entitlements/" + id);
  EXPECT_EQ(got.json()["active"], false);
  EXPECT_EQ(
      audit_events(admin(), "target=" + id + "&action=entitlement.revoke&outcome=success").size(),
      1u);
  Response active = admin().get(service_path() + "/entitlements?active=true");
  EXPECT_EQ(active.json()["items"].size(), 0u) << active.describe();

  // A grant without a justification is refused and leaves nothing behind.
  json bad = grant_body();
  bad.erase("justification");
  Response refused = admin().post(service_path() + "/entitlements", bad);
  EXPECT_TRUE(IsProblem(refused, 400, "invalid_argument", "justification"));
  EXPECT_TRUE(RefusalAudited(admin(), refused, "invalid_argument", "entitlement.grant"));
  EXPECT_EQ(admin().get(service_path() + "/entitlements").json()["items"].size(), 1u);
}

TEST_F(EntitlementsCredentialsTest, ClientSecretIsShownExactlyOnce) {
  Response r = admin().post(service_path() + "/credentials",
                            {{"type", "client_secret"}, {"description", "ci"}});
  ASSERT_EQ(r.status, 201) << r.describe();
  json c = r.json();
  std::string secret = c.value("secret", "");
  std::string id = c.value("id", "");
  EXPECT_EQ(id.rfind("crd_", 0), 0u) << id;
  EXPECT_EQ(c["type"], "client_secret");
  EXPECT_EQ(c["identity_id"], service_["id"]);
  EXPECT_EQ(c["active"], true);
  EXPECT_TRUE(c["expires_at"].is_string());
  EXPECT_EQ(secret.rfind("cs_", 0), 0u) << c.dump();
  // 256 random bits in base64url: 43 characters after the prefix.
  EXPECT_GE(secret.size(), 3u + 43u) << secret;
  ASSERT_FALSE(secret.empty());

  Response list = admin().get(service_path() + "/credentials");
  ASSERT_EQ(list.status, 200) << list.describe();
  ASSERT_EQ(list.json()["items"].size(), 1u);
  EXPECT_EQ(list.json()["items"][0]["id"], id);
  EXPECT_FALSE(list.json()["items"][0].contains("secret")) << list.body;
  EXPECT_EQ(list.body.find(secret), std::string::npos) << "the secret leaked into a list";

  auto created = audit_events(admin(), "target=" + id + "&action=credential.create");
  EXPECT_EQ(created.size(), 1u);
  Response audit = admin().get("/api/v1/audit?limit=1000");
  ASSERT_EQ(audit.status, 200);
  EXPECT_EQ(audit.body.find(secret), std::string::npos) << "the secret leaked into the audit log";
  EXPECT_EQ(server().logs().find(secret), std::string::npos) << "the secret leaked into the logs";
  // Nor its random part alone, in case something strips the prefix.
  EXPECT_EQ(server().logs().find(secret.substr(3)), std::string::npos);
  EXPECT_EQ(audit.body.find(secret.substr(3)), std::string::npos);

  Response revoked = admin().del("/api/v1/credentials/" + id);
  ASSERT_EQ(revoked.status, 200) << revoked.describe();
  EXPECT_EQ(revoked.json()["active"], false);
  EXPECT_TRUE(revoked.json()["revoked_at"].is_string());
  EXPECT_FALSE(revoked.json().contains("secret"));
  EXPECT_EQ(audit_events(admin(), "target=" + id + "&action=credential.revoke").size(), 1u);
}

TEST_F(EntitlementsCredentialsTest, PublicJwkIsAcceptedWithItsThumbprint) {
  EcKey key = new_p256_key();
  ASSERT_FALSE(key.thumbprint.empty()) << "could not generate a P-256 key";
  Response r = admin().post(service_path() + "/credentials",
                            {{"type", "jwk"}, {"public_jwk", key.public_jwk}});
  ASSERT_EQ(r.status, 201) << r.describe();
  json c = r.json();
  EXPECT_EQ(c["type"], "jwk");
  EXPECT_EQ(c["jwk_thumbprint"], key.thumbprint) << "RFC 7638 thumbprint";
  EXPECT_EQ(c["public_jwk"]["x"], key.public_jwk["x"]);
  EXPECT_EQ(c["public_jwk"]["y"], key.public_jwk["y"]);
  EXPECT_FALSE(c.contains("secret"));
  auto list = credentials();
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0]["jwk_thumbprint"], key.thumbprint);
}

TEST_F(EntitlementsCredentialsTest, PrivateJwkIsRefused) {
  EcKey key = new_p256_key();
  ASSERT_FALSE(key.d.empty());
  json private_jwk = key.public_jwk;
  private_jwk["d"] = key.d;
  Response r =
      admin().post(service_path() + "/credentials", {{"type", "jwk"}, {"public_jwk", private_jwk}});
  EXPECT_TRUE(IsProblem(r, 400, "invalid_argument", "public_jwk"));
  EXPECT_TRUE(RefusalAudited(admin(), r, "invalid_argument", "credential.create"));
  EXPECT_EQ(credentials().size(), 0u);
  // The private scalar must not be kept anywhere it could be read back.
  Response audit = admin().get("/api/v1/audit?limit=1000");
  EXPECT_EQ(audit.body.find(key.d), std::string::npos) << "the private key reached the audit log";
  EXPECT_EQ(server().logs().find(key.d), std::string::npos) << "the private key reached the logs";
}

TEST_F(EntitlementsCredentialsTest, HumansHoldNoCredentials) {
  std::string human = owner_["id"];
  Response r =
      admin().post("/api/v1/identities/" + human + "/credentials", {{"type", "client_secret"}});
  EXPECT_TRUE(IsProblem(r, 422, "unprocessable"));
  EXPECT_FALSE(r.json().contains("secret"));
  EXPECT_TRUE(RefusalAudited(admin(), r, "unprocessable", "credential.create"));
  Response list = admin().get("/api/v1/identities/" + human + "/credentials");
  ASSERT_EQ(list.status, 200) << list.describe();
  EXPECT_EQ(list.json()["items"].size(), 0u);
}

}  // namespace
}  // namespace custody::apitest
