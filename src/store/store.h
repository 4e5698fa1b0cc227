// The store: custody's only path to durable state. One interface, two backends (SQLite embedded,
// PostgreSQL via libpq) that run the same SQL and the same numbered migrations.
//
// SQL dialect. Statements use PostgreSQL-style positional parameters $1..$N (a parameter may be
// used more than once); the SQLite backend rewrites them to ?N. Only the portable subset of SQL is
// used: TEXT, BIGINT, INSERT ... ON CONFLICT, RETURNING, LIMIT. Migrations may use the tokens
// listed in migrations.h for the few types that differ.
//
// Concurrency. A Store is safe to use from any number of threads.
//  - read() runs synchronously on a pooled read connection; each statement sees committed data.
//  - write() queues work for the writer. The writer runs queued works back to back inside ONE
//    transaction (group commit), each work inside its own SAVEPOINT: a work that returns an error
//    is rolled back alone and its `done` gets that error; the others commit. `done` is called on
//    the writer thread only after the COMMIT is durable (SQLite: WAL + synchronous=FULL;
//    PostgreSQL: synchronous_commit as configured on the server, default on). A failed COMMIT
//    fails every work of the batch. Works must not block on other store calls.
//  - Every mutation and the audit event that records it are written by the same work, so they
//    commit together or not at all.
#pragma once

#include <cstdint>
#include <functional>
#include <initializer_list>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "common/latency_histogram.h"
#include "common/result.h"
#include "store/value.h"

namespace custody::store {

class Tx;

// State one module keeps across the works of one write transaction (one group-commit batch):
// e.g. a counter read once per batch and written back once before COMMIT instead of once per
// work. The module creates it on first use (Tx::set_batch_state); the store owns it, tells it
// which works were kept or undone, lets it write what it deferred before COMMIT, hands it to the
// commit hook (Tx::batch_state there returns the committed batch's state) and destroys it after
// the hook, or as soon as the batch failed.
class BatchState {
 public:
  virtual ~BatchState() = default;
  // The work that just ran succeeded: what it recorded stays.
  virtual void work_kept() {}
  // The work that just ran failed and was rolled back to its savepoint: forget what it recorded
  // since the previous work_kept()/work_undone(), including itself if that work created it.
  virtual void work_undone() = 0;
  // After the batch's last work, inside the transaction, before COMMIT: write what was deferred.
  // An error fails the whole batch (every work gets it).
  virtual Status before_commit(Tx& tx) = 0;
};

// A transaction (or, inside read(), a plain connection). Valid only during the callback that
// received it; never keep a reference.
class Tx {
 public:
  virtual ~Tx() = default;

  // The state registered under `key` in this write batch, or nullptr. Always nullptr where there
  // is no batch (read(), a bare connection).
  virtual BatchState* batch_state(std::string_view /*key*/) { return nullptr; }
  // Registers `state` under `key` (unique) for the rest of this batch. Returns false, dropping
  // `state`, where there is no batch: the caller then does without (writes through at once).
  virtual bool set_batch_state(std::string_view /*key*/, std::unique_ptr<BatchState> /*state*/) {
    return false;
  }

  // Runs a statement that returns rows.
  virtual Result<Rows> query(std::string_view sql, std::span<const Value> params) = 0;
  // Runs a statement that returns no rows; the result is the number of rows changed.
  virtual Result<std::int64_t> exec(std::string_view sql, std::span<const Value> params) = 0;

  // A statement that reads only the version-tracked directory tables and depends on nothing but
  // them and its parameters (tracked_cache.h). Inside Store::read() it may be answered from the
  // store's cache, exactly as the snapshot would answer it; elsewhere it is query().
  virtual Result<Rows> query_tracked(std::string_view sql, std::span<const Value> params) {
    return query(sql, params);
  }

