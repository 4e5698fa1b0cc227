// Credentials: client secrets (shown once, verified in constant time), public JWK validation and
// RFC 7638 thumbprints, maximum age, revocation, role restrictions and events.
#include <gtest/gtest.h>

#include "common/encoding.h"
#include "crypto/keyed_hash.h"
#include "directory/credentials.h"
#include "directory/json.h"
#include "directory_fixture.h"

namespace custody::directory {
namespace {

using nlohmann::json;
using testing::DirectoryTest;

// RFC 7638 §3.1.
const json kRfc7638Rsa = {
    {"kty", "RSA"},
    {"n",
     "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPe"
     "bWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY36"
     "8QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4l"
     "Fd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw"},
    {"e", "AQAB"},
    {"alg", "RS256"},
    {"kid", "2011-04-29"}};
constexpr const char* kRfc7638Thumbprint = "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs";

// RFC 7517 Appendix A.1 (public part).
const json kEc = {{"kty", "EC"},
                  {"crv", "P-256"},
                  {"x", "MKBCTNIcKUSDii11ySs3526iDZ8AiTo7Tu6KPAqv7D4"},
                  {"y", "4Etl6SRW2YiLUrN5vfvVHuhp7x8PxltmWWlbbM4IFyM"},
                  {"use", "sig"}};
// RFC 8037 Appendix A.2/A.3.
const json kOkp = {
    {"kty", "OKP"}, {"crv", "Ed25519"}, {"x", "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}};

class CredentialsTest : public DirectoryTest {
 protected:
  Result<CreatedCredential> create(const Principal& who, const std::string& identity_id,
                                   const NewCredential& input) {
    return write([&](store::Tx& tx) {
      return create_credential(tx, ctx(who), identity_id, input, hasher_, policy_);
    });
  }
  using DirectoryTest::create;
  static NewCredential secret_spec() { return NewCredential{}; }
  static NewCredential jwk_spec(json key) {
    NewCredential c;
    c.type = CredentialType::kJwk;
    c.public_jwk = std::move(key);
    return c;
  }
  Result<Credential> verify(const std::string& identity_id, const std::string& secret) {
    return read([&](store::Tx& tx) {
      return verify_client_secret(tx, identity_id, secret, hasher_, clock_.now());
    });
  }
  Result<Credential> revoke(const Principal& who, const std::string& id) {
    return write([&](store::Tx& tx) { return revoke_credential(tx, ctx(who), id); });
  }
  Result<std::vector<Credential>> list(const Principal& who, const std::string& identity_id) {
    return read([&](store::Tx& tx) { return list_credentials(tx, ctx(who), identity_id); });
  }

  crypto::SecretHasher hasher_{"test server secret"};
  CredentialPolicy policy_{.max_age_seconds = 30LL * 24 * 3600};
};

CUSTODY_ON_BOTH_BACKENDS(CredentialsTest);

TEST_P(CredentialsTest, ClientSecretIsShownOnceAndStoredAsKeyedHash) {
  Identity h = human();
  Identity svc = agent(h.id, State::kActive, Kind::kService);
  auto created = create(admin_, svc.id, secret_spec());
  ASSERT_TRUE(created.ok()) << created.error().message;
  ASSERT_TRUE(created->secret);
  const std::string secret = *created->secret;
  EXPECT_TRUE(secret.starts_with("cs_"));
  EXPECT_EQ(base64url_decode(secret.substr(3))->size(), 32u);
  const Credential& c = created->credential;
  EXPECT_TRUE(c.id.starts_with("crd_"));
  EXPECT_EQ(c.secret_hash, hasher_.hash_hex(secret));
  EXPECT_EQ(c.expires_at, testing::kT0 + policy_.max_age_seconds * kMicrosPerSecond);
  EXPECT_EQ(c.created_by, "tok_admin");

  auto listed = list(auditor_, svc.id);
  ASSERT_TRUE(listed.ok());
  ASSERT_EQ(listed->size(), 1u);
  const std::string shown = to_json((*listed)[0], clock_.now()).dump();
  EXPECT_EQ(shown.find(secret), std::string::npos);
  EXPECT_EQ(shown.find(*c.secret_hash), std::string::npos);
  EXPECT_EQ(shown.find("secret_hash"), std::string::npos);
  EXPECT_EQ(shown.find("public_jwk"), std::string::npos);

  auto evs = events_for(c.id);
  ASSERT_EQ(evs.size(), 1u);
  EXPECT_EQ(evs[0].action, "credential.create");
  EXPECT_EQ(evs[0].actor, "tok_admin");
  EXPECT_EQ(evs[0].details["identity_id"], svc.id);
  EXPECT_EQ(evs[0].details["type"], "client_secret");
  const std::string details = evs[0].details.dump();
  EXPECT_EQ(details.find(secret), std::string::npos);
  EXPECT_EQ(details.find(*c.secret_hash), std::string::npos);
}

TEST_P(CredentialsTest, VerifyClientSecret) {
  Identity h = human();
  Identity svc = agent(h.id, State::kActive, Kind::kService);
  Identity other = agent(h.id, State::kActive, Kind::kService);
  NewCredential short_lived;
  short_lived.max_age_seconds = 3600;
  const std::string s1 = *create(admin_, svc.id, short_lived).value().secret;
  auto second = create(admin_, svc.id, secret_spec()).value();
  const std::string s2 = *second.secret;

  auto ok1 = verify(svc.id, s1);
  ASSERT_TRUE(ok1.ok()) << ok1.error().message;
  auto ok2 = verify(svc.id, s2);
  ASSERT_TRUE(ok2.ok());
  EXPECT_EQ(ok2->id, second.credential.id);
  EXPECT_NE(ok1->id, ok2->id);

  for (const std::string& wrong : {std::string("cs_wrong"), std::string(), s1 + "x"}) {
    auto r = verify(svc.id, wrong);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, Code::kUnauthenticated);
  }
  EXPECT_EQ(verify(other.id, s1).error().code, Code::kUnauthenticated);

  ASSERT_TRUE(revoke(admin_, second.credential.id).ok());
  EXPECT_EQ(verify(svc.id, s2).error().code, Code::kUnauthenticated);

  clock_.advance(3600 * kMicrosPerSecond - 1);
  EXPECT_TRUE(verify(svc.id, s1).ok());
  clock_.advance(1);  // expires_at reached
  EXPECT_EQ(verify(svc.id, s1).error().code, Code::kUnauthenticated);
}

TEST_P(CredentialsTest, MaxAgeDefaultsToAndIsCappedByPolicy) {
  Identity h = human();
  Identity svc = agent(h.id);
  NewCredential c;
  c.max_age_seconds = 60;
  auto ok = create(admin_, svc.id, c);
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok->credential.expires_at, testing::kT0 + 60 * kMicrosPerSecond);
  for (std::int64_t bad :
       {std::int64_t{59}, std::int64_t{0}, std::int64_t{-5}, policy_.max_age_seconds + 1}) {
    c.max_age_seconds = bad;
    auto r = create(admin_, svc.id, c);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.error().code, Code::kInvalidArgument);
    EXPECT_EQ(r.error().field, "max_age_seconds");
  }
  c.max_age_seconds = policy_.max_age_seconds;
  EXPECT_TRUE(create(admin_, svc.id, c).ok());
}

TEST_P(CredentialsTest, OnlyNonHumanNonRetiredIdentities) {
  Identity h = human();
  auto r = create(admin_, h.id, secret_spec());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Code::kUnprocessable);
  Identity a = agent(h.id);
  ASSERT_TRUE(move(admin_, a.id, State::kRetired).ok());
  EXPECT_EQ(create(admin_, a.id, secret_spec()).error().code, Code::kConflict);
  EXPECT_EQ(create(admin_, "svc_01JDQ3V6S7K2W8C0M4N5P6R7T8", secret_spec()).error().code,
            Code::kNotFound);
}

