// The audit Merkle log on both backends: dense leaves assigned in the writer's transaction, the
// commit hook that feeds the tree, signed heads, proofs, rebuild, retention, and `verify`
// against direct tampering with the database (modified, deleted, reordered, inserted events;
// recomputed leaf hashes; a rewritten store; a corrupted archive segment).
#include <gtest/gtest.h>

#include <future>

#include "../common/batch_gate.h"
#include "audit/archive.h"
#include "audit/canonical_event.h"
#include "audit/index.h"
#include "audit/log.h"
#include "audit/merkle.h"
#include "audit/verify.h"
#include "common/encoding.h"
#include "common/jcs.h"
#include "directory_fixture.h"

namespace custody::audit {
namespace {

using directory::testing::DirectoryTest;
using directory::testing::kT0;
using nlohmann::json;

class AuditLogTest : public DirectoryTest {
 protected:
  void TearDown() override {
    log_.reset();
    DirectoryTest::TearDown();
  }

  void open_log(LogOptions options = {}) {
    log_.reset();
    auto key = load_or_create_audit_key(*store_, kek_, clock_);
    ASSERT_TRUE(key.ok()) << key.error().message;
    auto log = AuditLog::open(*store_, *key, clock_, options);
    ASSERT_TRUE(log.ok()) << log.error().message;
    log_ = std::move(log).value();
  }

  Event event(int i) {
    Event e;
    e.time = kT0 + i;
    e.actor = "tok_admin";
    e.action = i % 2 ? "identity.update" : "identity.create";
    e.target = "agt_" + std::to_string(i);
    e.outcome = "success";
    e.request_id = "req_" + std::to_string(i);
    e.details = {{"n", i}};
    return e;
  }

  // Appends events [first, first + n), each in its own work (as requests do).
  void append_events(int first, int n) {
    for (int i = first; i < first + n; ++i) {
      auto r = write([&](store::Tx& tx) -> Result<Event> {
        Event e = event(i);
        CUSTODY_TRY(append(tx, e));
        return e;
      });
      ASSERT_TRUE(r.ok()) << r.error().message;
    }
  }

  void tamper(const std::string& sql) {
    Status st = store_->write_sync([&](store::Tx& tx) -> Status {
      CUSTODY_TRY(tx.exec(sql));
      return ok_status();
    });
    ASSERT_TRUE(st.ok()) << sql << ": " << st.error().message;
  }

  VerifyReport verify(VerifyOptions options = {}) {
    auto report = verify_log(*store_, options);
    EXPECT_TRUE(report.ok()) << report.error().message;
    return report.ok() ? *report : VerifyReport{};
  }

  // A log of 20 events with signed heads at 8 and 20.
  void signed_log() {
    open_log();
    append_events(0, 8);
    ASSERT_TRUE(log_->sign_head().ok());
    append_events(8, 12);
    clock_.advance(1000);
    ASSERT_TRUE(log_->sign_head().ok());
    ASSERT_TRUE(verify().ok());
  }

