// The derived audit index (audit/index.h) on both backends: list() returns exactly what a scan of
// every event returns, for every filter, both orders and every page, whether the index is empty,
// partial (the watermark inside the log, inside a time block) or complete; after a restart with
// an unindexed tail; after the index is rebuilt from zero; and while the indexer thread runs.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <functional>
#include <thread>

#include "audit/index.h"
#include "directory_fixture.h"

namespace custody::audit {
namespace {

using directory::testing::DirectoryTest;
using directory::testing::kT0;

constexpr int kEvents = 90;

class AuditIndexTest : public DirectoryTest {
 protected:
  // Event i: few actors, some targets empty, a delegation on some, and times that are not in
  // seq order (requests take their time before they queue).
  Event event(int i) {
    Event e;
    e.time = kT0 + (i / 3) * 1000 + (2 - i % 3) * 10;
    e.actor = "tok_" + std::to_string(i % 4);
    e.action = i % 5 ? "identity.update" : "identity.create";
    e.target = i % 7 == 0 ? "" : "agt_" + std::to_string(i % 6);
    e.outcome = i % 11 == 0 ? "conflict" : "success";
    e.request_id = "req_" + std::to_string(i);
    if (i % 3 == 0) {
      e.chain_root = "usr_" + std::to_string(i % 2);
      e.delegation_id = "dlg_" + std::to_string(i % 9);
    }
    return e;
  }

  void append_all() {
    for (int i = 0; i < kEvents; ++i) {
      auto r = write([&](store::Tx& tx) -> Result<Event> {
        Event e = event(i);
        CUSTODY_TRY(append(tx, e));
        return e;
      });
      ASSERT_TRUE(r.ok()) << r.error().message;
      all_.push_back(*r);
    }
  }

  std::int64_t watermark() {
    auto w = read([](store::Tx& tx) { return indexed_through(tx); });
    EXPECT_TRUE(w.ok()) << w.error().message;
    return w.ok() ? *w : -1;
  }

  // What list() must return: every event matching `f`, in its order, by plain evaluation.
  std::vector<std::int64_t> expected(const EventFilter& f) const {
    std::vector<std::int64_t> out;
    for (const Event& e : all_) {
      if ((f.actor && e.actor != *f.actor) || (f.target && e.target != *f.target) ||
          (f.action && e.action != *f.action) || (f.outcome && e.outcome != *f.outcome) ||
          (f.chain_root && e.chain_root != *f.chain_root) ||
          (f.delegation_id && e.delegation_id != *f.delegation_id) ||
          (f.since && e.time < *f.since) || (f.until && e.time > *f.until))
        continue;
      out.push_back(e.seq);
    }
    if (!f.ascending) std::reverse(out.begin(), out.end());
    return out;
  }

  // Every page of list(f) with page size `limit`, following the cursors.
  std::vector<std::int64_t> paged(EventFilter f, int limit) {
    f.limit = limit;
    std::vector<std::int64_t> out;
    for (int pages = 0; pages < 1000; ++pages) {
      auto p = read([&](store::Tx& tx) { return list(tx, f); });
      EXPECT_TRUE(p.ok()) << p.error().message;
      if (!p.ok()) break;
      EXPECT_LE(p->items.size(), static_cast<std::size_t>(limit));
      for (const auto& e : p->items) out.push_back(e.seq);
      if (!p->next_cursor) break;
      EventFilter c;
      EXPECT_TRUE(apply_cursor(*p->next_cursor, c).ok());
      f.before_seq = c.before_seq;
      f.after_seq = c.after_seq;
    }
    return out;
  }

