// Streams and the SET outbox in the store (src/ssf/streams.h, emitter.h), on both backends:
// enqueue() queues only for streams subscribed to the event's type and not disabled, in the
// caller's transaction; a stream's SETs come out in queue order; acks, failures and retries;
// pausing holds and disabling drops; stream requests are validated.
#include <gtest/gtest.h>

#include "common/ids.h"
#include "directory_fixture.h"
#include "ssf/emitter.h"
#include "ssf/set.h"
#include "ssf/streams.h"

namespace custody::ssf {
namespace {

using directory::testing::DirectoryTest;
using directory::testing::kT0;
using nlohmann::json;

class SsfOutboxTest : public DirectoryTest {
 protected:
  Stream make_stream(const std::string& owner, std::vector<std::string> events,
                     std::string method = std::string(kPollMethod)) {
    Stream s;
    s.id = new_id("ssf", kT0);
    s.owner = owner;
    s.iss = "https://custody.example";
    s.aud = owner;
    json body = {{"events_requested", events}, {"delivery", {{"method", method}}}};
    if (method == kPushMethod) body["delivery"]["endpoint_url"] = "http://127.0.0.1:9/x";
    Status applied = apply_stream_request(s, body, Change::kCreate);
    EXPECT_TRUE(applied.ok()) << applied.error().message;
    s.created_at = s.updated_at = kT0;
    auto r = write([&](store::Tx& tx) -> Result<bool> {
      CUSTODY_TRY(insert_stream(tx, s));
      return true;
    });
    EXPECT_TRUE(r.ok()) << r.error().message;
    return s;
  }

  CaepEvent revoked(const std::string& who) {
    CaepEvent e;
    e.type = "session-revoked";
    e.subject = {{"format", "opaque"}, {"id", who}};
    e.event_timestamp = kT0;
    e.initiating_entity = "admin";
    e.reason_admin = "suspended";
    e.txn = "req-" + who;
    return e;
  }

  Status emit(const CaepEvent& e) {
    auto r = write([&](store::Tx& tx) -> Result<bool> {
      CUSTODY_TRY(enqueue(tx, e));
      return true;
    });
    return r.ok() ? ok_status() : Status(r.error());
  }

