// The push worker's bookkeeping (src/ssf/transmitter.h) against a receiver that is not there: a
// failed attempt is retried only when due, holds the stream's later SETs behind it, and after
// ssf.push_max_attempts the SET is failed (and audited) so that the stream moves on. Delivery to
// a live receiver is covered by tests/api/ssf_test.cc.
#include <gtest/gtest.h>

#include "common/ids.h"
#include "crypto/jws.h"
#include "crypto/signing_keys.h"
#include "directory_fixture.h"
#include "ssf/set.h"
#include "ssf/streams.h"
#include "ssf/transmitter.h"

namespace custody::ssf {
namespace {

using directory::testing::DirectoryTest;
using directory::testing::kT0;
using nlohmann::json;

class SsfTransmitterTest : public DirectoryTest {
 protected:
  void SetUp() override {
    DirectoryTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    auto key = crypto::Jwk::generate(crypto::KeyType::kEcP256, "k1");
    ASSERT_TRUE(key.ok());
    ASSERT_TRUE(keys_.install(crypto::SigningKey{*key, kT0}, {}).ok());
  }

  Stream push_stream(const std::string& url) {
    Stream s;
    s.id = new_id("ssf", kT0);
    s.owner = "rp";
    s.iss = "https://custody.example";
    s.aud = "rp";
    Status applied = apply_stream_request(
        s, {{"delivery", {{"method", kPushMethod}, {"endpoint_url", url}}}}, Change::kCreate);
    EXPECT_TRUE(applied.ok()) << applied.error().message;
    auto r = write([&](store::Tx& tx) -> Result<bool> {
      CUSTODY_TRY(insert_stream(tx, s));
      CUSTODY_TRY(queue_verification(tx, s, std::string("one"), kT0));
      CUSTODY_TRY(queue_verification(tx, s, std::string("two"), kT0));
      return true;
    });
    EXPECT_TRUE(r.ok()) << r.error().message;
    return s;
  }

  std::vector<QueuedSet> pending(const std::string& stream) {
    auto r = read([&](store::Tx& tx) { return pending_sets(tx, stream, 100); });
    EXPECT_TRUE(r.ok());
    return r.ok() ? *r : std::vector<QueuedSet>{};
  }

  crypto::SigningKeys keys_;
};

TEST_P(SsfTransmitterTest, RetriesWhenDueInOrderThenGivesUp) {
  SsfConfig config;
  config.push_max_attempts = 2;
  config.push_retry_base_ms = 10;
  config.push_timeout_ms = 2000;
  Transmitter transmitter(*store_, keys_, clock_, config);
  // Port 1 on loopback: nothing listens, the connection is refused at once.
  Stream s = push_stream("http://127.0.0.1:1/events");

  EXPECT_EQ(transmitter.push_once(), 0u);
  auto after_one = pending(s.id);
  ASSERT_EQ(after_one.size(), 2u);
  EXPECT_EQ(after_one[0].attempts, 1);
  EXPECT_EQ(after_one[0].next_attempt_at, kT0 + 10'000);
  EXPECT_EQ(after_one[1].attempts, 0);  // waits behind the first: order is kept

  // Not due yet: nothing is attempted.
  EXPECT_EQ(transmitter.push_once(), 0u);
  EXPECT_EQ(pending(s.id)[0].attempts, 1);

  // Due: the second attempt is the last one; the SET is failed and the next one is tried.
  clock_.advance(10'000);
  EXPECT_EQ(transmitter.push_once(), 1u);
  auto left = pending(s.id);
  ASSERT_EQ(left.size(), 1u);
  EXPECT_EQ(left[0].jti, after_one[1].jti);
  EXPECT_EQ(left[0].attempts, 1);
  auto state = read([&](store::Tx& tx) { return set_state(tx, s.id, after_one[0].jti); });
  ASSERT_TRUE(state.ok() && state->has_value());
  EXPECT_EQ((*state)->state, "failed");
  EXPECT_NE((*state)->last_error.find("gave up after 2 attempts"), std::string::npos)
      << (*state)->last_error;
  auto failed = events_for(s.id);
  ASSERT_EQ(failed.size(), 1u);
  EXPECT_EQ(failed[0].action, "ssf.set.failed");
  EXPECT_EQ(failed[0].details["jti"], after_one[0].jti);
}

TEST_P(SsfTransmitterTest, PausedStreamsAreNotPushed) {
  Transmitter transmitter(*store_, keys_, clock_, SsfConfig{});
  Stream s = push_stream("http://127.0.0.1:1/events");
  auto r = write([&](store::Tx& tx) -> Result<bool> {
    CUSTODY_TRY(set_stream_status(tx, s, "paused", "", kT0));
    return true;
  });
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(transmitter.push_once(), 0u);
  for (const auto& set : pending(s.id)) EXPECT_EQ(set.attempts, 0);
}

TEST_P(SsfTransmitterTest, SignsWithTheCurrentKey) {
  Transmitter transmitter(*store_, keys_, clock_, SsfConfig{});
  auto jwt = transmitter.sign({{"iss", "x"}});
  ASSERT_TRUE(jwt.ok());
  auto snapshot = keys_.snapshot();
  auto verified = crypto::jws_verify(*jwt, snapshot->verification_keys);
  ASSERT_TRUE(verified.ok()) << verified.error().message;
  EXPECT_EQ(verified->header["kid"], "k1");
  EXPECT_EQ(verified->header["typ"], "secevent+jwt");

  crypto::SigningKeys none;
  Transmitter keyless(*store_, none, clock_, SsfConfig{});
  EXPECT_EQ(keyless.sign(json::object()).error().code, Code::kUnavailable);
}

CUSTODY_ON_BOTH_BACKENDS(SsfTransmitterTest);

}  // namespace
}  // namespace custody::ssf