  crypto::KeyEncryptionKey kek_ = crypto::KeyEncryptionKey::generate();
  std::unique_ptr<AuditLog> log_;
};

CUSTODY_ON_BOTH_BACKENDS(AuditLogTest);

TEST_P(AuditLogTest, LeavesAreDenseAndHashTheCanonicalEvent) {
  append_events(0, 3);
  // A work that appends and then fails rolls its seq and leaf back: no gap, even on PostgreSQL.
  auto failed = write([&](store::Tx& tx) -> Result<int> {
    Event e = event(99);
    CUSTODY_TRY(append(tx, e));
    return Error::conflict("refused after appending");
  });
  ASSERT_FALSE(failed.ok());
  append_events(3, 2);
  auto all = events();
  ASSERT_EQ(all.size(), 5u);
  for (std::size_t i = 0; i < all.size(); ++i) {
    const Event& e = all[all.size() - 1 - i];  // newest first
    EXPECT_EQ(e.leaf_index, static_cast<std::int64_t>(i));
    EXPECT_EQ(e.seq, static_cast<std::int64_t>(i) + 1);
    EXPECT_EQ(e.leaf_hash, *event_leaf_hash(e));
  }
}

// Many works in one group commit: the counter is read once per batch and written back before
// COMMIT, a failed work in the middle gives its numbers back, prepared and inline appends mix,
// and the commit hook feeds the tree from the batch (no read) with the same result.
TEST_P(AuditLogTest, AppendsBatchedInOneCommitStayDenseAcrossFailedWorks) {
  open_log();
  append_events(0, 2);
  test_support::BatchGate gate(*store_, 8);
  for (int i = 1; i < 8; ++i) {
    const bool fails = i == 1 || i == 4 || i == 7;  // first, middle and last work fail
    const bool prepared = i % 2 == 0;
    auto ready = prepare(event(100 + i));
    ASSERT_TRUE(ready.ok()) << ready.error().message;
    gate.queue(
        static_cast<std::size_t>(i),
        [this, i, fails, prepared, p = std::move(ready).value()](store::Tx& tx) mutable -> Status {
          if (prepared) {
            CUSTODY_TRY(append(tx, p));
          } else {
            Event e = event(100 + i);
            CUSTODY_TRY(append(tx, e));
            Event second = event(200 + i);  // two events in one work
            CUSTODY_TRY(append(tx, second));
          }
          if (fails) return Error::conflict("refused after appending");
          return ok_status();
        });
  }
  gate.release();
  int kept = 0;
  for (int i = 0; i < 8; ++i) {
    Status st = gate.result(static_cast<std::size_t>(i));
    const bool fails = i == 1 || i == 4 || i == 7;
    EXPECT_EQ(st.ok(), !fails) << i;
    if (i > 0 && !fails) kept += i % 2 == 0 ? 1 : 2;
  }
  append_events(2, 1);  // the next batch continues from the written-back counter
  auto all = events();
  ASSERT_EQ(all.size(), static_cast<std::size_t>(3 + kept));
  for (std::size_t i = 0; i < all.size(); ++i) {
    const Event& e = all[all.size() - 1 - i];  // newest first
    EXPECT_EQ(e.leaf_index, static_cast<std::int64_t>(i));
    EXPECT_EQ(e.seq, static_cast<std::int64_t>(i) + 1);
    EXPECT_EQ(e.leaf_hash, *event_leaf_hash(e));
  }
  EXPECT_EQ(log_->size(), all.size());
  ASSERT_TRUE(log_->sign_head().ok());
  EXPECT_TRUE(verify().ok());
  const std::string live_root = log_->root();
  open_log();  // rebuilt from the store
  EXPECT_EQ(log_->root(), live_root);
}

// append_work prepares on the caller's thread; an event without a canonical form (a time beyond
// 2^53 µs cannot be repaired) becomes a work that fails and writes nothing.
TEST_P(AuditLogTest, AppendWorkRefusesWhatCannotBeCanonicalised) {
  open_log();
  ASSERT_TRUE(store_->write_sync(append_work(event(1))).ok());
  Event bad = event(2);
  bad.time = std::int64_t{1} << 60;
  Status refused = store_->write_sync(append_work(bad));
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, Code::kInvalidArgument);
  EXPECT_EQ(refused.error().field, "time");
  EXPECT_EQ(events().size(), 1u);
  EXPECT_EQ(log_->size(), 1u);
}

TEST(AuditCanonicalParts, HeadSeqTailAreTheCanonicalBytes) {
  Event e;
  e.seq = 1234567;
  e.id = "evt_x";
  e.time = kT0;
  e.actor = "tok_\u00e9\"q";
  e.action = "a";
  e.target = "t";
  e.details = {{"z", 1}, {"a", {1, 2}}};
  auto details = jcs::canonicalize(e.details);
  ASSERT_TRUE(details.ok());
  auto parts = canonical_event_parts(e, *details);
  ASSERT_TRUE(parts.ok()) << parts.error().message;
  EXPECT_EQ(parts->head + "1234567" + parts->tail, *canonical_event(e));
  EXPECT_EQ(merkle::leaf_hash({parts->head, "1234567", parts->tail}),
            merkle::leaf_hash(*canonical_event(e)));
}

TEST_P(AuditLogTest, UncanonicalisableValuesAreRepairedBeforeStoring) {
  auto r = write([&](store::Tx& tx) -> Result<Event> {
    Event e = event(0);
    e.actor = "tok_\xFF";
    e.details = {{"big", std::uint64_t{1} << 60}, {"bad\xC3", "x\xE2\x82"}};
    CUSTODY_TRY(append(tx, e));
    return e;
  });
  ASSERT_TRUE(r.ok()) << r.error().message;
  auto stored = events();
  ASSERT_EQ(stored.size(), 1u);
  EXPECT_EQ(stored[0].actor, "tok_\xEF\xBF\xBD");
  EXPECT_EQ(stored[0].details["big"], "1152921504606846976");
  EXPECT_EQ(stored[0].details["bad\xEF\xBF\xBD"], "x\xEF\xBF\xBD\xEF\xBF\xBD");
  EXPECT_EQ(stored[0].leaf_hash, *event_leaf_hash(stored[0]));
  EXPECT_TRUE(verify().ok());
}

TEST_P(AuditLogTest, AttributionFieldsAreStoredCoveredAndFiltered) {
  auto r = write([&](store::Tx& tx) -> Result<Event> {
    Event e = event(0);
    e.chain_root = "usr_root";
    e.delegation_id = "dlg_1";
    CUSTODY_TRY(append(tx, e));
    Event other = event(1);
    CUSTODY_TRY(append(tx, other));
    return e;
  });
  ASSERT_TRUE(r.ok()) << r.error().message;
  EventFilter f;
  f.chain_root = "usr_root";
  auto got = events(f);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].delegation_id, "dlg_1");
  f = {};
  f.delegation_id = "dlg_1";
  EXPECT_EQ(events(f).size(), 1u);
  Event changed = got[0];
  changed.chain_root = "usr_other";
  EXPECT_NE(*event_leaf_hash(changed), got[0].leaf_hash);
}