  Result<Rows> query(std::string_view sql, std::initializer_list<Value> params = {}) {
    return query(sql, std::span<const Value>(params.begin(), params.size()));
  }
  Result<Rows> query_tracked(std::string_view sql, std::initializer_list<Value> params = {}) {
    return query_tracked(sql, std::span<const Value>(params.begin(), params.size()));
  }
  Result<std::int64_t> exec(std::string_view sql, std::initializer_list<Value> params = {}) {
    return exec(sql, std::span<const Value>(params.begin(), params.size()));
  }
};

// Backend errors map onto custody codes: unique-constraint violations → kConflict (the message
// names the constraint), foreign-key violations → kUnprocessable, connection loss or "database is
// locked" beyond the busy timeout → kUnavailable, anything else → kInternal.

// A group commit of at least this many works means the writer is busy: the next commit is then
// paced by StoreOptions::commit_interval_us. Below it (an idle or lightly loaded store) commits
// follow each other at once, so a lone write never waits.
inline constexpr int kPacedBatch = 4;
// A paced writer stops waiting once as many works as its last batch held are queued and none
// has arrived for commit_interval_us divided by this (125 µs at the default 2 ms): the writers
// have stopped, waiting longer gains nothing.
inline constexpr int kPaceQuietDivisor = 16;

struct StoreOptions {
  // "sqlite:PATH", a plain file path (SQLite), or "postgres://..." / "postgresql://..." (libpq).
  std::string url;
  int read_connections = 4;    // pooled read connections
  int busy_timeout_ms = 5000;  // SQLite busy timeout; PostgreSQL connect timeout
  int max_batch = 512;         // most works in one group commit
  // While the writer is busy (its last batch held at least kPacedBatch works), how long it
  // gathers arriving works before the next group commit, in microseconds: the next commit
  // begins this long after the previous one began, or sooner once a full batch is queued or
  // as many works as the last batch held are and none has arrived for commit_interval_us /
  // kPaceQuietDivisor. 0: the next commit starts as soon as the previous one ends.
  int commit_interval_us = 2000;
  // Most works waiting for the writer. Beyond it write() refuses at once with kUnavailable
  // (503 at the API) instead of letting memory and latency grow without bound.
  int max_queued_writes = 100000;
  // PostgreSQL: the server cancels a statement that runs longer than this (a lock wait, a
  // runaway query), which then fails with kUnavailable; migrations run without it. 0: none.
  // SQLite has no such limit (busy_timeout_ms bounds its lock waits).
  int statement_timeout_ms = 0;
  // Most entries of the cache of tracked-table reads (tracked_cache.h); 0 turns it off.
  std::size_t read_cache_entries = 10000;
};

struct StoreStats {
  std::uint64_t reads = 0;
  std::uint64_t writes = 0;             // works committed
  std::uint64_t batches = 0;            // COMMITs
  std::uint64_t write_errors = 0;       // works that failed
  std::uint64_t read_micros = 0;        // total time in read()
  std::uint64_t commit_micros = 0;      // total time from BEGIN to durable COMMIT, per batch
  std::uint64_t read_cache_hits = 0;    // tracked statements answered from the cache
  std::uint64_t read_cache_misses = 0;  // ... and run
  std::uint64_t read_cache_resets = 0;  // times a tracked-table change (or a full cache) emptied it
  // Where a write's time goes: waiting in the queue for its transaction to begin (per work),
  // and the transaction from BEGIN to durable COMMIT (per committed batch).
  LatencyHistogram::Snapshot write_wait;
  LatencyHistogram::Snapshot commit;
};

class Store {
 public:
  using Work = std::function<Status(Tx&)>;
  using Done = std::function<void(Status)>;

  virtual ~Store() = default;
  Store() = default;
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  // Runs `work` on a read connection and returns its status.
  virtual Status read(const Work& work) = 0;
  // Queues `work`; see the contract above. After close() has begun, or while max_queued_writes
  // works are already waiting, `done` gets kUnavailable at once (on the caller's thread).
  virtual void write(Work work, Done done) = 0;
  // write() and wait for `done`. Never call from the writer thread (i.e. inside a work).
  Status write_sync(Work work);

  // Called on the writer thread after every durable COMMIT, before that batch's `done`
  // callbacks, with the writer connection outside any transaction: read committed state there
  // (e.g. what the batch appended), never write. Its Tx's batch_state() returns the committed
  // batch's states. Hooks run in commit order, so an observer sees
  // commits in the order they happened. Errors are the hook's own business. Set it before the
  // first write(); a later call replaces the hook for the batches that follow.
  using CommitHook = std::function<void(Tx&)>;
  virtual void set_commit_hook(CommitHook hook) = 0;

  // Cheap round trip to the backend ("SELECT 1"); used by /readyz.
  virtual Status ping() = 0;
  // Stops accepting writes, commits everything already queued, and closes connections.
  // Idempotent; the destructor calls it.
  virtual void close() = 0;

  virtual std::string_view backend() const = 0;  // "sqlite" or "postgres"
  virtual StoreStats stats() const = 0;
};

// Opens the backend named by options.url, applies pending migrations (each in its own
// transaction, recorded in schema_migrations), and returns the ready store.
Result<std::unique_ptr<Store>> open_store(const StoreOptions& options);

}  // namespace custody::store
