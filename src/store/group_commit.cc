#include "store/group_commit.h"

#include <algorithm>
#include <chrono>
#include <exception>
#include <optional>
#include <utility>

#include "common/log.h"
#include "common/thread_name.h"

namespace custody::store {
// The batch states of one write transaction (store.h, BatchState), in creation order.
struct BatchStates {
  std::vector<std::pair<std::string, std::unique_ptr<BatchState>>> items;

  BatchState* find(std::string_view key) const {
    for (const auto& [k, s] : items)
      if (k == key) return s.get();
    return nullptr;
  }
  void work_kept() {
    for (auto& [k, s] : items) s->work_kept();
  }
  void work_undone() {
    for (auto& [k, s] : items) s->work_undone();
  }
};

namespace {

// The store whose writer runs on this thread, if any.
thread_local const GroupCommitStore* tls_writer_of = nullptr;

std::uint64_t micros_since(std::chrono::steady_clock::time_point t0) {
  return static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - t0)
          .count());
}

// Runs a caller-supplied work, turning exceptions into kInternal so that none escapes the store.
Status run_guarded(const Store::Work& work, Tx& tx) {
  try {
    return work(tx);
  } catch (const std::exception& e) {
    return Error::internal(std::string("store work threw: ") + e.what());
  } catch (...) {
    return Error::internal("store work threw a non-standard exception");
  }
}

// The Tx handed to a write work (and to the commit hook): forwards to the writer connection,
// gives access to the batch's states, and remembers the first failed statement, so that a work
// cannot swallow an error and still commit (see header).
class TrackingTx final : public Tx {
 public:
  using Tx::exec;
  using Tx::query;

  TrackingTx(Connection& conn, BatchStates& states) : conn_(conn), states_(states) {}

  BatchState* batch_state(std::string_view key) override { return states_.find(key); }
  bool set_batch_state(std::string_view key, std::unique_ptr<BatchState> state) override {
    if (states_.find(key) != nullptr) return false;
    states_.items.emplace_back(std::string(key), std::move(state));
    return true;
  }

  Result<Rows> query(std::string_view sql, std::span<const Value> params) override {
    auto r = conn_.query(sql, params);
    if (!r.ok()) note(r.error());
    return r;
  }
  Result<std::int64_t> exec(std::string_view sql, std::span<const Value> params) override {
    auto r = conn_.exec(sql, params);
    if (!r.ok()) note(r.error());
    return r;
  }
  const std::optional<Error>& first_error() const { return first_error_; }

 private:
  void note(const Error& e) {
    if (!first_error_) first_error_ = e;
  }
  Connection& conn_;
  BatchStates& states_;
  std::optional<Error> first_error_;
};

// The error every work of a batch gets when the transaction as a whole failed.
Error batch_error(const Error& cause, bool connection_lost) {
  std::string msg = "transaction not committed: " + cause.message;
  if (connection_lost || cause.code == Code::kUnavailable) return Error::unavailable(msg);
  return Error::internal(msg);
}

}  // namespace

bool on_writer_thread() {
  return tls_writer_of != nullptr;
}

GroupCommitStore::GroupCommitStore(std::string backend, ConnectionFactory factory,
                                   std::unique_ptr<Connection> writer, const StoreOptions& options)
    : backend_(std::move(backend)),
      factory_(std::move(factory)),
      max_batch_(std::max(1, options.max_batch)),
      commit_interval_(std::max(0, options.commit_interval_us)),
      max_queued_(static_cast<std::size_t>(std::max(1, options.max_queued_writes))),
      tracked_cache_(options.read_cache_entries),
      writer_(std::move(writer)) {
  const int n = std::max(1, options.read_connections);
  slots_.resize(static_cast<std::size_t>(n));
  for (std::size_t i = 0; i < slots_.size(); ++i) free_.push_back(i);
}