TEST_P(CredentialsTest, Rfc7638ThumbprintExample) {
  auto t = jwk_thumbprint(kRfc7638Rsa);
  ASSERT_TRUE(t.ok()) << t.error().message;
  EXPECT_EQ(*t, kRfc7638Thumbprint);
  // Optional members do not change it; RFC 8037 §A.3 for Ed25519.
  json bare = {{"e", "AQAB"}, {"kty", "RSA"}, {"n", kRfc7638Rsa["n"]}};
  EXPECT_EQ(jwk_thumbprint(bare).value(), kRfc7638Thumbprint);
  EXPECT_EQ(jwk_thumbprint(kOkp).value(), "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k");
  // Computed independently (Python: sha256 of the sorted compact JSON).
  EXPECT_EQ(jwk_thumbprint(kEc).value(), "cn-I_WNMClehiVp51i_0VpOENW1upEerA8sEam5hn-s");
}

TEST_P(CredentialsTest, RegistersValidPublicKeys) {
  Identity h = human();
  Identity svc = agent(h.id, State::kActive, Kind::kService);
  for (const json& key : {kRfc7638Rsa, kEc, kOkp}) {
    auto r = create(admin_, svc.id, jwk_spec(key));
    ASSERT_TRUE(r.ok()) << key.dump() << ": " << r.error().message;
    EXPECT_FALSE(r->secret);
    const Credential& c = r->credential;
    EXPECT_FALSE(c.secret_hash);
    EXPECT_EQ(c.jwk_thumbprint, jwk_thumbprint(key).value());
    // Stored compact, with only the known members.
    json stored = json::parse(*c.public_jwk);
    EXPECT_EQ(*c.public_jwk, stored.dump());
    EXPECT_EQ(stored, key);
    auto j = to_json(c, clock_.now());
    EXPECT_EQ(j["public_jwk"], key);
    EXPECT_EQ(j["jwk_thumbprint"], *c.jwk_thumbprint);
    EXPECT_EQ(j["type"], "jwk");
    EXPECT_EQ(j["active"], true);
    EXPECT_EQ(events_for(c.id)[0].details["jwk_thumbprint"], *c.jwk_thumbprint);
  }
  json extra = kOkp;
  extra["x5u"] = "https://example.com/x";
  extra["kid"] = "k1";
  // The same key twice on one identity is refused...
  auto dup = create(admin_, svc.id, jwk_spec(extra));
  ASSERT_FALSE(dup.ok());
  EXPECT_EQ(dup.error().code, Code::kConflict);
  // ... but fine on another identity; unknown members are dropped.
  Identity svc2 = agent(h.id, State::kActive, Kind::kService);
  auto r = create(admin_, svc2.id, jwk_spec(extra));
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(json::parse(*r->credential.public_jwk),
            json({{"kty", "OKP"}, {"crv", "Ed25519"}, {"x", kOkp["x"]}, {"kid", "k1"}}));
}