  std::vector<EventFilter> filters() const {
    std::vector<EventFilter> fs;
    auto add = [&fs](const std::function<void(EventFilter&)>& set) {
      for (bool asc : {false, true}) {
        EventFilter f;
        set(f);
        f.ascending = asc;
        fs.push_back(f);
      }
    };
    add([](EventFilter&) {});
    add([](EventFilter& f) { f.actor = "tok_1"; });
    add([](EventFilter& f) { f.target = "agt_2"; });
    add([](EventFilter& f) { f.target = ""; });
    add([](EventFilter& f) { f.chain_root = "usr_0"; });
    add([](EventFilter& f) { f.chain_root = ""; });
    add([](EventFilter& f) { f.delegation_id = "dlg_3"; });
    add([](EventFilter& f) { f.action = "identity.create"; });
    add([](EventFilter& f) { f.outcome = "conflict"; });
    add([](EventFilter& f) { f.actor = "tok_2", f.target = "agt_4"; });
    add([](EventFilter& f) { f.actor = "tok_nobody"; });
    add([](EventFilter& f) { f.since = kT0 + 5000, f.until = kT0 + 12'010; });
    add([](EventFilter& f) { f.since = kT0 + 20'005; });
    add([](EventFilter& f) { f.until = kT0 + 3010; });
    add([](EventFilter& f) { f.since = kT0 + 99'000'000; });
    add([](EventFilter& f) { f.actor = "tok_3", f.since = kT0 + 7000, f.until = kT0 + 25'000; });
    add([](EventFilter& f) { f.delegation_id = "dlg_0", f.chain_root = "usr_1"; });
    return fs;
  }

  // Every filter, both orders, in pages of 1, 7 and 1000, against plain evaluation.
  void expect_exact(const std::string& when) {
    for (const EventFilter& f : filters()) {
      const auto want = expected(f);
      for (int limit : {1, 7, 1000}) {
        EXPECT_EQ(paged(f, limit), want)
            << when << ", watermark " << watermark() << ", limit " << limit << ", actor "
            << f.actor.value_or("-") << ", target " << f.target.value_or("-") << ", since "
            << f.since.value_or(-1) << ", until " << f.until.value_or(-1)
            << (f.ascending ? ", asc" : ", desc");
      }
    }
  }

  std::vector<Event> all_;
};

CUSTODY_ON_BOTH_BACKENDS(AuditIndexTest);

TEST_P(AuditIndexTest, ListIsExactWhereverTheWatermarkIs) {
  append_all();
  EXPECT_EQ(watermark(), 0);
  expect_exact("nothing indexed");
  // Batches of 37: the watermark stops inside the log (and inside a key's run of events).
  auto n = index_pending(*store_, 37);
  ASSERT_TRUE(n.ok()) << n.error().message;
  EXPECT_EQ(*n, 37);
  EXPECT_EQ(watermark(), all_[36].seq);
  expect_exact("first batch indexed");
  ASSERT_EQ(*index_pending(*store_, 37), 37);
  expect_exact("two batches indexed");
  ASSERT_EQ(*index_pending(*store_, 37), kEvents - 74);
  EXPECT_EQ(watermark(), all_.back().seq);
  EXPECT_EQ(*index_pending(*store_, 37), 0) << "caught up";
  expect_exact("everything indexed");
}

TEST_P(AuditIndexTest, IndexHoldsEveryKeyAndTimeOnce) {
  append_all();
  ASSERT_EQ(*index_pending(*store_, 10'000), kEvents);
  std::size_t keys = 0;
  for (const Event& e : all_)
    keys += index_keys(e.actor, e.target, e.chain_root, e.delegation_id).size();
  auto rows = read([](store::Tx& tx) {
    return tx.query("SELECT COUNT(*), MIN(seq), MAX(seq) FROM audit_keys");
  });
  ASSERT_TRUE(rows.ok()) << rows.error().message;
  EXPECT_EQ((*rows)[0].integer(0), static_cast<std::int64_t>(keys));
  auto blocks = read([](store::Tx& tx) {
    return tx.query("SELECT first_seq, min_time, max_time FROM audit_time_blocks");
  });
  ASSERT_TRUE(blocks.ok());
  ASSERT_EQ(blocks->size(), 1u);  // 90 events: one block of 4096 seqs
  EXPECT_EQ((*blocks)[0].integer(0), 1);
  Micros lo = all_[0].time, hi = all_[0].time;
  for (const Event& e : all_) lo = std::min(lo, e.time), hi = std::max(hi, e.time);
  EXPECT_EQ((*blocks)[0].integer(1), lo);
  EXPECT_EQ((*blocks)[0].integer(2), hi);
}

// The index is derived data: from zero it is rebuilt to the same rows, and answers stay exact.
TEST_P(AuditIndexTest, RebuildFromZeroGivesTheSameIndex) {
  append_all();
  ASSERT_EQ(*index_pending(*store_, 50), 50);
  Status st = store_->write_sync([](store::Tx& tx) -> Status {
    CUSTODY_TRY(tx.exec("UPDATE audit_index_state SET indexed_through_seq = 0"));
    return ok_status();
  });
  ASSERT_TRUE(st.ok());
  expect_exact("watermark reset, old keys left behind");
  ASSERT_EQ(*index_pending(*store_, 10'000), kEvents);
  expect_exact("rebuilt");
}

// custodyd stopped with events the indexer had not reached: after a restart they are listed at
// once (read directly above the watermark), and the indexer thread catches up.
TEST_P(AuditIndexTest, RestartWithAnUnindexedTail) {
  append_all();
  ASSERT_EQ(*index_pending(*store_, 40), 40);
  const std::string url = GetParam() == "sqlite"
                              ? "sqlite:" + dir_ + "/custody.db"
                              : directory::testing::with_database(pg_admin_, pg_db_);
  store_->close();
  store_.reset();
  store::StoreOptions options;
  options.url = url;
  auto reopened = store::open_store(options);
  ASSERT_TRUE(reopened.ok()) << reopened.error().message;
  store_ = std::move(reopened).value();
  EXPECT_EQ(watermark(), all_[39].seq);
  expect_exact("restarted, tail unindexed");

  AuditIndexer indexer(*store_, {.batch_events = 16, .poll_ms = 5});
  indexer.start();
  for (int i = 0; i < 400 && watermark() != all_.back().seq; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_EQ(watermark(), all_.back().seq);
  // New events while it runs are listed at once too.
  for (int i = kEvents; i < kEvents + 5; ++i) {
    auto r = write([&](store::Tx& tx) -> Result<Event> {
      Event e = event(i);
      CUSTODY_TRY(append(tx, e));
      return e;
    });
    ASSERT_TRUE(r.ok());
    all_.push_back(*r);
  }
  expect_exact("indexer running");
  indexer.stop();
  indexer.stop();  // idempotent
}

}  // namespace
}  // namespace custody::audit