Result<std::unique_ptr<Store>> GroupCommitStore::create(std::string backend,
                                                        ConnectionFactory factory,
                                                        std::unique_ptr<Connection> writer,
                                                        const StoreOptions& options) {
  std::unique_ptr<GroupCommitStore> s(
      new GroupCommitStore(std::move(backend), std::move(factory), std::move(writer), options));
  // Open the readers now so that a bad URL or an unreachable server fails open_store().
  for (auto& slot : s->slots_) {
    CUSTODY_ASSIGN(slot, s->factory_(ConnectionRole::kReader));
  }
  // The checkpointer first: the writer reads checkpointer_thread_ once it runs.
  if (s->writer_->dialect() == Dialect::kSqlite) {
    s->checkpointer_thread_ = std::thread([p = s.get()] { p->checkpointer_loop(); });
    set_thread_name(s->checkpointer_thread_, "store-ckpt");
  }
  s->writer_thread_ = std::thread([p = s.get()] { p->writer_loop(); });
  set_thread_name(s->writer_thread_, "store-writer");
  return std::unique_ptr<Store>(std::move(s));
}

GroupCommitStore::~GroupCommitStore() {
  close();
}

// --- reads -----------------------------------------------------------------------------------

Result<std::size_t> GroupCommitStore::borrow_reader() {
  std::unique_lock lk(pool_mu_);
  pool_cv_.wait(lk, [&] { return pool_closed_ || !free_.empty(); });
  if (pool_closed_) return Error::unavailable("store is closing");
  const std::size_t slot = free_.back();
  free_.pop_back();
  ++borrowed_;
  if (slots_[slot] && !slots_[slot]->broken()) return slot;

  // Reconnect outside the lock: it can take up to the connect timeout.
  lk.unlock();
  auto conn = factory_(ConnectionRole::kReader);
  lk.lock();
  if (!conn.ok()) {
    slots_[slot].reset();
    free_.push_back(slot);
    --borrowed_;
    pool_cv_.notify_all();
    return Error::unavailable("store unavailable: " + conn.error().message);
  }
  slots_[slot] = std::move(conn).value();
  return slot;
}

void GroupCommitStore::return_reader(std::size_t slot) {
  std::lock_guard lk(pool_mu_);
  free_.push_back(slot);
  --borrowed_;
  pool_cv_.notify_all();  // a waiting reader, or close() waiting for borrowed_ == 0
}

Status GroupCommitStore::read(const Work& work) {
  const auto t0 = std::chrono::steady_clock::now();
  auto slot = borrow_reader();
  if (!slot.ok()) return slot.error();
  // While borrowed, the slot belongs to this thread alone.
  Connection& conn = *slots_[*slot];
  // On SQLite a read runs in one deferred transaction: its statements share one WAL read lock
  // (one pair of fcntl calls instead of one per statement, which was a tenth of a policy-checked
  // token exchange) and see one snapshot. PostgreSQL statements would pay two round trips for it.
  bool wrap = conn.dialect() == Dialect::kSqlite;
  // (exec, not exec_raw: the two statements stay prepared in the connection's cache.)
  Status st = ok_status();
  if (wrap) {
    auto begun = conn.exec("BEGIN");
    if (!begun.ok()) st = begun.error();
  }
  if (st.ok()) {
    TrackedReadTx tx(conn, tracked_cache_);
    st = run_guarded(work, tx);
  }
  if (wrap && !conn.exec("COMMIT").ok()) (void)conn.exec_raw("ROLLBACK");
  return_reader(*slot);
  reads_.fetch_add(1, std::memory_order_relaxed);
  read_micros_.fetch_add(micros_since(t0), std::memory_order_relaxed);
  return st;
}

Status GroupCommitStore::ping() {
  return read([](Tx& tx) -> Status {
    CUSTODY_TRY(tx.query("SELECT 1"));
    return ok_status();
  });
}

// --- writes ----------------------------------------------------------------------------------