  std::vector<QueuedSet> pending(const std::string& stream, std::int64_t limit = 100) {
    auto r = read([&](store::Tx& tx) { return pending_sets(tx, stream, limit); });
    EXPECT_TRUE(r.ok()) << r.error().message;
    return r.ok() ? *r : std::vector<QueuedSet>{};
  }
};

TEST_P(SsfOutboxTest, EnqueueOnlyForSubscribedTypes) {
  Stream revocations = make_stream("rp1", {caep_uri("session-revoked")});
  Stream devices = make_stream("rp2", {caep_uri("device-compliance-change")});
  ASSERT_TRUE(emit(revoked("agt_1")).ok());
  auto a = pending(revocations.id);
  ASSERT_EQ(a.size(), 1u);
  EXPECT_TRUE(pending(devices.id).empty());
  const json& claims = a[0].claims;
  EXPECT_EQ(claims["iss"], "https://custody.example");
  EXPECT_EQ(claims["aud"], "rp1");
  EXPECT_EQ(claims["txn"], "req-agt_1");
  EXPECT_EQ(claims["jti"], a[0].jti);
  EXPECT_EQ(claims["sub_id"]["id"], "agt_1");
  EXPECT_FALSE(claims.contains("sub"));
  EXPECT_FALSE(claims.contains("exp"));
  json event = claims["events"][caep_uri("session-revoked")];
  EXPECT_EQ(event["reason_admin"], json({{"en", "suspended"}}));
  EXPECT_EQ(event["initiating_entity"], "admin");

  // Full URIs are accepted too; no stream subscribed is a no-op.
  CaepEvent device = revoked("dev_1");
  device.type = caep_uri("device-compliance-change");
  device.extra = {{"previous_status", "compliant"}, {"current_status", "not-compliant"}};
  ASSERT_TRUE(emit(device).ok());
  EXPECT_EQ(pending(devices.id).size(), 1u);
  EXPECT_EQ(pending(revocations.id).size(), 1u);
  CaepEvent nobody = revoked("x");
  nobody.type = "credential-change";
  EXPECT_TRUE(emit(nobody).ok());

  // A malformed event is refused (and so is the caller's transaction).
  CaepEvent bad = revoked("y");
  bad.subject = "agt_1";
  EXPECT_EQ(emit(bad).error().code, Code::kInvalidArgument);
}

TEST_P(SsfOutboxTest, EnqueueCommitsWithTheCallersTransaction) {
  Stream s = make_stream("rp", {caep_uri("session-revoked")});
  auto r = write([&](store::Tx& tx) -> Result<bool> {
    CUSTODY_TRY(enqueue(tx, revoked("agt_1")));
    return Error::conflict("the caller's change failed");
  });
  EXPECT_FALSE(r.ok());
  EXPECT_TRUE(pending(s.id).empty());
}

TEST_P(SsfOutboxTest, SetsComeOutInQueueOrderAndAcksSettle) {
  Stream s = make_stream("rp", {caep_uri("session-revoked")});
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(emit(revoked("agt_" + std::to_string(i))).ok());
  auto all = pending(s.id);
  ASSERT_EQ(all.size(), 5u);
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(all[i].claims["sub_id"]["id"], "agt_" + std::to_string(i));
    if (i > 0) {
      EXPECT_LT(all[i - 1].seq, all[i].seq);
    }
  }
  EXPECT_EQ(pending(s.id, 2).size(), 2u);
  auto skipped = read([&](store::Tx& tx) { return pending_sets(tx, s.id, 2, {all[0].jti}); });
  ASSERT_TRUE(skipped.ok());
  ASSERT_EQ(skipped->size(), 2u);
  EXPECT_EQ((*skipped)[0].jti, all[1].jti);

  auto settled = write([&](store::Tx& tx) -> Result<bool> {
    CUSTODY_TRY(mark_delivered(tx, s.id, all[0].jti, kT0));
    CUSTODY_TRY(mark_delivered(tx, s.id, all[0].jti, kT0));  // acknowledged twice: fine
    CUSTODY_TRY(mark_failed(tx, s.id, all[1].jti, "invalid_key: no", kT0));
    CUSTODY_TRY(mark_retry(tx, s.id, all[2].jti, "connection refused", kT0 + 5));
    CUSTODY_TRY(mark_delivered(tx, s.id, "set_unknown", kT0));
    return true;
  });
  ASSERT_TRUE(settled.ok()) << settled.error().message;
  auto left = pending(s.id);
  ASSERT_EQ(left.size(), 3u);
  EXPECT_EQ(left[0].jti, all[2].jti);
  EXPECT_EQ(left[0].attempts, 1);
  EXPECT_EQ(left[0].next_attempt_at, kT0 + 5);
  auto failed = read([&](store::Tx& tx) { return set_state(tx, s.id, all[1].jti); });
  ASSERT_TRUE(failed.ok() && failed->has_value());
  EXPECT_EQ((*failed)->state, "failed");
  EXPECT_EQ((*failed)->last_error, "invalid_key: no");

