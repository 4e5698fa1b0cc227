// JWK parsing (public and private), export formats, RFC 7638 thumbprints, generation, key sets.
#include <gtest/gtest.h>

#include "common/encoding.h"
#include "crypto/jwk.h"
#include "crypto/jws.h"
#include "crypto_fixtures.h"

namespace custody::crypto {
namespace {

using nlohmann::json;
using testing::error_of;
using testing::generate;

json with(json key, const std::string& member, const json& value) {
  if (value.is_null())
    key.erase(member);
  else
    key[member] = value;
  return key;
}

TEST(CryptoJwk, Rfc7638ThumbprintExample) {
  auto key = Jwk::parse_public(testing::rfc7638_rsa());
  ASSERT_TRUE(key.ok()) << key.error().message;
  EXPECT_EQ(key->thumbprint(), testing::kRfc7638Thumbprint);
  EXPECT_EQ(key->kid(), "2011-04-29");
  EXPECT_EQ(key->alg_member(), "RS256");
  EXPECT_EQ(key->type(), KeyType::kRsa);
  EXPECT_FALSE(key->is_private());
  // Optional members do not change it.
  EXPECT_EQ(
      jwk_thumbprint(with(with(testing::rfc7638_rsa(), "kid", nullptr), "alg", nullptr)).value(),
      testing::kRfc7638Thumbprint);
}

TEST(CryptoJwk, Rfc8037Ed25519Thumbprint) {
  EXPECT_EQ(jwk_thumbprint(testing::rfc8037_public()).value(), testing::kRfc8037Thumbprint);
  // The private JWK has the same thumbprint: only the public members count.
  EXPECT_EQ(Jwk::parse_private(testing::rfc8037_private())->thumbprint(),
            testing::kRfc8037Thumbprint);
}

TEST(CryptoJwk, PublicParseRefusesEachPrivateMember) {
  for (const char* member : {"d", "p", "q", "dp", "dq", "qi", "k", "oth"}) {
    auto r = Jwk::parse_public(with(testing::rfc7638_rsa(), member, "AQAB"), "public_jwk");
    ASSERT_FALSE(r.ok()) << member;
    EXPECT_EQ(r.error().code, Code::kInvalidArgument);
    EXPECT_EQ(r.error().field, "public_jwk");
    EXPECT_EQ(r.error().message,
              std::string("public_jwk must be a public key: \"") + member + "\" is private");
  }
}

TEST(CryptoJwk, PrivateParseNeedsThePrivateMembers) {
  EXPECT_EQ(error_of(Jwk::parse_private(testing::rfc7515_a3_public())), "jwk needs \"d\"");
  EXPECT_EQ(error_of(Jwk::parse_private(testing::rfc8037_public())), "jwk needs \"d\"");
  EXPECT_EQ(error_of(Jwk::parse_private(with(testing::rfc7638_rsa(), "d", "AQAB"))),
            "jwk needs \"p\"");
  json oth = with(testing::rfc7638_rsa(), "oth", json::array());
  EXPECT_NE(error_of(Jwk::parse_private(oth)).find("multi-prime"), std::string::npos);
}

TEST(CryptoJwk, PrivateParseOfRfcKeys) {
  auto ec = Jwk::parse_private(testing::rfc7515_a3_private());
  ASSERT_TRUE(ec.ok()) << ec.error().message;
  EXPECT_TRUE(ec->is_private());
  EXPECT_EQ(ec->thumbprint(), Jwk::parse_public(testing::rfc7515_a3_public())->thumbprint());
  // The private export reproduces the input exactly.
  EXPECT_EQ(ec->private_json().value(), testing::rfc7515_a3_private());
  EXPECT_EQ(Jwk::parse_private(testing::rfc8037_private())->private_json().value(),
            testing::rfc8037_private());
}

TEST(CryptoJwk, PrivateMembersMustBelongToThePublicOnes) {
  // A valid P-256 scalar, but not the one for the A.3 point.
  json ec = with(testing::rfc7515_a3_private(), "d", "870MB6gfuTJ4HtUnUvYMyJpr5eUZNP4Bk43bVdj3eAE");
  EXPECT_EQ(error_of(Jwk::parse_private(ec)), "jwk \"d\" does not belong to \"x\" and \"y\"");
  json okp = with(testing::rfc8037_private(), "x", testing::rfc7515_a3_public()["x"]);
  EXPECT_EQ(error_of(Jwk::parse_private(okp)), "jwk \"x\" does not belong to \"d\"");
  // RSA: the CRT members of one generated key under the modulus of another.
  json a = generate(KeyType::kRsa).private_json().value();
  json b = generate(KeyType::kRsa).private_json().value();
  a["n"] = b["n"];
  EXPECT_EQ(error_of(Jwk::parse_private(a)),
            "jwk private members do not belong to \"n\" and \"e\"");
}

TEST(CryptoJwk, GeneratesEachTypeWithThumbprintKid) {
  for (KeyType type : {KeyType::kEcP256, KeyType::kEd25519, KeyType::kRsa}) {
    Jwk key = generate(type);
    EXPECT_TRUE(key.is_private());
    EXPECT_EQ(key.type(), type);
    EXPECT_EQ(key.alg(), alg_for(type));
    EXPECT_EQ(key.kid(), key.thumbprint());
    EXPECT_EQ(key.thumbprint().size(), 43u);
    // The public export parses back to the same key, without private members.
    json pub = key.public_json();
    for (const char* member : {"d", "p", "q", "dp", "dq", "qi"}) EXPECT_FALSE(pub.contains(member));
    auto reparsed = Jwk::parse_public(pub);
    ASSERT_TRUE(reparsed.ok()) << reparsed.error().message;
    EXPECT_EQ(reparsed->thumbprint(), key.thumbprint());
    EXPECT_EQ(reparsed->kid(), key.kid());
    // The private export round-trips too.
    auto priv = Jwk::parse_private(key.private_json().value());
    ASSERT_TRUE(priv.ok()) << priv.error().message;
    EXPECT_EQ(priv->thumbprint(), key.thumbprint());
    // A public key has no private export.
    EXPECT_FALSE(reparsed->private_json().ok());
  }
  EXPECT_EQ(generate(KeyType::kEcP256, "signing-1").kid(), "signing-1");
  EXPECT_EQ(Jwk::generate(KeyType::kRsa, {}, 1024).error().code, Code::kInvalidArgument);
  EXPECT_EQ(Jwk::generate(KeyType::kEcP256, std::string(257, 'k')).error().code,
            Code::kInvalidArgument);
}

TEST(CryptoJwk, EcExportKeepsFullLengthCoordinates) {
  // About one key in 128 has a coordinate below 2^248; its JWK member must still be 32 bytes
  // (RFC 7518 §6.2.1.2), or the thumbprint would differ from other implementations'.
  bool found = false;
  for (int i = 0; i < 5000 && !found; ++i) {
    Jwk key = generate(KeyType::kEcP256);
    json pub = key.public_json();
    for (const char* c : {"x", "y"}) {
      const std::string text = pub[c];
      ASSERT_EQ(text.size(), 43u);
      const std::string bytes = base64url_decode(text).value();
      ASSERT_EQ(bytes.size(), 32u);
      if (bytes[0] == '\0') found = true;
    }
    if (found) {
      EXPECT_EQ(Jwk::parse_public(pub)->thumbprint(), key.thumbprint());
    }
  }
  EXPECT_TRUE(found) << "no coordinate with a leading zero byte in 5000 keys";
}

TEST(CryptoJwk, RsaExportDropsLeadingZeros) {
  // RFC 7518 §6.3.1.1: n and e use the minimum number of octets. A key written with leading
  // zeros is accepted and exported (and thumbprinted) without them.
  const std::string n = base64url_decode(testing::rfc7638_rsa()["n"].get<std::string>()).value();
  json padded = with(testing::rfc7638_rsa(), "n", base64url_encode(std::string(1, '\0') + n));
  padded["e"] = base64url_encode(std::string("\0\x01\0\x01", 4));
  auto key = Jwk::parse_public(padded);
  ASSERT_TRUE(key.ok()) << key.error().message;
  EXPECT_EQ(key->public_json()["n"], testing::rfc7638_rsa()["n"]);
  EXPECT_EQ(key->public_json()["e"], "AQAB");
  EXPECT_EQ(key->thumbprint(), testing::kRfc7638Thumbprint);
  // Generated keys: n is exactly the modulus size, e is 65537.
  json pub = generate(KeyType::kRsa).public_json();
  EXPECT_EQ(base64url_decode(pub["n"].get<std::string>())->size(), 256u);
  EXPECT_EQ(pub["e"], "AQAB");
}

TEST(CryptoJwk, RefusesBadKeysWithReasons) {
  const json ec = testing::rfc7515_a3_public();
  const json okp = testing::rfc8037_public();
  const json rsa = testing::rfc7638_rsa();
  const std::string rsa_2040 =
      base64url_encode(std::string(1, '\xc1') + std::string(253, 'A') + "\x01");
  const std::string rsa_2047 =
      base64url_encode(std::string(1, '\x41') + std::string(254, 'A') + "\x01");
  const std::vector<std::pair<json, std::string>> cases = {
      {json::array(), "jwk must be a JSON object"},
      {json::object(), "jwk needs \"kty\""},
      {json{{"kty", "oct"}}, "jwk kty must be EC, OKP or RSA"},
      {with(ec, "kty", 1), "jwk \"kty\" must be a string"},
      {with(ec, "crv", "P-384"), "jwk EC keys must use crv P-256"},
      {with(ec, "y", nullptr), "jwk needs \"y\""},
      {with(ec, "x", ec["x"].get<std::string>() + "="), "jwk \"x\" is not unpadded base64url"},
      // Same bytes as "...VEU" but with non-zero unused bits: not the canonical encoding.
      {with(ec, "x", "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEV"),
       "jwk \"x\" is not unpadded base64url"},
      {with(ec, "x", "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVQ"), "jwk \"x\" must be 32 bytes"},
      {with(ec, "y", "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a4"), "jwk is not a point on P-256"},
      {with(ec, "alg", "RS256"), "jwk \"alg\" is not a signature algorithm for EC keys"},
      {with(ec, "alg", "none"), "jwk \"alg\" is not a signature algorithm for EC keys"},
      {with(ec, "use", "enc"), "jwk \"use\" must be sig"},
      {with(ec, "kid", ""), "jwk \"kid\" must be 1 to 256 bytes"},
      {with(ec, "kid", "a\nb"), "jwk \"kid\" must be printable ASCII"},
      {with(okp, "crv", "X25519"), "jwk OKP keys must use crv Ed25519"},
      {with(rsa, "n", rsa_2040), "jwk RSA keys must have at least 2048 bits"},
      {with(rsa, "n", rsa_2047), "jwk RSA keys must have at least 2048 bits"},
      {with(rsa, "e", "AAAA"), "jwk \"e\" is not a valid RSA exponent"},
      {with(rsa, "e", "Ag"), "jwk \"e\" is not a valid RSA exponent"},
      {with(rsa, "e", "AQ"), "jwk \"e\" is not a valid RSA exponent"},
  };
  for (const auto& [key, message] : cases) {
    auto r = Jwk::parse_public(key);
    ASSERT_FALSE(r.ok()) << key.dump();
    EXPECT_EQ(r.error().code, Code::kInvalidArgument) << key.dump();
    EXPECT_EQ(r.error().field, "jwk");
    EXPECT_EQ(r.error().message, message) << key.dump();
  }
}

TEST(CryptoJwk, AllowsOnlyItsAlgorithm) {
  Jwk ec = Jwk::parse_public(testing::rfc7515_a3_public()).value();
  EXPECT_TRUE(ec.allows(Alg::kES256));
  EXPECT_FALSE(ec.allows(Alg::kRS256));
  EXPECT_FALSE(ec.allows(Alg::kEdDSA));
  // The fully-specified name Ed25519 is EdDSA with that curve.
  EXPECT_TRUE(
      Jwk::parse_public(with(testing::rfc8037_public(), "alg", "Ed25519"))->allows(Alg::kEdDSA));
  // A key registered for PS256 is not usable for RS256.
  Jwk ps = Jwk::parse_public(with(testing::rfc7638_rsa(), "alg", "PS256")).value();
  EXPECT_FALSE(ps.allows(Alg::kRS256));
}

TEST(CryptoJwk, WithKidSharesTheKey) {
  Jwk key = generate(KeyType::kEd25519);
  auto renamed = key.with_kid("k2");
  ASSERT_TRUE(renamed.ok());
  EXPECT_EQ(renamed->kid(), "k2");
  EXPECT_EQ(renamed->thumbprint(), key.thumbprint());
  EXPECT_EQ(renamed->pkey(), key.pkey());
  EXPECT_FALSE(key.with_kid("").ok());
}

TEST(CryptoJwkSet, ParseSkipsKeysItCannotUse) {
  Jwk ec = generate(KeyType::kEcP256);
  json jwks = {{"keys",
                {ec.public_json(),
                 {{"kty", "oct"}, {"k", "GawgguFyGrWKav7AX4VKUg"}},
                 with(testing::rfc8037_public(), "use", "enc"),
                 testing::rfc7515_a3_private(),
                 "not a key"}}};
  auto set = JwkSet::parse(jwks);
  ASSERT_TRUE(set.ok()) << set.error().message;
  ASSERT_EQ(set->keys().size(), 1u);
  EXPECT_EQ(set->find(ec.kid())->thumbprint(), ec.thumbprint());
  EXPECT_EQ(set->find("other"), nullptr);
  EXPECT_EQ(set->to_json()["keys"][0], ec.public_json());
}

TEST(CryptoJwkSet, RefusesMalformedSets) {
  EXPECT_EQ(error_of(JwkSet::parse(json::array())), "jwks must be a JSON object");
  EXPECT_EQ(error_of(JwkSet::parse(json{{"keys", 1}})), "jwks needs a \"keys\" array");
  Jwk a = generate(KeyType::kEcP256, "same");
  Jwk b = generate(KeyType::kEd25519, "same");
  EXPECT_EQ(error_of(JwkSet::parse(json{{"keys", {a.public_json(), b.public_json()}}})),
            "jwks: two keys share the kid \"same\"");
  json many = json{{"keys", json::array()}};
  for (std::size_t i = 0; i <= JwkSet::kMaxKeys; ++i) many["keys"].push_back(a.public_json());
  EXPECT_EQ(error_of(JwkSet::parse(many)), "jwks has more than 64 keys");
}

}  // namespace
}  // namespace custody::crypto