void GroupCommitStore::write(Work work, Done done) {
  if (!done) done = [](Status) {};
  if (!work) {
    write_errors_.fetch_add(1, std::memory_order_relaxed);
    done(Error::internal("empty store work"));
    return;
  }
  bool full = false;
  const auto queued = std::chrono::steady_clock::now();  // read outside the writer's lock
  {
    std::lock_guard lk(queue_mu_);
    full = queue_.size() >= max_queued_;
    if (accepting_ && !full) {
      queue_.push_back(Item{std::move(work), std::move(done), queued});
      queue_cv_.notify_one();
      return;
    }
  }
  write_errors_.fetch_add(1, std::memory_order_relaxed);
  done(Error::unavailable(full ? "store write queue is full; retry later" : "store is closing"));
}

void GroupCommitStore::set_commit_hook(CommitHook hook) {
  std::lock_guard lk(queue_mu_);
  commit_hook_ = std::move(hook);
}

void GroupCommitStore::writer_loop() {
  tls_writer_of = this;
  std::vector<Item> batch;
  CommitHook hook;
  std::chrono::steady_clock::time_point last_begin;  // when the previous batch was taken
  std::size_t last_size = 0;                         // and how many works it held
  for (;;) {
    {
      std::unique_lock lk(queue_mu_);
      queue_cv_.wait(lk, [&] { return !queue_.empty() || !accepting_; });
      if (queue_.empty()) break;  // closing and drained
      last_begin = pace(lk, last_begin, last_size);
      const std::size_t n = std::min(queue_.size(), static_cast<std::size_t>(max_batch_));
      batch.assign(std::make_move_iterator(queue_.begin()),
                   std::make_move_iterator(queue_.begin() + static_cast<std::ptrdiff_t>(n)));
      queue_.erase(queue_.begin(), queue_.begin() + static_cast<std::ptrdiff_t>(n));
      hook = commit_hook_;
    }
    last_size = batch.size();
    run_batch(batch, hook);
    batch.clear();
  }
  tls_writer_of = nullptr;
}

std::chrono::steady_clock::time_point GroupCommitStore::pace(
    std::unique_lock<std::mutex>& lk, std::chrono::steady_clock::time_point last_begin,
    std::size_t last_size) {
  auto now = std::chrono::steady_clock::now();
  if (last_size < static_cast<std::size_t>(kPacedBatch) || commit_interval_.count() == 0)
    return now;
  const auto due = last_begin + commit_interval_;
  const auto quiet = commit_interval_ / kPaceQuietDivisor;
  // Sleeping, not waiting on queue_cv_: every write() would wake a waiter for nothing. close()
  // waits at most one interval longer.
  while (!queue_.empty() && queue_.size() < static_cast<std::size_t>(max_batch_) && accepting_ &&
         now < due) {
    // `queued` is read before write() locks, so the back's is the latest arrival but for
    // microseconds; that only moves the end of the wait by as much.
    auto wake = queue_.back().queued + quiet;
    if (now >= wake) {
      // Quiet. Fewer works than last time may only mean the rest are on their way (the io
      // threads are busy answering the last batch): stop only once as many are back.
      if (queue_.size() >= last_size) break;
      wake = now + quiet;
    }
    lk.unlock();
    std::this_thread::sleep_until(std::min(due, wake));
    lk.lock();
    now = std::chrono::steady_clock::now();
  }
  return now;
}

Status GroupCommitStore::ensure_writer() {
  if (writer_ && !writer_->broken()) return ok_status();
  writer_.reset();
  auto conn = factory_(ConnectionRole::kWriter);
  if (!conn.ok()) return Error::unavailable("store unavailable: " + conn.error().message);
  writer_ = std::move(conn).value();
  return ok_status();
}

// Savepoint control is folded into as few round trips as possible, which matters on
// PostgreSQL: BEGIN opens the first savepoint, a successful work releases its savepoint and opens
// the next one in one call, and ROLLBACK TO keeps the savepoint open for the next work. COMMIT
// releases whatever savepoint is open.
constexpr std::string_view kReleaseWork = "RELEASE SAVEPOINT custody_work";
constexpr std::string_view kOpenWork = "SAVEPOINT custody_work";
constexpr std::string_view kNextSavepoint =
    "RELEASE SAVEPOINT custody_work; SAVEPOINT custody_work";
