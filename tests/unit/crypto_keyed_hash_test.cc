// SecretHasher: the pre-keyed HMAC-SHA-256 gives what a fresh HMAC gives (RFC 4231 vectors), for
// every key length, from many threads at once, and in its copies.
#include <gtest/gtest.h>

#include <atomic>
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

TEST(CryptoKeyedHash, Sha256KnownAnswersFromManyThreads) {
  // FIPS 180-2 vectors; sha256 fetches the digest once, then shares it across threads.
  const std::string abc = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
  const std::string empty = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
  const std::string two_blocks = "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1";
  std::vector<std::thread> threads;
  std::atomic<int> wrong{0};
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&] {
      for (int i = 0; i < 200; ++i) {
        if (hex_encode(sha256("abc")) != abc) ++wrong;
        if (hex_encode(sha256("")) != empty) ++wrong;
        if (hex_encode(sha256("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")) !=
            two_blocks)
          ++wrong;
      }
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(wrong.load(), 0);
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