TEST_P(CredentialsTest, RefusesBadKeys) {
  Identity h = human();
  Identity svc = agent(h.id, State::kActive, Kind::kService);
  auto with = [](json key, const std::string& member, json value) {
    if (value.is_null())
      key.erase(member);
    else
      key[member] = value;
    return key;
  };
  const std::string rsa_2040 =
      base64url_encode(std::string(1, '\xc1') + std::string(253, 'A') + "\x01");
  const std::string rsa_2048_padded = base64url_encode(
      std::string(1, '\0') + std::string(1, '\xc1') + std::string(254, 'A') + "\x01");
  std::vector<json> bad = {
      json::array(),
      json("string"),
      json::object(),
      with(kEc, "d", "870MB6gfuTJ4HtUnUvYMyJpr5eUZNP4Bk43bVdj3eAE"),
      with(kOkp, "d", "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A"),
      with(kRfc7638Rsa, "p", "AQAB"),
      with(kRfc7638Rsa, "qi", "AQAB"),
      json({{"kty", "oct"}, {"k", "GawgguFyGrWKav7AX4VKUg"}}),
      with(kEc, "crv", "P-384"),
      with(kEc, "y", nullptr),
      with(kEc, "x", "MKBCTNIcKUSDii11ySs3526iDZ8AiTo7Tu6KPAqv7D4="),  // padded
      with(kEc, "x", "MKBCTNIcKUSDii11ySs3526iDZ8AiTo7Tu6KPAqv7D"),    // 31 bytes
      with(kEc, "y", "4Etl6SRW2YiLUrN5vfvVHuhp7x8PxltmWWlbbM4IFyA"),   // off the curve
      with(kEc, "x", 5),
      with(kEc, "alg", "RS256"),
      with(kEc, "use", "enc"),
      with(kOkp, "crv", "X25519"),
      with(kOkp, "x", "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHUR"),
      with(kRfc7638Rsa, "n", rsa_2040),
      with(kRfc7638Rsa, "e", "AAAA"),
      with(kRfc7638Rsa, "e", "Ag"),  // even
      with(kRfc7638Rsa, "e", nullptr),
      with(kRfc7638Rsa, "kty", "rsa"),
  };
  for (const json& key : bad) {
    auto r = create(admin_, svc.id, jwk_spec(key));
    ASSERT_FALSE(r.ok()) << key.dump();
    EXPECT_EQ(r.error().code, Code::kInvalidArgument) << key.dump();
    EXPECT_EQ(r.error().field, "public_jwk") << key.dump();
  }
  EXPECT_NE(create(admin_, svc.id, jwk_spec(bad[3])).error().message.find("\"d\""),
            std::string::npos);
  // A leading zero octet does not count towards the size.
  EXPECT_TRUE(create(admin_, svc.id, jwk_spec(with(kRfc7638Rsa, "n", rsa_2048_padded))).ok());

  NewCredential missing;
  missing.type = CredentialType::kJwk;
  EXPECT_EQ(create(admin_, svc.id, missing).error().field, "public_jwk");
  NewCredential secret_with_key = secret_spec();
  secret_with_key.public_jwk = kEc;
  EXPECT_EQ(create(admin_, svc.id, secret_with_key).error().field, "public_jwk");
  NewCredential long_description;
  long_description.description = std::string(2001, 'd');
  EXPECT_EQ(create(admin_, svc.id, long_description).error().field, "description");
}