constexpr std::string_view kUndoWork = "ROLLBACK TO SAVEPOINT custody_work";

// SQLite has no round trips to save, but parsing savepoint SQL anew per work was a tenth of a
// small work's writer time: there each statement runs prepared from the connection's cache.
Status exec_cached(Connection& c, std::string_view sql) {
  auto done = c.exec(sql);
  return done.ok() ? ok_status() : Status(done.error());
}

Status next_savepoint(Connection& c) {
  if (c.dialect() != Dialect::kSqlite) return c.exec_raw(kNextSavepoint);
  CUSTODY_TRY(exec_cached(c, kReleaseWork));
  return exec_cached(c, kOpenWork);
}

Status undo_work(Connection& c) {
  return c.dialect() == Dialect::kSqlite ? exec_cached(c, kUndoWork) : c.exec_raw(kUndoWork);
}

Status GroupCommitStore::run_one(Item& item, bool last, BatchStates& states, Status* fatal) {
  Connection& c = *writer_;
  TrackingTx tx(c, states);
  Status st = run_guarded(item.work, tx);
  if (st.ok() && tx.first_error()) {
    st = Error::internal("store work returned OK after a failed statement: " +
                         tx.first_error()->message);
  }
  if (c.broken()) {
    *fatal = Error::unavailable("store connection lost");
    return *fatal;
  }
  Status control;  // COMMIT closes the last work's savepoint
  if (!st.ok()) {
    control = undo_work(c);
    states.work_undone();
  } else {
    if (!last) control = next_savepoint(c);
    states.work_kept();
  }
  if (!control.ok()) *fatal = control;
  return st.ok() ? control : st;
}

void GroupCommitStore::run_batch(std::vector<Item>& batch, const CommitHook& hook) {
  const auto t0 = std::chrono::steady_clock::now();
  for (const Item& item : batch)
    write_wait_.observe(std::chrono::duration<double>(t0 - item.queued).count());
  std::vector<Status> results(batch.size());
  std::size_t ran = 0;
  BatchStates states;
  Status fatal = ensure_writer();
  if (fatal.ok()) {
    fatal =
        writer_->exec_raw(std::string(begin_sql(writer_->dialect())) + "; SAVEPOINT custody_work");
  }
  if (fatal.ok()) {
    for (; ran < batch.size() && fatal.ok(); ++ran) {
      results[ran] = run_one(batch[ran], ran + 1 == batch.size(), states, &fatal);
    }
    for (auto& [key, state] : states.items) {
      if (!fatal.ok()) break;
      TrackingTx tx(*writer_, states);
      fatal = run_guarded([&](Tx& t) { return state->before_commit(t); }, tx);
      if (fatal.ok() && tx.first_error()) fatal = *tx.first_error();
    }
    if (fatal.ok()) fatal = writer_->exec_raw("COMMIT");
    // Leaves no transaction open whatever failed; its own error adds nothing.
    if (!fatal.ok() && !writer_->broken()) (void)writer_->exec_raw("ROLLBACK");
  }

  if (fatal.ok()) {
    batches_.fetch_add(1, std::memory_order_relaxed);
    if (checkpointer_thread_.joinable()) ckpt_cv_.notify_one();
    const std::uint64_t micros = micros_since(t0);
    commit_micros_.fetch_add(micros, std::memory_order_relaxed);
    commit_.observe(static_cast<double>(micros) / 1e6);
    if (hook) {
      try {
        TrackingTx tx(*writer_, states);
        hook(tx);
      } catch (...) {
        // Like a throwing done(): the hook's bug must not take the writer down.
      }
    }
  } else {
    // Works that failed on their own keep their error; all others share the batch's.
    const Error e = batch_error(fatal.error(), writer_ && writer_->broken());
    for (std::size_t i = 0; i < batch.size(); ++i) {
      if (i >= ran || results[i].ok()) results[i] = e;
    }
  }

  for (std::size_t i = 0; i < batch.size(); ++i) {
    (results[i].ok() ? writes_ : write_errors_).fetch_add(1, std::memory_order_relaxed);
    try {
      batch[i].done(results[i]);
    } catch (...) {
      // A throwing callback is the caller's bug; it must not take the writer down with it.
    }
  }
}

