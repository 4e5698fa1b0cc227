// TrackedCache: rows of read-only statements over the version-tracked tables, reused across read
// transactions for as long as those tables have not changed.
//
// The tracked tables are the directory rows that every token request reads (the client, its
// owner, its credentials and entitlements): kTrackedTables. Migration 0019's triggers add one to
// directory_version.n in the same transaction as any INSERT, UPDATE or DELETE of them, whoever
// runs it: this process, another custodyd on the same database, or an administrator's SQL (an
// UPDATE that sets only kUnwatchedColumns excepted, migration 0020; no cached statement reads
// them). So
// two snapshots that read the same n hold the same tracked rows, and rows read in one answer the
// same statement in the other exactly, not approximately: a revoked credential or a suspended
// identity is never served from the cache once its change is visible.
//
// Use: store::Tx::query_tracked (store.h). Inside GroupCommitStore::read() it is answered here:
//   - the first tracked statement of a read transaction reads n (one point query);
//   - an entry stored under the same n, SQL text and parameters is returned as is;
//   - otherwise the statement runs and its rows are kept under n, unless the cache has already
//     seen a newer n (this transaction's snapshot is older; it reads through, keeps nothing).
// A newer n empties the cache. Entries are bounded by `max_entries`; a full cache is emptied
// (so a flood of unknown client ids costs hits, never memory). 0 turns the cache off.
//
// Statements must read tracked tables only, and must not depend on anything but the tables and
// their parameters (no "now" in the SQL: filter times on the rows instead). A statement that
// names another table after FROM or JOIN fails with kInternal instead of being served stale.
//
// Thread safety: all members may be called from any thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>

#include "common/result.h"
#include "store/store.h"

namespace custody::store {

// The tables migration 0019 tracks.
inline constexpr std::string_view kTrackedTables[] = {"identities", "credentials", "entitlements",
                                                      "device_identities", "discovery_findings"};

// Columns of tracked tables whose changes do not move the version (migration 0020): discovery
// reports set last_seen_at on every sighting, and counting those would empty the cache at every
// report. A tracked statement must not read them.
struct UnwatchedColumn {
  std::string_view table, column;
};
inline constexpr UnwatchedColumn kUnwatchedColumns[] = {{"discovery_findings", "last_seen_at"}};

// OK when every table `sql` names after FROM or JOIN is tracked and it reads no unwatched column
// of them (neither by name nor through "*"); kInternal naming the first table that is not tracked
// or the column (or the statement when it names no table).
Status check_reads_tracked_tables_only(std::string_view sql);

class TrackedCache {
 public:
  explicit TrackedCache(std::size_t max_entries) : max_entries_(max_entries) {}

  bool enabled() const { return max_entries_ > 0; }

  // The entry for (version, sql, params), or null.
  std::shared_ptr<const Rows> find(std::int64_t version, std::string_view sql,
                                   std::span<const Value> params);
  // Keeps `rows` under (version, sql, params) unless a newer version was seen.
  void put(std::int64_t version, std::string_view sql, std::span<const Value> params, Rows rows);

  struct Stats {
    std::uint64_t hits = 0, misses = 0, resets = 0;
  };
  Stats stats() const;

 private:
  static std::string key_of(std::string_view sql, std::span<const Value> params);

  const std::size_t max_entries_;
  // Every token request looks up several entries from each io thread: lookups share the lock,
  // so that they never queue behind one another (on two cores an exclusive lock held by a
  // preempted thread sent the other to sleep in the kernel), and count with atomics.
  mutable std::shared_mutex mu_;
  std::int64_t version_ = -1;  // the newest version seen; entries are all of it
  std::unordered_map<std::string, std::shared_ptr<const Rows>> entries_;
  std::atomic<std::uint64_t> hits_{0}, misses_{0}, resets_{0};
};

// The Tx a read() work gets when the store has a cache: statements go to `inner`, and
// query_tracked is answered through `cache` as described above.
class TrackedReadTx final : public Tx {
 public:
  using Tx::exec;
  using Tx::query;
  using Tx::query_tracked;

  TrackedReadTx(Tx& inner, TrackedCache& cache) : inner_(inner), cache_(cache) {}

  Result<Rows> query(std::string_view sql, std::span<const Value> params) override {
    return inner_.query(sql, params);
  }
  Result<std::int64_t> exec(std::string_view sql, std::span<const Value> params) override {
    return inner_.exec(sql, params);
  }
  Result<Rows> query_tracked(std::string_view sql, std::span<const Value> params) override;

 private:
  Tx& inner_;
  TrackedCache& cache_;
  std::optional<std::int64_t> version_;  // directory_version.n in this transaction's snapshot
};

}  // namespace custody::store
