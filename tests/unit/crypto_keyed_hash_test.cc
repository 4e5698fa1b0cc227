// SecretHasher: the pre-keyed HMAC-SHA-256 gives what a fresh HMAC gives (RFC 4231 vectors), for
// every key length, from many threads at once, and in its copies.
#include <gtest/gtest.h>

#include <thread>
#include <vector>

#include "common/encoding.h"
#include "crypto/keyed_hash.h"

namespace custody::crypto {
namespace {

TEST(CryptoKeyedHash, Rfc4231TestCase2) {
  SecretHasher hasher("Jefe");
  EXPECT_EQ(hasher.hash_hex("what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

TEST(CryptoKeyedHash, SameAsAFreshHmacForEveryKeyLength) {
  // Empty, short, one block (64 bytes) and longer than a block (hashed first).
  for (std::size_t n : {0, 1, 32, 63, 64, 65, 200}) {
    std::string key(n, 'k');
    SecretHasher hasher(key);
    for (const std::string& secret :
         std::vector<std::string>{"", "cs_abc", std::string(1000, 's')}) {
      EXPECT_EQ(hasher.hash_hex(secret), hex_encode(hmac_sha256(key, secret))) << n;
      EXPECT_TRUE(hasher.matches(secret, hex_encode(hmac_sha256(key, secret))));
      EXPECT_FALSE(hasher.matches(secret + "x", hex_encode(hmac_sha256(key, secret))));
    }
  }
}

TEST(CryptoKeyedHash, CopiesAndThreadsAgree) {
  SecretHasher original("server secret");
  SecretHasher copy = original;
  const std::string expected = hex_encode(hmac_sha256("server secret", "cs_value"));
  std::vector<std::thread> threads;
  std::vector<int> wrong(4, 0);
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < 2000; ++i)
        if ((t % 2 ? copy : original).hash_hex("cs_value") != expected) ++wrong[t];
    });
  for (auto& th : threads) th.join();
  for (int w : wrong) EXPECT_EQ(w, 0);
}

}  // namespace
}  // namespace custody::crypto