// A store upgraded to migration 0003 holds events without leaves; start-up gives them leaves in
// seq order (repairing what has no canonical form) before anything else is appended.
TEST_P(AuditLogTest, EventsFromBeforeTheMerkleLogGetLeavesAtStartUp) {
  for (int seq : {1, 2, 3}) {
    tamper(
        "INSERT INTO audit_events (seq, id, time, actor, action, target, outcome, request_id, "
        "details) VALUES (" +
        std::to_string(seq) + ", 'evt_old" + std::to_string(seq) +
        "', 1, 'tok_admin', 'identity.create', 'agt_1', 'success', 'req', "
        "'{ \"big\": 18014398509481985, \"ok\": true }')");
  }
  tamper("UPDATE audit_log_state SET last_seq = 3");  // what 0003 records on such a store
  ASSERT_TRUE(assign_missing_leaves(*store_).ok());
  ASSERT_TRUE(assign_missing_leaves(*store_).ok()) << "idempotent";
  append_events(0, 2);
  EventFilter asc;
  asc.ascending = true;
  auto all = events(asc);
  ASSERT_EQ(all.size(), 5u);
  for (std::size_t i = 0; i < all.size(); ++i) {
    EXPECT_EQ(all[i].seq, static_cast<std::int64_t>(i) + 1);
    EXPECT_EQ(all[i].leaf_index, static_cast<std::int64_t>(i));
  }
  EXPECT_EQ(all[0].details["big"], "18014398509481985") << "repaired before it got its leaf";
  open_log();
  EXPECT_EQ(log_->size(), 5u);
  ASSERT_TRUE(log_->sign_head().ok());
  VerifyReport r = verify();
  EXPECT_TRUE(r.ok()) << r.to_json().dump();
}

