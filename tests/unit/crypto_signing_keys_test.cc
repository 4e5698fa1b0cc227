// SigningKeys: install, rotate with overlap, prune, JWKS document, and a concurrency smoke test
// (readers sign and verify while a writer rotates).
#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

#include "common/clock.h"
#include "crypto/jwt.h"
#include "crypto/signing_keys.h"
#include "crypto_fixtures.h"

namespace custody::crypto {
namespace {

using nlohmann::json;
using testing::error_of;
using testing::generate;

SigningKey signing_key(std::string kid, Micros created = 0) {
  return SigningKey{generate(KeyType::kEcP256, std::move(kid)), created};
}

TEST(CryptoSigningKeys, EmptyUntilInstalled) {
  SigningKeys keys;
  EXPECT_EQ(keys.current(), nullptr);
  EXPECT_EQ(keys.find("x"), nullptr);
  EXPECT_EQ(keys.jwks(), R"({"keys":[]})");
  EXPECT_TRUE(keys.snapshot()->verification_keys.empty());
}

TEST(CryptoSigningKeys, InstallPublishesPublicKeysOnly) {
  SigningKeys keys;
  ASSERT_TRUE(keys.install(signing_key("k2"), {signing_key("k1")}).ok());
  EXPECT_EQ(keys.current()->key.kid(), "k2");
  EXPECT_EQ(keys.find("k1")->key.kid(), "k1");
  json jwks = json::parse(keys.jwks());
  ASSERT_EQ(jwks["keys"].size(), 2u);
  EXPECT_EQ(jwks["keys"][0]["kid"], "k2");
  for (const json& k : jwks["keys"]) {
    EXPECT_EQ(k["alg"], "ES256");
    EXPECT_EQ(k["use"], "sig");
    EXPECT_FALSE(k.contains("d"));
    EXPECT_TRUE(Jwk::parse_public(k).ok());
  }
}

TEST(CryptoSigningKeys, InstallRefusesUnusableSets) {
  SigningKeys keys;
  Jwk pub = Jwk::parse_public(generate(KeyType::kEcP256, "p").public_json()).value();
  EXPECT_EQ(error_of(keys.install(SigningKey{pub}, {})), "a signing key must be private");
  EXPECT_EQ(error_of(keys.install(signing_key("same"), {signing_key("same")})),
            "two keys share the kid \"same\"");
  // A refused install leaves the published set as it was.
  EXPECT_EQ(keys.current(), nullptr);
}

TEST(CryptoSigningKeys, RotationKeepsTheOldKeyUntilItsTokensExpire) {
  SigningKeys keys;
  ASSERT_TRUE(keys.install(signing_key("k1"), {}).ok());
  FixedClock clock(1'000 * kMicrosPerSecond);
  const std::string old_token =
      jwt_sign(json{{"iss", "i"}, {"aud", "a"}, {"exp", 1'600}}, keys.current()->key, "at+jwt")
          .value();

  ASSERT_TRUE(keys.rotate(signing_key("k2"), 1'600 * kMicrosPerSecond).ok());
  EXPECT_EQ(keys.current()->key.kid(), "k2");
  EXPECT_EQ(keys.find("k1")->not_after, 1'600 * kMicrosPerSecond);
  EXPECT_EQ(json::parse(keys.jwks())["keys"].size(), 2u);

  // Tokens of the old key still verify against the current snapshot.
  JwtPolicy policy;
  policy.issuer = "i";
  policy.audience = "a";
  policy.types = {"at+jwt"};
  EXPECT_TRUE(jwt_verify(old_token, keys.snapshot()->verification_keys, policy, clock).ok());

  keys.prune(1'600 * kMicrosPerSecond);  // not yet past not_after
  EXPECT_NE(keys.find("k1"), nullptr);
  keys.prune(1'600 * kMicrosPerSecond + 1);
  EXPECT_EQ(keys.find("k1"), nullptr);
  EXPECT_EQ(json::parse(keys.jwks())["keys"].size(), 1u);
  EXPECT_EQ(error_of(jwt_verify(old_token, keys.snapshot()->verification_keys, policy, clock)),
            "no key with kid \"k1\"");
  // A rotation to an existing kid is refused.
  EXPECT_FALSE(keys.rotate(signing_key("k2"), 0).ok());
}

TEST(CryptoSigningKeys, ConcurrentReadersDuringRotation) {
  SigningKeys keys;
  ASSERT_TRUE(keys.install(signing_key("k0"), {}).ok());
  std::atomic<bool> stop{false};
  std::atomic<int> failures{0};
  std::atomic<long> signatures{0};
  std::vector<std::thread> readers;
  for (int t = 0; t < 4; ++t) {
    readers.emplace_back([&] {
      while (!stop.load()) {
        // One snapshot: the key that signs is in the set that verifies, whatever the writer does.
        auto snap = keys.snapshot();
        const Jwk& key = snap->current->key;
        auto token = jws_sign(json{{"kid", key.kid()}}, "{}", key);
        if (!token.ok() || !jws_verify(*token, snap->verification_keys).ok()) ++failures;
        if (keys.find(key.kid()) == nullptr && keys.snapshot() == snap) ++failures;
        if (json::parse(keys.jwks())["keys"].empty()) ++failures;
        ++signatures;
      }
    });
  }
  Micros now = 0;
  for (int i = 1; i <= 40; ++i) {
    ASSERT_TRUE(keys.rotate(signing_key("k" + std::to_string(i)), now + 5).ok());
    now += 2;
    keys.prune(now);
    std::this_thread::yield();
  }
  stop = true;
  for (auto& r : readers) r.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_GT(signatures.load(), 0);
  EXPECT_EQ(keys.current()->key.kid(), "k40");
  // Keys retired at most 5 µs ago (two or three) are still there; older ones were pruned.
  EXPECT_LE(keys.snapshot()->previous.size(), 3u);
}

}  // namespace
}  // namespace custody::crypto
