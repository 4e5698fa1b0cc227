// Audit log benchmarks (issue 5 targets):
//  - BM_DurableAppend: events appended into SQLite through the group-commit writer, each event
//    its own queued work (as requests do), durable (WAL, synchronous=FULL) and fed to the
//    in-memory Merkle tree by the commit hook; events/s sustained. Target ≥ 100,000/s.
//  - BM_DurableAppendIndexed: the same with the derived index's indexer thread running.
//  - BM_IndexCatchUp: the indexer deriving the filter index of events appended without it.
//  - BM_HashAndTreeAppend: canonical event + leaf hash + tree append, per event. Target ≤ 2 µs.
//  - BM_Verify: `custody audit verify` of a SQLite store of 1,000,000 events (leaf hashes
//    recomputed from the rows, tree rebuilt, heads checked). Target < 5 s.
//  - BM_InclusionProof: an inclusion proof in the 1,000,000-event log, leaf hashes below the
//    cache level read from SQLite. Target < 1 ms.
// The SQLite files live under $TMPDIR (default /tmp): its filesystem's fsync sets the pace.
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <stdexcept>

#include "audit/canonical_event.h"
#include "audit/events.h"
#include "audit/index.h"
#include "audit/log.h"
#include "audit/merkle_tree.h"
#include "audit/verify.h"
#include "crypto/key_wrap.h"
#include "store/store.h"
#include "temp_dir.h"