// --- SQLite checkpointer ---------------------------------------------------------------------

// How long commits gather before a checkpoint: each one fsyncs the database file.
constexpr auto kCheckpointDelay = std::chrono::milliseconds(20);

void GroupCommitStore::checkpointer_loop() {
  std::unique_ptr<Connection> conn;
  bool failing = false;
  std::uint64_t through = batches_.load();
  std::unique_lock lk(ckpt_mu_);
  for (;;) {
    // Woken by the writer after commits (a missed wake-up only delays to the next commit).
    ckpt_cv_.wait(lk, [&] { return ckpt_stop_ || batches_.load() != through; });
    if (ckpt_stop_) break;
    // The delay waits on a condition only close() signals: on ckpt_cv_ every commit of the
    // next 20 ms would wake this thread for nothing (two futex calls and a context switch per
    // commit, on both threads); with nobody waiting there, the writer's notify is a no-op.
    ckpt_stop_cv_.wait_for(lk, kCheckpointDelay, [&] { return ckpt_stop_; });
    if (ckpt_stop_) break;
    through = batches_.load();
    lk.unlock();
    Status st = ok_status();
    if (!conn || conn->broken()) {
      auto opened = factory_(ConnectionRole::kCheckpointer);
      if (opened.ok()) {
        conn = std::move(opened).value();
      } else {
        conn.reset();
        st = opened.error();
      }
    }
    if (conn) st = conn->exec_raw("PRAGMA wal_checkpoint(PASSIVE)");
    // A failure leaves the pages for the next round or the writer's backstop; said once per run
    // of failures, not once per commit.
    if (!st.ok() && !failing)
      log::warn("WAL checkpoint failed; the writer checkpoints past its backstop",
                {{"error", st.error().message}});
    failing = !st.ok();
    lk.lock();
  }
}

// --- lifecycle -------------------------------------------------------------------------------

void GroupCommitStore::close() {
  if (tls_writer_of == this) {
    // Called from inside a work or done(): joining ourselves would deadlock. Stop accepting;
    // the owner's close() (at the latest the destructor) finishes the job.
    std::lock_guard lk(queue_mu_);
    accepting_ = false;
    return;
  }
  std::lock_guard close_lk(close_mu_);
  if (closed_) return;
  {
    std::lock_guard lk(queue_mu_);
    accepting_ = false;
    queue_cv_.notify_all();
  }
  if (writer_thread_.joinable()) writer_thread_.join();
  {
    std::lock_guard lk(ckpt_mu_);
    ckpt_stop_ = true;
  }
  ckpt_cv_.notify_all();
  ckpt_stop_cv_.notify_all();
  if (checkpointer_thread_.joinable()) checkpointer_thread_.join();
  writer_.reset();
  // Reads stay available while the queue drains (a done() may read); only now are they refused.
  {
    std::unique_lock lk(pool_mu_);
    pool_closed_ = true;
    pool_cv_.notify_all();
    pool_cv_.wait(lk, [&] { return borrowed_ == 0; });
    slots_.clear();
  }
  closed_ = true;
}

StoreStats GroupCommitStore::stats() const {
  StoreStats s;
  s.reads = reads_.load(std::memory_order_relaxed);
  s.writes = writes_.load(std::memory_order_relaxed);
  s.batches = batches_.load(std::memory_order_relaxed);
  s.write_errors = write_errors_.load(std::memory_order_relaxed);
  s.read_micros = read_micros_.load(std::memory_order_relaxed);
  s.commit_micros = commit_micros_.load(std::memory_order_relaxed);
  s.write_wait = write_wait_.snapshot();
  s.commit = commit_.snapshot();
  const TrackedCache::Stats cache = tracked_cache_.stats();
  s.read_cache_hits = cache.hits;
  s.read_cache_misses = cache.misses;
  s.read_cache_resets = cache.resets;
  return s;
}

}  // namespace custody::store