// Events from before 0003 may have gaps in seq (a PostgreSQL sequence skips on rollback), so
// seq − leaf_index is not one constant; leaves are still found through seq (leaf_seq.h): the
// tree is rebuilt, followed, and every leaf's inclusion proof is served.
TEST_P(AuditLogTest, LegacyGapsInSeqStillFindEveryLeaf) {
  for (int seq : {2, 5, 9}) {
    tamper(
        "INSERT INTO audit_events (seq, id, time, actor, action, target, outcome, request_id, "
        "details) VALUES (" +
        std::to_string(seq) + ", 'evt_old" + std::to_string(seq) +
        "', 1, 'tok_admin', 'identity.create', 'agt_1', 'success', 'req', '{}')");
  }
  tamper("UPDATE audit_log_state SET last_seq = 9");
  ASSERT_TRUE(assign_missing_leaves(*store_).ok());
  open_log();
  EXPECT_EQ(log_->size(), 3u);
  append_events(0, 300);  // seq 10.. → leaves 3..
  EXPECT_EQ(log_->size(), 303u);
  const std::string root = log_->root();
  open_log();  // rebuilt from the store
  EXPECT_EQ(log_->size(), 303u);
  EXPECT_EQ(log_->root(), root);
  EventFilter asc;
  asc.ascending = true;
  std::vector<std::string> leaves;
  for (const auto& e : events(asc)) leaves.push_back(e.leaf_hash);
  ASSERT_EQ(leaves.size(), 303u);
  Status st = store_->read([&](store::Tx& tx) -> Status {
    for (std::uint64_t i : {0u, 1u, 2u, 3u, 100u, 255u, 256u, 302u}) {
      CUSTODY_ASSIGN(auto proof, log_->inclusion_proof(tx, i, 303));
      CUSTODY_TRY(merkle::verify_inclusion(leaves[i], i, 303, proof, root));
    }
    return ok_status();
  });
  EXPECT_TRUE(st.ok()) << st.error().message;
  ASSERT_TRUE(log_->sign_head().ok());
  EXPECT_TRUE(verify().ok()) << verify().to_json().dump();
}

TEST_P(AuditLogTest, TreeFollowsCommitsAndProofsVerifyAgainstSignedHeads) {
  open_log();
  EXPECT_EQ(log_->size(), 0u);
  append_events(0, 5);
  EXPECT_EQ(log_->size(), 5u) << "the commit hook appends before the writer answers";
  auto h5 = log_->sign_head();
  ASSERT_TRUE(h5.ok() && *h5) << (h5.ok() ? "no head" : h5.error().message);
  EXPECT_TRUE(verify_tree_head(**h5, log_->key()).ok());
  append_events(5, 300);
  auto h305 = log_->sign_head();
  ASSERT_TRUE(h305.ok() && *h305);
  EXPECT_EQ((*h305)->tree_size, 305u);

  std::vector<std::string> leaves;
  EventFilter all;
  all.ascending = true;
  for (const auto& e : events(all)) leaves.push_back(e.leaf_hash);
  ASSERT_EQ(leaves.size(), 305u);
  EXPECT_EQ((*h305)->root_hash, merkle::root(leaves));

  Status st = store_->read([&](store::Tx& tx) -> Status {
    for (std::uint64_t i : {0u, 4u, 200u, 304u}) {
      CUSTODY_ASSIGN(auto proof, log_->inclusion_proof(tx, i, 305));
      CUSTODY_TRY(merkle::verify_inclusion(leaves[i], i, 305, proof, (*h305)->root_hash));
    }
    CUSTODY_ASSIGN(auto cons, log_->consistency_proof(tx, 5, 305));
    CUSTODY_TRY(merkle::verify_consistency(5, 305, (*h5)->root_hash, (*h305)->root_hash, cons));
    EXPECT_FALSE(log_->inclusion_proof(tx, 305, 305).ok());
    EXPECT_FALSE(log_->consistency_proof(tx, 5, 306).ok());
    return ok_status();
  });
  EXPECT_TRUE(st.ok()) << st.error().message;
}

TEST_P(AuditLogTest, RebuiltTreeEqualsTheLiveOne) {
  open_log();
  append_events(0, 40);
  const std::string root = log_->root();
  open_log();  // a restart
  EXPECT_EQ(log_->size(), 40u);
  EXPECT_EQ(log_->root(), root);
  append_events(40, 1);
  EXPECT_EQ(log_->size(), 41u);
}

TEST_P(AuditLogTest, TheSigningKeyIsStoredWrappedAndReloaded) {
  open_log();
  const std::string kid = log_->key().kid();
  auto again = load_or_create_audit_key(*store_, kek_, clock_);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->kid(), kid);
  auto other = crypto::KeyEncryptionKey::generate();
  EXPECT_FALSE(load_or_create_audit_key(*store_, other, clock_).ok()) << "wrong KEK must fail";
}

TEST_P(AuditLogTest, VerifyPassesOnAnIntactLog) {
  signed_log();
  VerifyReport r = verify();
  EXPECT_TRUE(r.ok()) << r.to_json().dump();
  EXPECT_EQ(r.leaves, 20u);
  EXPECT_EQ(r.heads, 2u);
}

