// Store benchmarks: SQLite point reads by primary key over 100k identities, and group-commit
// write throughput with many concurrent writers (SQLite always; PostgreSQL when
// CUSTODY_TEST_PG_URL_FILE names a URL file, see tests/scripts/pg-cluster.sh). The SQLite files
// live in a fresh directory under $TMPDIR (default /tmp): its filesystem's fsync sets the pace.
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <stdexcept>
#include <string>

#include "store/store.h"
#include "temp_dir.h"

namespace custody::store {
namespace {

namespace fs = std::filesystem;

constexpr int kIdentities = 100'000;

const fs::path& bench_dir() {
  static const bench::TempDir dir("store-bench");
  return dir.path();
}

std::unique_ptr<Store> open_or_die(const std::string& url) {
  StoreOptions o;
  o.url = url;
  auto r = open_store(o);
  if (!r.ok()) throw std::runtime_error("open_store(" + url + "): " + r.error().message);
  return std::move(r).value();
}

std::string identity_id(int i) {
  return "agt_" + std::to_string(1'000'000 + i);
}

// One SQLite store holding kIdentities rows, shared by every point-read run.
Store& read_store() {
  static const std::unique_ptr<Store> store = [] {
    auto s = open_or_die("sqlite:" + (bench_dir() / "read.db").string());
    constexpr int kChunk = 5'000;
    for (int base = 0; base < kIdentities; base += kChunk) {
      Status st = s->write_sync([base](Tx& tx) -> Status {
        for (int i = base; i < base + kChunk; ++i) {
          CUSTODY_TRY(
              tx.exec("INSERT INTO identities (id, kind, display_name, state, version, "
                      "created_at, updated_at) VALUES ($1, 'agent', $1, 'active', 1, "
                      "$2, $2)",
                      {identity_id(i), std::int64_t{i}}));
        }
        return ok_status();
      });
      if (!st.ok()) throw std::runtime_error("populate: " + st.error().message);
    }
    return s;
  }();
  return *store;
}

void BM_SqlitePointRead(benchmark::State& state) {
  Store& s = read_store();
  std::mt19937 rng(static_cast<unsigned>(state.thread_index()) + 1);
  std::uniform_int_distribution<int> pick(0, kIdentities - 1);
  for (auto _ : state) {
    const std::string id = identity_id(pick(rng));
    Status st = s.read([&](Tx& tx) -> Status {
      CUSTODY_ASSIGN(Rows rows, tx.query("SELECT id, kind, display_name, state, version FROM "
                                         "identities WHERE id = $1",
                                         {id}));
      if (rows.size() != 1) return Error::internal("row missing");
      benchmark::DoNotOptimize(rows);
      return ok_status();
    });
    if (!st.ok()) state.SkipWithError(st.error().message.c_str());
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_SqlitePointRead)->Threads(1)->Threads(4)->UseRealTime();

std::string pg_url() {
  const char* file = std::getenv("CUSTODY_TEST_PG_URL_FILE");
  if (file == nullptr) return {};
  std::ifstream in(file);
  std::string url;
  std::getline(in, url);
  return url;
}

// Stores for the write benchmarks, opened once and kept for the process.
Store* write_store(bool postgres) {
  static const std::unique_ptr<Store> lite =
      open_or_die("sqlite:" + (bench_dir() / "write.db").string());
  if (!postgres) return lite.get();
  static const std::unique_ptr<Store> pg = [] {
    const std::string url = pg_url();
    return url.empty() ? nullptr : open_or_die(url);
  }();
  return pg.get();
}

// Every thread commits one audit event per iteration and waits for it: with N threads up to N
// works share each COMMIT (and its fsync).
void BM_GroupCommitWrite(benchmark::State& state, bool postgres) {
  Store* s = write_store(postgres);
  if (s == nullptr) {
    state.SkipWithError("PostgreSQL not configured (CUSTODY_TEST_PG_URL_FILE)");
    return;
  }
  static std::atomic<std::int64_t> next{0};
  const std::string prefix = "evt_" + std::to_string(getpid()) + "_";
  const StoreStats before = s->stats();
  for (auto _ : state) {
    const std::string id = prefix + std::to_string(next.fetch_add(1));
    Status st = s->write_sync([&](Tx& tx) -> Status {
      CUSTODY_TRY(
          tx.exec("INSERT INTO audit_events (id, time, actor, action, outcome) "
                  "VALUES ($1, $2, 'bench', 'bench.write', 'ok')",
                  {id, std::int64_t{0}}));
      return ok_status();
    });
    if (!st.ok()) state.SkipWithError(st.error().message.c_str());
  }
  state.SetItemsProcessed(state.iterations());
  if (state.thread_index() == 0) {
    const StoreStats after = s->stats();
    const auto batches = after.batches - before.batches;
    if (batches > 0) {
      state.counters["works/commit"] =
          static_cast<double>(after.writes - before.writes) / static_cast<double>(batches);
    }
  }
}
BENCHMARK_CAPTURE(BM_GroupCommitWrite, sqlite, false)->Threads(1)->Threads(64)->UseRealTime();
BENCHMARK_CAPTURE(BM_GroupCommitWrite, postgres, true)->Threads(1)->Threads(64)->UseRealTime();

}  // namespace
}  // namespace custody::store

BENCHMARK_MAIN();
