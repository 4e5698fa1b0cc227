// Offline/online ES256 signing (crypto/ecdsa_presign.h): signatures made with precomputed nonces
// verify like any other, no nonce is ever used twice, the pool refills and falls back to the
// one-step signature when it is empty or off.
#include <gtest/gtest.h>

#include <chrono>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "crypto/ecdsa_presign.h"
#include "crypto/jwk.h"
#include "crypto_fixtures.h"

namespace custody::crypto {
namespace {

using testing::generate;

// The filler runs at SCHED_IDLE: on a machine busy with other tests it gets only leftover CPU,
// so waits are generous (a pair costs about 20 µs of CPU).
bool wait_until_ready(std::size_t n) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (presign::stats().ready < n) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return true;
}

// Starts a pool for one test and always stops it: the pool is process-wide.
class CryptoEcdsaPresign : public ::testing::Test {
 protected:
  void TearDown() override { presign::stop(); }
};

TEST_F(CryptoEcdsaPresign, OffSignsInOneStep) {
  ASSERT_FALSE(presign::running());
  Jwk key = generate(KeyType::kEcP256);
  auto before = presign::stats();
  auto sig = key.sign("header.payload");
  ASSERT_TRUE(sig.ok()) << sig.error().message;
  EXPECT_EQ(sig->size(), 64u);
  EXPECT_TRUE(key.verify("header.payload", *sig).ok());
  auto after = presign::stats();
  EXPECT_EQ(after.presigned, before.presigned);
  EXPECT_EQ(after.capacity, 0u);
  EXPECT_EQ(after.ready, 0u);
}

TEST_F(CryptoEcdsaPresign, PrecomputedSignaturesVerifyAndTamperingFails) {
  presign::start(64);
  ASSERT_TRUE(presign::running());
  ASSERT_TRUE(wait_until_ready(64));
  Jwk key = generate(KeyType::kEcP256);
  auto before = presign::stats();
  for (int i = 0; i < 20; ++i) {
    std::string input = "header.payload-" + std::to_string(i);
    auto sig = key.sign(input);
    ASSERT_TRUE(sig.ok()) << sig.error().message;
    ASSERT_EQ(sig->size(), 64u);
    // Verified by the one-step EVP path, through the key's public half only.
    Jwk pub = Jwk::parse_public(key.public_json()).value();
    EXPECT_TRUE(pub.verify(input, *sig).ok()) << i;
    EXPECT_EQ(pub.verify(input + "x", *sig).error().message, "signature verification failed");
    std::string flipped = *sig;
    flipped[40] ^= 1;  // a bit of S
    EXPECT_EQ(pub.verify(input, flipped).error().message, "signature verification failed");
  }
  auto after = presign::stats();
  EXPECT_EQ(after.presigned - before.presigned, 20u);
  EXPECT_EQ(after.fallback, before.fallback);
}

TEST_F(CryptoEcdsaPresign, PairsServeAnyKey) {
  presign::start(16);
  ASSERT_TRUE(wait_until_ready(16));
  Jwk a = generate(KeyType::kEcP256);
  Jwk b = generate(KeyType::kEcP256);
  auto before = presign::stats();
  auto sa = a.sign("m");
  auto sb = b.sign("m");
  ASSERT_TRUE(sa.ok() && sb.ok());
  EXPECT_EQ(presign::stats().presigned - before.presigned, 2u);
  EXPECT_TRUE(a.verify("m", *sa).ok());
  EXPECT_TRUE(b.verify("m", *sb).ok());
  EXPECT_FALSE(a.verify("m", *sb).ok());
  EXPECT_FALSE(b.verify("m", *sa).ok());
}

// A nonce used twice gives away the private key: R (the first half of the signature, k·G's x)
// must differ for every signature, also when many threads sign at once.
TEST_F(CryptoEcdsaPresign, NoNonceIsUsedTwice) {
  constexpr int kThreads = 4;
  constexpr int kEach = 150;
  presign::start(kThreads * kEach);
  ASSERT_TRUE(wait_until_ready(kThreads * kEach));
  Jwk key = generate(KeyType::kEcP256);
  auto before = presign::stats();
  std::mutex mu;
  std::set<std::string> rs;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) {
        auto sig = key.sign("same message");  // the same digest every time
        ASSERT_TRUE(sig.ok());
        ASSERT_TRUE(key.verify("same message", *sig).ok()) << t << "/" << i;
        std::lock_guard lock(mu);
        rs.insert(sig->substr(0, 32));
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(rs.size(), std::size_t(kThreads * kEach));
  auto after = presign::stats();
  EXPECT_EQ(after.presigned + after.fallback - before.presigned - before.fallback,
            std::uint64_t(kThreads * kEach));
}

TEST_F(CryptoEcdsaPresign, EmptyPoolFallsBackAndRefills) {
  presign::start(8);
  ASSERT_TRUE(wait_until_ready(8));
  Jwk key = generate(KeyType::kEcP256);
  auto before = presign::stats();
  // Far more signatures than pairs: the ones without a ready pair take one step.
  for (int i = 0; i < 200; ++i) {
    auto sig = key.sign("m" + std::to_string(i));
    ASSERT_TRUE(sig.ok());
    ASSERT_TRUE(key.verify("m" + std::to_string(i), *sig).ok());
  }
  auto after = presign::stats();
  EXPECT_EQ(after.presigned + after.fallback - before.presigned - before.fallback, 200u);
  EXPECT_GE(after.presigned - before.presigned, 8u);
  // Once at half or below, the filler brings the pool back to capacity (above half it waits).
  bool at_half = false;
  for (int i = 0; i < 100 && !at_half; ++i) {
    at_half = presign::stats().ready <= 4;
    if (!at_half) {
      ASSERT_TRUE(key.sign("more").ok());
    }
  }
  ASSERT_TRUE(at_half);
  EXPECT_TRUE(wait_until_ready(8));
  EXPECT_EQ(presign::stats().capacity, 8u);
}

TEST_F(CryptoEcdsaPresign, StopWipesThePoolAndSigningGoesOn) {
  presign::start(32);
  ASSERT_TRUE(wait_until_ready(32));
  presign::stop();
  EXPECT_FALSE(presign::running());
  auto stopped = presign::stats();
  EXPECT_EQ(stopped.ready, 0u);
  EXPECT_EQ(stopped.capacity, 0u);
  Jwk key = generate(KeyType::kEcP256);
  auto sig = key.sign("after stop");
  ASSERT_TRUE(sig.ok());
  EXPECT_TRUE(key.verify("after stop", *sig).ok());
  EXPECT_EQ(presign::stats().presigned, stopped.presigned);
  // And it starts again.
  presign::start(4);
  EXPECT_TRUE(wait_until_ready(4));
}

TEST_F(CryptoEcdsaPresign, OtherKeyTypesNeverTakeAPair) {
  presign::start(8);
  ASSERT_TRUE(wait_until_ready(8));
  auto before = presign::stats();
  for (KeyType type : {KeyType::kEd25519, KeyType::kRsa}) {
    Jwk key = generate(type);
    auto sig = key.sign("m");
    ASSERT_TRUE(sig.ok());
    EXPECT_TRUE(key.verify("m", *sig).ok());
  }
  auto after = presign::stats();
  EXPECT_EQ(after.presigned, before.presigned);
  EXPECT_EQ(after.fallback, before.fallback);
}

}  // namespace
}  // namespace custody::crypto