namespace custody::audit {
namespace {

namespace fs = std::filesystem;

constexpr Micros kT0 = 1'800'000'000LL * kMicrosPerSecond;
constexpr std::int64_t kBigLog = 1'000'000;

const fs::path& bench_dir() {
  static const bench::TempDir dir("audit-bench");
  return dir.path();
}

std::unique_ptr<store::Store> open_or_die(const std::string& url, int max_queued = 100'000) {
  store::StoreOptions o;
  o.url = url;
  o.max_queued_writes = max_queued;
  // Experiment: works per group commit (the server's store.max_batch).
  if (const char* batch = std::getenv("BENCH_MAX_BATCH")) o.max_batch = std::atoi(batch);
  auto r = store::open_store(o);
  if (!r.ok()) throw std::runtime_error("open_store: " + r.error().message);
  return std::move(r).value();
}

// A typical event: about 400 bytes of canonical JSON.
Event sample(std::int64_t i) {
  Event e;
  e.time = kT0 + i;
  e.actor = "tok_01JD8X7Y6Z5A4B3C2D1E0F9G8H";
  e.action = "credential.create";
  e.target = "crd_01JD8X7Y6Z5A4B3C2D1E0F9G" + std::to_string(i % 100);
  e.outcome = "success";
  e.request_id = "req_" + std::to_string(i);
  e.details = {{"identity_id", "agt_01JD8X7Y6Z5A4B3C2D1E0F9G8J"},
               {"type", "client_secret"},
               {"expires_at", kT0 + 86'400'000'000LL},
               {"description", "rotation for the billing agent"},
               {"scopes", {"billing:read", "billing:write"}}};
  return e;
}

Result<std::unique_ptr<AuditLog>> open_log(store::Store& store, const Clock& clock) {
  static const auto kek = crypto::KeyEncryptionKey::generate();
  CUSTODY_ASSIGN(auto key, load_or_create_audit_key(store, kek, clock));
  LogOptions options;
  options.sth_every_events = 1'000'000'000;  // heads are not what this measures
  return AuditLog::open(store, std::move(key), clock, options);
}

// range(0) events in works of range(1) events each. `with_indexer`: the derived index's indexer
// thread (audit/index.h) runs meanwhile and shares the writer, as in custodyd.
void durable_append(benchmark::State& state, bool with_indexer) {
  const std::int64_t events = state.range(0);
  const std::int64_t per_work = state.range(1);
  const std::int64_t works = (events + per_work - 1) / per_work;
  FixedClock clock(kT0);
  auto store = open_or_die("sqlite:" + (bench_dir() / ("append-" + std::to_string(events) + "-" +
                                                       std::to_string(per_work) + "-" +
                                                       std::to_string(with_indexer) + ".db"))
                                           .string(),
                           10'000'000);
  auto log = open_log(*store, clock);
  if (!log.ok()) throw std::runtime_error(log.error().message);
  if (const char* cache = std::getenv("BENCH_SQLITE_CACHE_KIB")) {
    // Experiment: a larger page cache on the writer connection.
    (void)store->write_sync([&](store::Tx& tx) -> Status {
      auto r = tx.exec("PRAGMA cache_size=-" + std::string(cache));
      return r.ok() ? ok_status() : Status(r.error());
    });
  }
  std::unique_ptr<AuditIndexer> indexer;
  if (with_indexer) {
    indexer = std::make_unique<AuditIndexer>(*store, AuditIndexer::Options{});
    indexer->start();
  }
  std::int64_t next = 0;
  for (auto _ : state) {
    std::mutex mu;
    std::condition_variable cv;
    std::int64_t done = 0, failed = 0;
    for (std::int64_t i = 0; i < events; i += per_work) {
      // Built and prepared here, as request handlers do, not on the writer thread.
      std::vector<PreparedEvent> batch;
      for (std::int64_t j = i; j < std::min(events, i + per_work); ++j) {
        auto prepared = prepare(sample(next + j));
        if (!prepared.ok()) throw std::runtime_error(prepared.error().message);
        batch.push_back(std::move(prepared).value());
      }
      store->write(
          [batch = std::move(batch)](store::Tx& tx) mutable -> Status {
            for (PreparedEvent& e : batch) CUSTODY_TRY(append(tx, e));
            return ok_status();
          },
          [&](Status s) {
            std::lock_guard lk(mu);
            ++done;
            if (!s.ok()) ++failed;
            if (done == works) cv.notify_one();
          });
    }
    std::unique_lock lk(mu);
    cv.wait(lk, [&] { return done == works; });
    if (failed) state.SkipWithError("appends failed");
    next += events;
  }
  if ((*log)->size() != static_cast<std::uint64_t>(next)) state.SkipWithError("tree lags");
  if (indexer) {
    // How far behind the indexer was when the appends ended.
    auto w = store->read([&](store::Tx& tx) -> Status {
      CUSTODY_ASSIGN(const std::int64_t through, indexed_through(tx));
      state.counters["index_lag_events"] = static_cast<double>(next - through);
      return ok_status();
    });
    (void)w;
    indexer->stop();
  }
  state.SetItemsProcessed(next);
  state.counters["events_per_s"] =
      benchmark::Counter(static_cast<double>(next), benchmark::Counter::kIsRate);
  log->reset();
  store->close();
}
void BM_DurableAppend(benchmark::State& state) {
  durable_append(state, false);
}
void BM_DurableAppendIndexed(benchmark::State& state) {
  durable_append(state, true);
}
BENCHMARK(BM_DurableAppendIndexed)
    ->Args({200'000, 1})
    ->Iterations(1)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK(BM_DurableAppend)
    ->Args({200'000, 1})
    ->Args({200'000, 10})
    ->Args({500'000, 100})
    ->Iterations(1)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

// Baseline for BM_DurableAppend: the same rows through the same group commit, without the audit
// log (no counter row, no leaf hash, no tree), into a table with the secondary indexes of
// audit_events selected by the bit mask range(1) (bit i: kIndexed[i]; 63 = all of them). Tells
// the store's cost from the log's, and each index's.
constexpr const char* kIndexed[] = {"target",     "actor",         "time",
                                    "chain_root", "delegation_id", "leaf_index"};
void BM_DurablePlainInsert(benchmark::State& state) {
  const std::int64_t events = state.range(0);
  const std::int64_t mask = state.range(1);
  auto store = open_or_die(
      "sqlite:" + (bench_dir() / ("plain-" + std::to_string(mask) + ".db")).string(), 10'000'000);
  Status created = store->write_sync([&](store::Tx& tx) -> Status {
    CUSTODY_TRY(tx.exec(
        "CREATE TABLE plain (seq INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, time BIGINT, "
        "actor TEXT, action TEXT, target TEXT, outcome TEXT, request_id TEXT, details TEXT, "
        "chain_root TEXT, delegation_id TEXT, leaf_index BIGINT, leaf_hash TEXT)"));
    for (int i = 0; i < 6; ++i) {
      if (mask & (1 << i))
        CUSTODY_TRY(tx.exec(std::string("CREATE INDEX plain_") + kIndexed[i] + " ON plain(" +
                            kIndexed[i] + ")"));
    }
    return ok_status();
  });
  if (!created.ok()) throw std::runtime_error(created.error().message);
  const std::string hash(64, 'a');
  for (auto _ : state) {
    std::mutex mu;
    std::condition_variable cv;
    std::int64_t done = 0;
    for (std::int64_t i = 0; i < events; ++i) {
      store->write(
          [i, &hash](store::Tx& tx) -> Status {
            Event e = sample(i);
            CUSTODY_TRY(tx.exec(
                "INSERT INTO plain (seq, id, time, actor, action, target, outcome, request_id, "
                "details, chain_root, delegation_id, leaf_index, leaf_hash) VALUES ($1, $2, $3, "
                "$4, $5, $6, $7, $8, $9, '', '', $1, $10)",
                {i + 1, "evt_" + std::to_string(1'000'000'000 + i), e.time, e.actor, e.action,
                 e.target, e.outcome, e.request_id, e.details.dump(), hash}));
            return ok_status();
          },
          [&](Status) {
            std::lock_guard lk(mu);
            if (++done == events) cv.notify_one();
          });
    }
    std::unique_lock lk(mu);
    cv.wait(lk, [&] { return done == events; });
  }
  state.counters["events_per_s"] =
      benchmark::Counter(static_cast<double>(events), benchmark::Counter::kIsRate);
  store->close();
}
BENCHMARK(BM_DurablePlainInsert)
    ->Args({200'000, 0})
    ->Args({200'000, 1})
    ->Args({200'000, 2})
    ->Args({200'000, 4})
    ->Args({200'000, 8})
    ->Args({200'000, 16})
    ->Args({200'000, 32})
    ->Args({200'000, 63})
    ->Iterations(1)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

// The indexer catching up: range(0) events appended without it (in large transactions, not
// timed), then index_pending in batches of range(1) until the watermark reaches the last event.
// Events/s indexed, each batch a durable group commit of its own.
void BM_IndexCatchUp(benchmark::State& state) {
  const std::int64_t events = state.range(0);
  const std::int64_t batch = state.range(1);
  auto store = open_or_die("sqlite:" +
                           (bench_dir() / ("catchup-" + std::to_string(batch) + ".db")).string());
  constexpr std::int64_t kChunk = 50'000;
  for (std::int64_t c = 0; c < events; c += kChunk) {
    Status st = store->write_sync([&](store::Tx& tx) -> Status {
      for (std::int64_t i = c; i < std::min(events, c + kChunk); ++i) {
        Event e = sample(i);
        CUSTODY_TRY(append(tx, e));
      }
      return ok_status();
    });
    if (!st.ok()) throw std::runtime_error(st.error().message);
  }
  std::int64_t indexed = 0;
  for (auto _ : state) {
    for (;;) {
      auto n = index_pending(*store, batch);
      if (!n.ok()) {
        state.SkipWithError(n.error().message.c_str());
        break;
      }
      if (*n == 0) break;
      indexed += *n;
    }
  }
  if (indexed != events) state.SkipWithError("the indexer did not reach the last event");
  state.SetItemsProcessed(indexed);
  state.counters["events_per_s"] =
      benchmark::Counter(static_cast<double>(indexed), benchmark::Counter::kIsRate);
  store->close();
}
BENCHMARK(BM_IndexCatchUp)
    ->Args({200'000, 10'000})
    ->Args({200'000, 1'000})
    ->Args({200'000, 512})
    ->Iterations(1)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

void BM_HashAndTreeAppend(benchmark::State& state) {
  std::vector<Event> events;
  for (int i = 0; i < 1024; ++i) {
    events.push_back(sample(i));
    events.back().seq = i + 1;
    events.back().id = "evt_01JD8X7Y6Z5A4B3C2D1E0F" + std::to_string(1000 + i);
  }
  MerkleTree tree;
  std::size_t i = 0;
  for (auto _ : state) {
    auto leaf = event_leaf_hash(events[i++ & 1023]);
    benchmark::DoNotOptimize(tree.append(*leaf));
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_HashAndTreeAppend);

// One SQLite store holding kBigLog events, written in large transactions.
store::Store& big_store() {
  static const std::unique_ptr<store::Store> store = [] {
    auto s = open_or_die("sqlite:" + (bench_dir() / "big.db").string());
    constexpr std::int64_t kChunk = 50'000;
    for (std::int64_t c = 0; c < kBigLog; c += kChunk) {
      Status st = s->write_sync([c](store::Tx& tx) -> Status {
        for (std::int64_t i = c; i < c + kChunk; ++i) {
          Event e = sample(i);
          CUSTODY_TRY(append(tx, e));
        }
        return ok_status();
      });
      if (!st.ok()) throw std::runtime_error(st.error().message);
    }
    return s;
  }();
  return *store;
}

void BM_Verify(benchmark::State& state) {
  store::Store& store = big_store();
  for (auto _ : state) {
    auto report = verify_log(store, {});
    if (!report.ok() || !report->ok() || report->leaves != static_cast<std::uint64_t>(kBigLog))
      state.SkipWithError("verify failed");
  }
  state.SetItemsProcessed(state.iterations() * kBigLog);
}
BENCHMARK(BM_Verify)->Iterations(2)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_InclusionProof(benchmark::State& state) {
  store::Store& store = big_store();
  FixedClock clock(kT0);
  // Rebuilt from the 1,000,000 stored leaf hashes, as custodyd does at start-up.
  const auto t0 = std::chrono::steady_clock::now();
  auto log = open_log(store, clock);
  if (!log.ok()) throw std::runtime_error(log.error().message);
  state.counters["rebuild_ms"] =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  std::uint64_t index = 12'345;
  for (auto _ : state) {
    Status st = store.read([&](store::Tx& tx) -> Status {
      CUSTODY_ASSIGN(auto proof, (*log)->inclusion_proof(tx, index, kBigLog));
      benchmark::DoNotOptimize(proof);
      return ok_status();
    });
    if (!st.ok()) state.SkipWithError(st.error().message.c_str());
    index = (index * 7919 + 1) % kBigLog;
  }
  log->reset();  // signs a head: while OpenSSL is still initialised, not at exit
}
BENCHMARK(BM_InclusionProof)->Unit(benchmark::kMicrosecond)->Iterations(2000);

}  // namespace
}  // namespace custody::audit

BENCHMARK_MAIN();