TEST_P(CredentialsTest, RevocationIsIdempotentAndRecorded) {
  Identity h = human();
  Identity svc = agent(h.id);
  Credential c = create(admin_, svc.id, secret_spec()).value().credential;
  clock_.advance(kMicrosPerSecond);
  auto r = revoke(admin_, c.id);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->revoked_at, clock_.now());
  EXPECT_FALSE(r->active_at(clock_.now()));
  clock_.advance(kMicrosPerSecond);
  auto again = revoke(admin_, c.id);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->revoked_at, r->revoked_at);
  auto evs = events_for(c.id);
  ASSERT_EQ(evs.size(), 2u);
  EXPECT_EQ(evs[0].action, "credential.revoke");
  EXPECT_EQ(revoke(admin_, "crd_01JDQ3V6S7K2W8C0M4N5P6R7T8").error().code, Code::kNotFound);
  EXPECT_EQ(to_json(list(admin_, svc.id).value()[0], clock_.now())["active"], false);
}

TEST_P(CredentialsTest, RolesAreEnforced) {
  Identity me = human("Me");
  Identity them = human("Them");
  Identity mine = agent(me.id);
  Identity theirs = agent(them.id);
  Credential their_cred = create(admin_, theirs.id, secret_spec()).value().credential;
  const Principal owner = owner_of(me);

  EXPECT_EQ(create(auditor_, mine.id, secret_spec()).error().code, Code::kPermissionDenied);
  EXPECT_EQ(revoke(auditor_, their_cred.id).error().code, Code::kPermissionDenied);
  EXPECT_TRUE(list(auditor_, theirs.id).ok());

  auto made = create(owner, mine.id, secret_spec());
  ASSERT_TRUE(made.ok()) << made.error().message;
  EXPECT_EQ(made->credential.created_by, me.id);
  EXPECT_EQ(create(owner, theirs.id, secret_spec()).error().code, Code::kNotFound);
  EXPECT_EQ(revoke(owner, their_cred.id).error().code, Code::kNotFound);
  EXPECT_EQ(list(owner, theirs.id).error().code, Code::kNotFound);
  EXPECT_TRUE(revoke(owner, made->credential.id).ok());
}

}  // namespace
}  // namespace custody::directory
