// The derived audit index and its indexer. See index.h.
#include "audit/index.h"

#include <algorithm>
#include <chrono>
#include <map>
#include <utility>

#include "common/log.h"
#include "common/thread_name.h"

namespace custody::audit {
namespace {

// Rows per multi-row INSERT into audit_keys. A batch's remainder goes one row per statement, so
// the store's statement caches only ever see two texts.
constexpr std::size_t kKeysPerInsert = 64;

std::string multi_row_insert(std::size_t rows) {
  std::string sql = "INSERT INTO audit_keys (key, seq) VALUES ";
  for (std::size_t i = 0; i < rows; ++i) {
    if (i) sql += ", ";
    sql += "($" + std::to_string(2 * i + 1) + ", $" + std::to_string(2 * i + 2) + ")";
  }
  // Another node may have indexed the same events first; its rows are the same rows.
  return sql + " ON CONFLICT DO NOTHING";
}

struct Pending {
  std::int64_t from = 0;  // the watermark the events were read above
  std::int64_t through = 0;
  std::vector<std::pair<std::string, std::int64_t>> keys;    // sorted: B-tree order
  std::map<std::int64_t, std::pair<Micros, Micros>> blocks;  // first seq → min, max time
};

Result<Pending> read_pending(store::Tx& tx, std::int64_t max_events) {
  Pending p;
  CUSTODY_ASSIGN(p.from, indexed_through(tx));
  p.through = p.from;
  CUSTODY_ASSIGN(store::Rows rows, tx.query("SELECT seq, time, actor, target, chain_root, "
                                            "delegation_id FROM audit_events WHERE seq > $1 "
                                            "ORDER BY seq LIMIT $2",
                                            {p.from, max_events}));
  p.keys.reserve(rows.size() * 2);
  for (const auto& row : rows) {
    const std::int64_t seq = row.integer(0);
    const Micros time = row.integer(1);
    for (auto& k : index_keys(row.text(2), row.text(3), row.text(4), row.text(5)))
      p.keys.emplace_back(std::move(k), seq);
    auto [it, fresh] = p.blocks.try_emplace(time_block_of(seq), time, time);
    if (!fresh) {
      it->second.first = std::min(it->second.first, time);
      it->second.second = std::max(it->second.second, time);
    }
    p.through = seq;
  }
  std::sort(p.keys.begin(), p.keys.end());
  return p;
}

Status write_pending(store::Tx& tx, const Pending& p) {
  // Claim the range first: if the watermark moved, another indexer wrote these rows already.
  CUSTODY_ASSIGN(std::int64_t claimed,
                 tx.exec("UPDATE audit_index_state SET indexed_through_seq = $1 WHERE id = 1 AND "
                         "indexed_through_seq = $2",
                         {p.through, p.from}));
  if (claimed != 1) return Error::conflict("the audit index moved on meanwhile");
  const std::string full = multi_row_insert(kKeysPerInsert);
  std::size_t i = 0;
  std::vector<store::Value> params;
  params.reserve(2 * kKeysPerInsert);
  for (; i + kKeysPerInsert <= p.keys.size(); i += kKeysPerInsert) {
    params.clear();
    for (std::size_t j = i; j < i + kKeysPerInsert; ++j) {
      params.emplace_back(p.keys[j].first);
      params.emplace_back(p.keys[j].second);
    }
    CUSTODY_TRY(tx.exec(full, std::span<const store::Value>(params)));
  }
  const std::string one = multi_row_insert(1);
  for (; i < p.keys.size(); ++i) CUSTODY_TRY(tx.exec(one, {p.keys[i].first, p.keys[i].second}));
  for (const auto& [first, range] : p.blocks) {
    auto [lo, hi] = range;
    // A block is widened by each batch that indexes part of it.
    CUSTODY_ASSIGN(store::Rows old, tx.query("SELECT min_time, max_time FROM audit_time_blocks "
                                             "WHERE first_seq = $1",
                                             {first}));
    if (!old.empty()) {
      lo = std::min(lo, old[0].integer(0));
      hi = std::max(hi, old[0].integer(1));
    }
    CUSTODY_TRY(
        tx.exec("INSERT INTO audit_time_blocks (first_seq, min_time, max_time) VALUES "
                "($1, $2, $3) ON CONFLICT (first_seq) DO UPDATE SET min_time = "
                "excluded.min_time, max_time = excluded.max_time",
                {first, lo, hi}));
  }
  return ok_status();
}

}  // namespace

std::vector<std::string> index_keys(const std::string& actor, const std::string& target,
                                    const std::string& chain_root,
                                    const std::string& delegation_id) {
  std::vector<std::string> keys;
  if (!actor.empty()) keys.push_back("a:" + actor);
  if (!target.empty()) keys.push_back("t:" + target);
  if (!chain_root.empty()) keys.push_back("c:" + chain_root);
  if (!delegation_id.empty()) keys.push_back("d:" + delegation_id);
  return keys;
}

Result<std::int64_t> indexed_through(store::Tx& tx) {
  CUSTODY_ASSIGN(store::Rows rows,
                 tx.query("SELECT indexed_through_seq FROM audit_index_state WHERE id = 1"));
  if (rows.empty()) return Error::internal("audit_index_state has no row");
  return rows[0].integer(0);
}

Result<std::int64_t> index_pending(store::Store& store, std::int64_t max_events) {
  // Reading on a read connection keeps the writer's share of the work to the inserts. The events
  // with seq ≤ any committed seq are all committed (seq is taken under the counter row's lock
  // in commit order), so the rows read are a contiguous run above the watermark.
  Pending p;
  CUSTODY_TRY(store.read([&](store::Tx& tx) -> Status {
    CUSTODY_ASSIGN(p, read_pending(tx, max_events));
    return ok_status();
  }));
  if (p.through == p.from) return std::int64_t{0};
  Status st = store.write_sync([&p](store::Tx& tx) { return write_pending(tx, p); });
  if (!st.ok()) {
    if (st.error().code == Code::kConflict) return std::int64_t{0};
    return st.error();
  }
  return p.through - p.from;
}

AuditIndexer::AuditIndexer(store::Store& store, Options options)
    : store_(store), options_(options) {}

AuditIndexer::~AuditIndexer() {
  stop();
}

void AuditIndexer::start() {
  if (thread_.joinable()) return;
  thread_ = std::thread([this] { loop(); });
  set_thread_name(thread_, "audit-index");
}

void AuditIndexer::stop() {
  {
    std::lock_guard lk(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void AuditIndexer::loop() {
  std::unique_lock lk(mu_);
  while (!stopping_) {
    lk.unlock();
    auto done = index_pending(store_, options_.batch_events);
    lk.lock();
    if (!done.ok()) {
      if (!stopping_)
        log::warn("audit index: cannot index new events (retrying)",
                  {{"error", done.error().message}});
    } else if (*done >= options_.batch_events) {
      continue;  // more are waiting: a full batch is the cheapest way to index them
    }
    cv_.wait_for(lk, std::chrono::milliseconds(options_.poll_ms), [this] { return stopping_; });
  }
}

}  // namespace custody::audit