TEST_P(AuditLogTest, DetailsAreStoredCanonicalAndOnlyTheirValueCounts) {
  signed_log();
  std::string text;
  ASSERT_TRUE(store_
                  ->read([&](store::Tx& tx) -> Status {
                    CUSTODY_ASSIGN(store::Rows rows,
                                   tx.query("SELECT details FROM audit_events WHERE seq = 5"));
                    text = rows.at(0).text(0);
                    return ok_status();
                  })
                  .ok());
  EXPECT_EQ(text, *jcs::canonicalize(json::parse(text)));
  Event e = event(4);
  EXPECT_EQ(*canonical_event_with_details(e, *jcs::canonicalize(e.details)), *canonical_event(e));
  // Re-spelling the same value (as events written before migration 0003 are) changes nothing.
  tamper("UPDATE audit_events SET details = '{ \"n\" : 4 }' WHERE seq = 5");
  EXPECT_TRUE(verify().ok());
  tamper("UPDATE audit_events SET details = '{\"n\":5}' WHERE seq = 5");
  VerifyReport r = verify();
  ASSERT_TRUE(r.problem);
  EXPECT_EQ(r.problem->kind, "modified");
  EXPECT_EQ(r.problem->seq, 5);
}

TEST_P(AuditLogTest, VerifyFindsAModifiedEvent) {
  signed_log();
  tamper("UPDATE audit_events SET actor = 'tok_innocent' WHERE seq = 6");
  VerifyReport r = verify();
  ASSERT_TRUE(r.problem);
  EXPECT_EQ(r.problem->kind, "modified");
  EXPECT_EQ(r.problem->leaf_index, 5);
  EXPECT_EQ(r.problem->seq, 6);
}

TEST_P(AuditLogTest, VerifyFindsADeletedEvent) {
  signed_log();
  tamper("DELETE FROM audit_events WHERE seq = 10");
  VerifyReport r = verify();
  ASSERT_TRUE(r.problem);
  EXPECT_EQ(r.problem->kind, "deleted");
  EXPECT_EQ(r.problem->leaf_index, 9);
  EXPECT_NE(r.problem->message.find("seq 9"), std::string::npos) << r.problem->message;
}

TEST_P(AuditLogTest, VerifyFindsTheNewestEventsDeleted) {
  signed_log();
  tamper("DELETE FROM audit_events WHERE seq >= 19");
  VerifyReport r = verify();
  ASSERT_TRUE(r.problem);
  EXPECT_EQ(r.problem->kind, "deleted");
  EXPECT_EQ(r.problem->leaf_index, 18);
}

TEST_P(AuditLogTest, VerifyFindsReorderedEvents) {
  signed_log();
  // Swap the seq of events 12 and 13 (leaves 11 and 12).
  tamper("UPDATE audit_events SET seq = -1 WHERE seq = 12");
  tamper("UPDATE audit_events SET seq = 12 WHERE seq = 13");
  tamper("UPDATE audit_events SET seq = 13 WHERE seq = -1");
  VerifyReport r = verify();
  ASSERT_TRUE(r.problem);
  EXPECT_EQ(r.problem->kind, "reordered");
  EXPECT_EQ(r.problem->leaf_index, 11);
  EXPECT_EQ(r.problem->seq, 13);
}

TEST_P(AuditLogTest, VerifyFindsAnInsertedEvent) {
  signed_log();
  // Make room at seq 4 by moving the later events up, then insert a forged event there.
  tamper("UPDATE audit_events SET seq = -seq WHERE seq >= 4");
  tamper("UPDATE audit_events SET seq = 1 - seq WHERE seq < 0");
  tamper(
      "INSERT INTO audit_events (seq, id, time, actor, action, target, outcome, request_id, "
      "details) VALUES (4, 'evt_forged', 1, 'tok_admin', 'identity.create', 'agt_x', 'success', "
      "'', '{}')");
  VerifyReport r = verify();
  ASSERT_TRUE(r.problem);
  EXPECT_EQ(r.problem->kind, "inserted");
  EXPECT_EQ(r.problem->event_id, "evt_forged");
  EXPECT_EQ(r.problem->seq, 4);
  EXPECT_EQ(r.problem->leaf_index, 3);
}