  // Settled SETs are purged once old enough; pending ones never.
  auto none = write([&](store::Tx& tx) { return purge_settled(tx, kT0); });
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(*none, 0);
  auto purged = write([&](store::Tx& tx) { return purge_settled(tx, kT0 + 1); });
  ASSERT_TRUE(purged.ok());
  EXPECT_EQ(*purged, 2);
  EXPECT_EQ(pending(s.id).size(), 3u);
  auto gone = read([&](store::Tx& tx) { return set_state(tx, s.id, all[0].jti); });
  ASSERT_TRUE(gone.ok());
  EXPECT_FALSE(gone->has_value());
}

TEST_P(SsfOutboxTest, PausedHoldsDisabledDrops) {
  Stream s = make_stream("rp", {caep_uri("session-revoked")});
  auto status = [&](const std::string& to) {
    auto r = write([&](store::Tx& tx) -> Result<bool> {
      auto found = find_stream(tx, s.id);
      if (!found.ok()) return found.error();
      Stream stream = **found;
      CUSTODY_TRY(set_stream_status(tx, stream, to, "test", kT0));
      return true;
    });
    EXPECT_TRUE(r.ok()) << r.error().message;
  };
  status("paused");
  ASSERT_TRUE(emit(revoked("agt_1")).ok());
  auto held = pending(s.id);
  ASSERT_EQ(held.size(), 2u);  // stream-updated (paused), then the event
  EXPECT_EQ(held[0].event_type, ssf_uri("stream-updated"));
  EXPECT_EQ(held[0].claims["events"][ssf_uri("stream-updated")]["status"], "paused");
  EXPECT_EQ(held[0].claims["sub_id"], json({{"format", "opaque"}, {"id", s.id}}));
  EXPECT_EQ(held[1].event_type, caep_uri("session-revoked"));

  status("disabled");
  EXPECT_TRUE(pending(s.id).empty());
  ASSERT_TRUE(emit(revoked("agt_2")).ok());
  EXPECT_TRUE(pending(s.id).empty());
  status("enabled");
  auto after = pending(s.id);
  ASSERT_EQ(after.size(), 1u);
  EXPECT_EQ(after[0].claims["events"][ssf_uri("stream-updated")]["status"], "enabled");
}

TEST_P(SsfOutboxTest, VerificationEventsNameTheStream) {
  Stream s = make_stream("rp", {});
  auto r = write([&](store::Tx& tx) -> Result<bool> {
    CUSTODY_TRY(queue_verification(tx, s, std::string("abc"), kT0));
    return true;
  });
  ASSERT_TRUE(r.ok());
  auto sets = pending(s.id);
  ASSERT_EQ(sets.size(), 1u);
  EXPECT_EQ(sets[0].claims["sub_id"], json({{"format", "opaque"}, {"id", s.id}}));
  EXPECT_EQ(sets[0].claims["events"][ssf_uri("verification")], json({{"state", "abc"}}));
}

TEST_P(SsfOutboxTest, StreamRequestsAreValidated) {
  Stream s;
  EXPECT_TRUE(apply_stream_request(s, json::object(), Change::kCreate).ok());
  EXPECT_EQ(s.method, kPollMethod);
  EXPECT_TRUE(s.events_delivered.empty());

  Stream p;
  ASSERT_TRUE(apply_stream_request(
                  p,
                  {{"delivery",
                    {{"method", kPushMethod},
                     {"endpoint_url", "https://rp.example/ssf"},
                     {"authorization_header", "Bearer x"}}},
                   {"events_requested", {caep_uri("session-revoked"), "urn:example:unknown"}},
                   {"description", "d"}},
                  Change::kCreate)
                  .ok());
  EXPECT_EQ(p.endpoint_url, "https://rp.example/ssf");
  EXPECT_EQ(p.authorization_header, "Bearer x");
  EXPECT_EQ(p.events_delivered, std::vector<std::string>{caep_uri("session-revoked")});
  json shown = stream_json(p);
  EXPECT_FALSE(shown["delivery"].contains("authorization_header"));

  for (const json& bad :
       {json{{"delivery", {{"method", "urn:nope"}}}}, json{{"delivery", {{"method", kPushMethod}}}},
        json{{"delivery", {{"method", kPushMethod}, {"endpoint_url", "ftp://x"}}}},
        json{{"events_requested", {"not a uri"}}}, json{{"aud", 3}}, json{{"colour", "red"}}}) {
    Stream t;
    EXPECT_EQ(apply_stream_request(t, bad, Change::kCreate).error().code, Code::kInvalidArgument)
        << bad.dump();
  }
}

CUSTODY_ON_BOTH_BACKENDS(SsfOutboxTest);

}  // namespace
}  // namespace custody::ssf
