// GroupCommitStore: the Store contract (store.h) on top of any backend's Connections.
//
//  - read(): borrows one of `read_connections` pooled reader connections, waiting while all are
//    busy; a broken or missing connection is (re)opened on borrow. The work's Tx answers
//    query_tracked from the store's TrackedCache (tracked_cache.h); works see no other change.
//  - write(): queues the work for the single writer thread, which takes up to max_batch queued
//    works and runs them in one transaction: BEGIN, then per work SAVEPOINT / work / RELEASE
//    (or ROLLBACK TO on error; either way the batch states hear of it), then every batch
//    state's before_commit(), then COMMIT, then the commit hook (if set), then every done()
//    in queue order. Savepoint
//    commands are merged into as few round trips as possible (see run_one).
//    A work that returns OK but swallowed a failed statement is rolled back and fails with
//    kInternal: PostgreSQL aborts the transaction after a failed statement and SQLite does not,
//    so refusing it on both keeps the backends' behaviour identical.
//    Pacing (StoreOptions::commit_interval_us; 0 turns it off): after a batch of at least
//    kPacedBatch works the writer gathers the works still arriving before it begins the next
//    transaction: it begins when commit_interval has passed since that batch began, or when a
//    full batch (max_batch) is queued, or when at least as many works as that batch held are
//    queued and none has arrived for commit_interval / kPaceQuietDivisor (the writers have
//    stopped: a few closed-loop clients are all queued), whichever comes first. It sleeps
//    unlocked meanwhile. Fewer, larger commits cost less per work (one WAL append, one sync, one
//    reset of the readers' page caches per batch) and, on a virtual
//    machine whose host charges its I/O work to the guest's CPU quota, keep the host from
//    pausing the whole guest (docs/benchmarks.md, "Pacing the group commit").
//  - SQLite: a checkpointer thread with its own connection copies the WAL into the database
//    file (PRAGMA wal_checkpoint(PASSIVE)) some milliseconds after commits, so that the writer,
//    the one serial thread every write waits for, no longer does it after every thousand pages.
//    A passive checkpoint never blocks the writer or readers; WAL semantics keep it correct.
//  - close(): rejects new writes with kUnavailable, lets the writer drain the queue (reads are
//    still served meanwhile), joins it, then rejects new reads with kUnavailable, waits for
//    borrowed readers and closes every connection. Idempotent. Called from inside a work or
//    done() it only stops accepting writes; the owner's close() or destructor finishes.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "store/connection.h"
#include "store/tracked_cache.h"

namespace custody::store {

struct BatchStates;  // the BatchStates of one write transaction (group_commit.cc)

class GroupCommitStore final : public Store {
 public:
  // `writer` is an already-migrated writer connection; readers are opened from `factory`.
  static Result<std::unique_ptr<Store>> create(std::string backend, ConnectionFactory factory,
                                               std::unique_ptr<Connection> writer,
                                               const StoreOptions& options);
  ~GroupCommitStore() override;

  Status read(const Work& work) override;
  void write(Work work, Done done) override;
  Status ping() override;
  void close() override;
  void set_commit_hook(CommitHook hook) override;
  std::string_view backend() const override { return backend_; }
  StoreStats stats() const override;

 private:
  struct Item {
    Work work;
    Done done;
    std::chrono::steady_clock::time_point queued;  // for write_wait_
  };

  GroupCommitStore(std::string backend, ConnectionFactory factory,
                   std::unique_ptr<Connection> writer, const StoreOptions& options);

  // Reader pool.
  Result<std::size_t> borrow_reader();
  void return_reader(std::size_t slot);

  // Writer thread.
  void writer_loop();
  // Called with queue_mu_ held (lk) and the queue not empty, before taking a batch: after a
  // batch of kPacedBatch works or more, waits (unlocked) for arriving works as the header
  // comment says; returns the time the next batch begins.
  std::chrono::steady_clock::time_point pace(std::unique_lock<std::mutex>& lk,
                                             std::chrono::steady_clock::time_point last_begin,
                                             std::size_t last_size);
  void run_batch(std::vector<Item>& batch, const CommitHook& hook);
  Status ensure_writer();
  // Runs one work inside the open savepoint, then rolls back to it (failure) or opens the next
  // one (success, unless `last`); returns the work's outcome. Sets *fatal when the transaction
  // itself can no longer be trusted (savepoint control failed, connection lost).
  Status run_one(Item& item, bool last, BatchStates& states, Status* fatal);

  const std::string backend_;
  const ConnectionFactory factory_;
  const int max_batch_;
  const std::chrono::microseconds commit_interval_;  // StoreOptions::commit_interval_us
  const std::size_t max_queued_;
  TrackedCache tracked_cache_;  // answers read()s' query_tracked

  // Readers: slots_[i] may be null (not opened, or dropped after breaking).
  std::mutex pool_mu_;
  std::condition_variable pool_cv_;
  std::vector<std::unique_ptr<Connection>> slots_;
  std::vector<std::size_t> free_;
  std::size_t borrowed_ = 0;
  bool pool_closed_ = false;

  // Writer queue.
  std::mutex queue_mu_;
  std::condition_variable queue_cv_;
  std::deque<Item> queue_;
  bool accepting_ = true;
  CommitHook commit_hook_;              // guarded by queue_mu_; the writer copies it per batch
  std::unique_ptr<Connection> writer_;  // touched only by the writer thread once it runs
  std::thread writer_thread_;

  // SQLite checkpointer.
  void checkpointer_loop();
  std::mutex ckpt_mu_;
  std::condition_variable ckpt_cv_;       // the writer: a commit happened
  std::condition_variable ckpt_stop_cv_;  // close(): stop now
  bool ckpt_stop_ = false;
  std::thread checkpointer_thread_;

  std::mutex close_mu_;  // serializes close()
  bool closed_ = false;

  std::atomic<std::uint64_t> reads_{0}, writes_{0}, batches_{0}, write_errors_{0}, read_micros_{0},
      commit_micros_{0};
  LatencyHistogram write_wait_;  // write() to its transaction's BEGIN, per work
  LatencyHistogram commit_;      // BEGIN to durable COMMIT, per committed batch
};

}  // namespace custody::store