TEST_P(AuditLogTest, VerifyFindsAnEventInsertedWithATakenLeaf) {
  signed_log();
  // No index refuses a second event for a leaf (since 0013 there is none on leaf_index).
  tamper(
      "INSERT INTO audit_events (seq, id, time, actor, action, target, outcome, request_id, "
      "details, leaf_index, leaf_hash) VALUES (100, 'evt_dup', 1, 'tok_admin', 'x', '', "
      "'success', '', '{}', 7, '00')");
  VerifyReport r = verify();
  ASSERT_TRUE(r.problem);
  EXPECT_EQ(r.problem->kind, "inserted");
  EXPECT_EQ(r.problem->event_id, "evt_dup");
  EXPECT_EQ(r.problem->leaf_index, 7);
}

TEST_P(AuditLogTest, VerifyFindsRecomputedLeafHashesThroughTheSignedHeads) {
  signed_log();
  // A careful forger fixes the leaf hash too; the rows then agree, the signed heads do not.
  auto original = events();
  Event forged;
  for (const auto& e : original)
    if (e.seq == 15) forged = e;
  forged.actor = "tok_innocent";
  const std::string hash = hex_encode(*event_leaf_hash(forged));
  tamper("UPDATE audit_events SET actor = 'tok_innocent', leaf_hash = '" + hash +
         "' WHERE seq = 15");
  VerifyReport r = verify();
  ASSERT_TRUE(r.problem);
  EXPECT_EQ(r.problem->kind, "head_mismatch");
  EXPECT_EQ(r.problem->leaf_index, 8) << "the leaves after the last matching head (size 8)";
}

TEST_P(AuditLogTest, VerifyFindsAForgedHead) {
  signed_log();
  tamper("UPDATE audit_tree_heads SET time = time + 1 WHERE tree_size = 8");
  VerifyReport r = verify();
  ASSERT_TRUE(r.problem);
  EXPECT_EQ(r.problem->kind, "bad_signature");
}

TEST_P(AuditLogTest, ExternalHeadsCatchAWholeStoreRewrite) {
  signed_log();
  // What the witness kept: the head of size 20 with the public key.
  std::optional<TreeHead> head;
  ASSERT_TRUE(store_
                  ->read([&](store::Tx& tx) -> Status {
                    CUSTODY_ASSIGN(head, log_->latest_head(tx));
                    return ok_status();
                  })
                  .ok());
  json line = to_json(*head);
  line["public_jwk"] = log_->key().public_json();
  auto pinned = parse_pinned_heads(line.dump() + "\n");
  ASSERT_TRUE(pinned.ok()) << pinned.error().message;
  VerifyOptions options{*pinned};
  EXPECT_TRUE(verify(options).ok());

  // The attacker rewrites everything: events, hashes, a new key, newly signed heads.
  log_.reset();
  tamper("UPDATE audit_events SET actor = 'tok_innocent' WHERE seq = 3");
  Status st = store_->write_sync([&](store::Tx& tx) -> Status {
    CUSTODY_ASSIGN(store::Rows rows,
                   tx.query("SELECT " + std::string(kEventColumns) + " FROM audit_events"));
    for (const auto& row : rows) {
      CUSTODY_ASSIGN(Event e, event_from_row(row));
      CUSTODY_ASSIGN(std::string h, event_leaf_hash(e));
      CUSTODY_TRY(
          tx.exec("UPDATE audit_events SET leaf_hash = $1 WHERE seq = $2", {hex_encode(h), e.seq}));
    }
    CUSTODY_TRY(tx.exec("DELETE FROM audit_tree_heads"));
    CUSTODY_TRY(tx.exec("DELETE FROM audit_signing_keys"));
    return ok_status();
  });
  ASSERT_TRUE(st.ok()) << st.error().message;
  open_log();  // a new key
  ASSERT_TRUE(log_->sign_head().ok());
  EXPECT_TRUE(verify().ok()) << "internally consistent again";
  VerifyReport r = verify(options);
  ASSERT_TRUE(r.problem);
  EXPECT_EQ(r.problem->kind, "witness_mismatch");
}

// Archiving leaves the archived events' keys in audit_keys; filters join the live rows, so the
// archived events are no longer listed and the live ones still are.
TEST_P(AuditLogTest, ArchivingKeepsIndexedFiltersExact) {
  signed_log();
  auto indexed = index_pending(*store_, 10'000);
  ASSERT_TRUE(indexed.ok()) << indexed.error().message;
  EXPECT_EQ(*indexed, 20);
  ASSERT_TRUE(archive_expired(*store_, kT0 + 12, 20, 5, kT0).ok());
  EXPECT_TRUE(events_for("agt_3").empty());
  EXPECT_EQ(events_for("agt_15").size(), 1u);
  EventFilter f;
  f.actor = "tok_admin";
  EXPECT_EQ(events(f).size(), 8u);
  f.since = kT0 + 5;
  f.until = kT0 + 14;
  EXPECT_EQ(events(f).size(), 3u);  // 12, 13, 14
}

TEST_P(AuditLogTest, ArchivedEventsStayInTheTreeAndAreVerified) {
  signed_log();
  const std::string root = log_->root();
  // Events 0..11 are "old"; only leaves under the last signed head (20) may move.
  auto moved = archive_expired(*store_, kT0 + 12, 20, 5, kT0);
  ASSERT_TRUE(moved.ok()) << moved.error().message;
  EXPECT_EQ(*moved, 12);
  EXPECT_EQ(events().size(), 8u);
  VerifyReport r = verify();
  EXPECT_TRUE(r.ok()) << r.to_json().dump();
  EXPECT_EQ(r.archived_leaves, 12u);
  EXPECT_EQ(r.segments, 3u);

  open_log();  // rebuilt from segments and live rows
  EXPECT_EQ(log_->root(), root);
  Status st = store_->read([&](store::Tx& tx) -> Status {
    CUSTODY_ASSIGN(auto proof, log_->inclusion_proof(tx, 2, 20));
    StoreLeafHashes leaves(tx);
    CUSTODY_ASSIGN(auto leaf, leaves.hash(2));
    return merkle::verify_inclusion(leaf, 2, 20, proof, root);
  });
  EXPECT_TRUE(st.ok()) << st.error().message;

  // The proof endpoint finds archived events by seq.
  st = store_->read([&](store::Tx& tx) -> Status {
    CUSTODY_ASSIGN(Event archived, find_event(tx, 3));
    EXPECT_EQ(archived.leaf_index, 2);
    EXPECT_EQ(archived.leaf_hash, *event_leaf_hash(archived));
    CUSTODY_ASSIGN(Event live, find_event(tx, 15));
    EXPECT_EQ(live.leaf_index, 14);
    EXPECT_EQ(find_event(tx, 999).error().code, Code::kNotFound);
    return ok_status();
  });
  EXPECT_TRUE(st.ok()) << st.error().message;

  tamper("UPDATE audit_archive_segments SET events = 'AAAA' || events WHERE first_leaf = 5");
  r = verify();
  ASSERT_TRUE(r.problem);
  EXPECT_EQ(r.problem->kind, "segment_corrupted");
  EXPECT_EQ(r.problem->leaf_index, 5);
}

TEST(AuditArchive, CompressionRoundTripsAndRefusesTruncation) {
  const std::string text = R"({"a":1})"
                           "\n"
                           R"({"b":2})"
                           "\n";
  const std::string z = compress_segment(text);
  EXPECT_EQ(*decompress_segment(z), text);
  EXPECT_FALSE(decompress_segment(z.substr(0, z.size() - 3)).ok());
}

TEST(TreeHeadBytes, SigningInputIsThePinnedJcsObject) {
  TreeHead h;
  h.tree_size = 42;
  h.root_hash = std::string(32, '\x01');
  h.time = 1'790'000'000'123'456;
  h.key_id = "kid1";
  const std::string expected =
      R"({"key_id":"kid1","root_hash":"0101010101010101010101010101010101010101010101010101010101010101",)"
      R"("time":1790000000123456,"tree_size":42,"type":"custody.audit.tree_head.v1"})";
  EXPECT_EQ(tree_head_signing_input(h), expected);
  const json object = {{"type", "custody.audit.tree_head.v1"},
                       {"tree_size", 42},
                       {"time", h.time},
                       {"root_hash", hex_encode(h.root_hash)},
                       {"key_id", "kid1"}};
  EXPECT_EQ(*jcs::canonicalize(object), expected);
}

}  // namespace
}  // namespace custody::audit
