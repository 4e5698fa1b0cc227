// The audit Merkle log in the server. See log.h.
#include "audit/log.h"

#include <fstream>

#include "audit/append_batch.h"
#include "audit/archive.h"
#include "audit/canonical_event.h"
#include "audit/events.h"
#include "audit/leaf_seq.h"
#include "audit/witness.h"
#include "common/encoding.h"
#include "common/jcs.h"
#include "common/log.h"
#include "common/thread_name.h"

namespace custody::audit {
namespace {

constexpr std::int64_t kReadChunk = 50'000;

Result<std::string> decode_hash(const std::string& hex, std::uint64_t index) {
  auto bytes = hex_decode(hex);
  if (!bytes || bytes->size() != merkle::kHashSize)
    return Error::internal("leaf " + std::to_string(index) + " has a malformed leaf hash");
  return *bytes;
}

// Calls fn(index, hash) for every archived leaf, in order.
template <class Fn>
Status for_each_archived_leaf(store::Tx& tx, Fn fn) {
  CUSTODY_ASSIGN(store::Rows segs,
                 tx.query("SELECT first_leaf, end_leaf, leaf_hashes FROM audit_archive_segments "
                          "ORDER BY first_leaf"));
  for (const auto& row : segs) {
    const auto first = static_cast<std::uint64_t>(row.integer(0));
    const auto end = static_cast<std::uint64_t>(row.integer(1));
    const std::string& hex = row.text(2);
    if (hex.size() != (end - first) * 2 * merkle::kHashSize)
      return Error::internal("archive segment at leaf " + std::to_string(first) +
                             " has a malformed leaf hash list");
    for (std::uint64_t i = first; i < end; ++i) {
      CUSTODY_ASSIGN(std::string h, decode_hash(hex.substr((i - first) * 64, 64), i));
      CUSTODY_TRY(fn(i, std::move(h)));
    }
  }
  return ok_status();
}

}  // namespace

// --- leaf hashes through a transaction -------------------------------------------------------

Result<std::string> StoreLeafHashes::hash(std::uint64_t index) const {
  std::vector<std::string> out;
  CUSTODY_TRY(hashes(index, index + 1, out));
  return out.front();
}

Status StoreLeafHashes::hashes(std::uint64_t begin, std::uint64_t end,
                               std::vector<std::string>& out) const {
  if (end <= begin) return ok_status();
  std::vector<std::string> slots(end - begin);
  std::uint64_t found = 0;
  // No index on leaf_index: the leaves' seq range, filtered to the leaves asked for.
  CUSTODY_ASSIGN(const LeafSeqBounds bounds, leaf_seq_bounds(tx_));
  const auto b = static_cast<std::int64_t>(begin), e = static_cast<std::int64_t>(end);
  CUSTODY_ASSIGN(store::Rows rows,
                 tx_.query("SELECT leaf_index, leaf_hash FROM audit_events WHERE seq >= $1 "
                           "AND seq <= $2 AND leaf_index >= $3 AND leaf_index < $4",
                           {bounds.first_seq(b), bounds.last_seq(e), b, e}));
  for (const auto& row : rows) {
    const auto i = static_cast<std::uint64_t>(row.integer(0));
    if (row.is_null(1) || !slots[i - begin].empty()) continue;
    CUSTODY_ASSIGN(slots[i - begin], decode_hash(row.text(1), i));
    ++found;
  }
  if (found < end - begin) {
    CUSTODY_ASSIGN(store::Rows segs,
                   tx_.query("SELECT first_leaf, end_leaf, leaf_hashes FROM "
                             "audit_archive_segments WHERE end_leaf > $1 AND first_leaf < $2",
                             {static_cast<std::int64_t>(begin), static_cast<std::int64_t>(end)}));
    for (const auto& row : segs) {
      const auto first = static_cast<std::uint64_t>(row.integer(0));
      const auto seg_end = static_cast<std::uint64_t>(row.integer(1));
      const std::string& hex = row.text(2);
      if (hex.size() != (seg_end - first) * 64)
        return Error::internal("archive segment at leaf " + std::to_string(first) +
                               " has a malformed leaf hash list");
      for (std::uint64_t i = std::max(first, begin); i < std::min(seg_end, end); ++i) {
        if (!slots[i - begin].empty()) continue;
        CUSTODY_ASSIGN(slots[i - begin], decode_hash(hex.substr((i - first) * 64, 64), i));
      }
    }
  }
  for (std::uint64_t i = begin; i < end; ++i) {
    if (slots[i - begin].empty())
      return Error::internal("audit leaf " + std::to_string(i) +
                             " is missing from the store; run custody audit verify");
    out.push_back(std::move(slots[i - begin]));
  }
  return ok_status();
}

// --- start-up helpers ------------------------------------------------------------------------

Status assign_missing_leaves(store::Store& store) {
  return store.write_sync([](store::Tx& tx) -> Status {
    CUSTODY_ASSIGN(store::Rows rows,
                   tx.query("SELECT " + std::string(kEventColumns) +
                            " FROM audit_events WHERE leaf_index IS NULL ORDER BY seq"));
    if (rows.empty()) return ok_status();
    CUSTODY_ASSIGN(store::Rows state, tx.query("SELECT leaf_count FROM audit_log_state"));
    if (state.empty()) return Error::internal("audit_log_state has no row");
    std::int64_t next = state[0].integer(0);
    for (const auto& row : rows) {
      CUSTODY_ASSIGN(Event e, event_from_row(row));
      // Not yet in any tree, so repairing is still legitimate.
      repair_for_log(e);
      CUSTODY_ASSIGN(std::string details, jcs::canonicalize(e.details));
      CUSTODY_ASSIGN(std::string bytes, canonical_event_with_details(e, details));
      CUSTODY_TRY(
          tx.exec("UPDATE audit_events SET id = $1, actor = $2, action = $3, target = $4, "
                  "outcome = $5, request_id = $6, details = $7, leaf_index = $8, "
                  "leaf_hash = $9 WHERE seq = $10",
                  {e.id, e.actor, e.action, e.target, e.outcome, e.request_id, details, next,
                   hex_encode(merkle::leaf_hash(bytes)), e.seq}));
      ++next;
    }
    CUSTODY_TRY(tx.exec("UPDATE audit_log_state SET leaf_count = $1 WHERE id = 1", {next}));
    log::info("assigned audit leaves to events written before the Merkle log",
              {{"events", rows.size()}});
    return ok_status();
  });
}

Result<crypto::Jwk> load_or_create_audit_key(store::Store& store,
                                             const crypto::KeyEncryptionKey& kek,
                                             const Clock& clock) {
  for (int attempt = 0; attempt < 2; ++attempt) {
    std::optional<std::pair<std::string, std::string>> row;  // kid, wrapped
    CUSTODY_TRY(store.read([&](store::Tx& tx) -> Status {
      CUSTODY_ASSIGN(store::Rows rows,
                     tx.query("SELECT kid, wrapped_private_jwk FROM audit_signing_keys WHERE "
                              "retired_at IS NULL ORDER BY created_at DESC, kid LIMIT 1"));
      if (!rows.empty()) row.emplace(rows[0].text(0), rows[0].text(1));
      return ok_status();
    }));
    if (row) {
      auto key = crypto::unwrap_private_jwk(kek, row->first, row->second);
      if (!key.ok())
        return Error::unavailable("cannot unwrap the audit signing key " + row->first +
                                  " (wrong KEK?): " + key.error().message);
      return key;
    }
    CUSTODY_ASSIGN(crypto::Jwk key, crypto::Jwk::generate(crypto::KeyType::kEd25519));
    CUSTODY_ASSIGN(std::string wrapped, crypto::wrap_private_jwk(kek, key));
    const std::string public_jwk = key.public_json().dump();
    Status st = store.write_sync([&](store::Tx& tx) -> Status {
      // Another node may have created one meanwhile: then use that one.
      CUSTODY_ASSIGN(store::Rows rows,
                     tx.query("SELECT kid FROM audit_signing_keys WHERE retired_at IS NULL"));
      if (!rows.empty()) return ok_status();
      CUSTODY_TRY(
          tx.exec("INSERT INTO audit_signing_keys (kid, public_jwk, wrapped_private_jwk, "
                  "created_at) VALUES ($1, $2, $3, $4)",
                  {key.kid(), public_jwk, wrapped, clock.now()}));
      return ok_status();
    });
    CUSTODY_TRY(st);
  }
  return Error::internal("could not create the audit signing key");
}

Result<std::vector<TreeHead>> stored_heads(store::Tx& tx) {
  CUSTODY_ASSIGN(store::Rows rows,
                 tx.query("SELECT tree_size, root_hash, time, key_id, signature FROM "
                          "audit_tree_heads ORDER BY tree_size, time, id"));
  std::vector<TreeHead> out;
  for (const auto& row : rows) {
    TreeHead h;
    h.tree_size = static_cast<std::uint64_t>(row.integer(0));
    h.root_hash = hex_decode(row.text(1)).value_or(row.text(1));
    h.time = row.integer(2);
    h.key_id = row.text(3);
    h.signature = base64url_decode(row.text(4)).value_or(row.text(4));
    out.push_back(std::move(h));
  }
  return out;
}

Result<std::vector<crypto::Jwk>> stored_audit_keys(store::Tx& tx) {
  CUSTODY_ASSIGN(store::Rows rows, tx.query("SELECT kid, public_jwk FROM audit_signing_keys"));
  std::vector<crypto::Jwk> out;
  for (const auto& row : rows) {
    auto parsed = nlohmann::json::parse(row.text(1), nullptr, false);
    auto key = crypto::Jwk::parse_public(parsed, "audit key " + row.text(0));
    if (!key.ok()) return key.error();
    if (key->kid() != row.text(0))
      return Error::unprocessable("audit key row " + row.text(0) + " holds a key with kid " +
                                  key->kid());
    out.push_back(std::move(key).value());
  }
  return out;
}

// --- the log ---------------------------------------------------------------------------------

AuditLog::AuditLog(store::Store& store, crypto::Jwk key, const Clock& clock, LogOptions options)
    : store_(store),
      key_(std::move(key)),
      clock_(clock),
      options_(std::move(options)),
      tree_(options_.cache_level) {}

Result<std::unique_ptr<AuditLog>> AuditLog::open(store::Store& store, crypto::Jwk key,
                                                 const Clock& clock, LogOptions options) {
  std::unique_ptr<AuditLog> log(new AuditLog(store, std::move(key), clock, std::move(options)));
  CUSTODY_TRY(store.read([&](store::Tx& tx) -> Status {
    std::unique_lock lk(log->tree_mu_);
    CUSTODY_TRY(for_each_archived_leaf(tx, [&](std::uint64_t i, std::string h) -> Status {
      if (i != log->tree_.size())
        log::error("audit archive segments are not contiguous; run custody audit verify",
                   {{"leaf", i}});
      log->next_leaf_ = i + 1;
      return log->tree_.append(h);
    }));
    lk.unlock();
    CUSTODY_TRY(log->catch_up(tx));
    CUSTODY_ASSIGN(auto heads, stored_heads(tx));
    if (!heads.empty()) {
      log->signed_size_ = heads.back().tree_size;
      if (heads.back().tree_size > log->tree_.size())
        log::error("the audit log is shorter than its last signed head; run custody audit verify",
                   {{"tree_size", log->tree_.size()}, {"head_size", heads.back().tree_size}});
    }
    return ok_status();
  }));
  AuditLog* self = log.get();
  store.set_commit_hook([self](store::Tx& tx) {
    Status st = self->catch_up(tx);
    if (!st.ok())
      log::error("audit log: cannot read committed leaves", {{"error", st.error().message}});
  });
  return log;
}

AuditLog::~AuditLog() {
  stop();
}

void AuditLog::note_added(std::uint64_t added) {
  if (added > 0 && unsigned_leaves_.fetch_add(added) + added >=
                       static_cast<std::uint64_t>(options_.sth_every_events)) {
    loop_cv_.notify_one();
  }
}

Status AuditLog::catch_up(store::Tx& tx) {
  if (const AppendBatch* batch = AppendBatch::committed(tx)) {
    // The commit hook after this node's batch: its leaves are known without a read, unless
    // other nodes committed leaves before them (a gap), which only the store can tell.
    bool gap = false;
    std::uint64_t added = 0;
    {
      std::unique_lock lk(tree_mu_);
      for (const auto& [index, hash] : batch->leaves()) {
        const auto i = static_cast<std::uint64_t>(index);
        if (i < next_leaf_) continue;  // the signer's catch-up read it first
        if (i != next_leaf_) {
          gap = true;
          break;
        }
        CUSTODY_TRY(tree_.append(hash));
        next_leaf_ = i + 1;
        ++added;
      }
    }
    note_added(added);
    if (!gap) return ok_status();
  }
  std::uint64_t from;
  {
    std::shared_lock lk(tree_mu_);
    from = next_leaf_;
  }
  // Leaf `from` has seq ≥ from + d_low (leaf_seq.h); with legacy gaps in seq a few rows of
  // older leaves are read and skipped.
  CUSTODY_ASSIGN(const LeafSeqBounds bounds, leaf_seq_bounds(tx));
  std::int64_t after_seq = bounds.first_seq(static_cast<std::int64_t>(from)) - 1;
  for (;;) {
    CUSTODY_ASSIGN(store::Rows rows,
                   tx.query("SELECT seq, leaf_index, leaf_hash FROM audit_events WHERE seq > $1 "
                            "ORDER BY seq LIMIT $2",
                            {after_seq, kReadChunk}));
    if (rows.empty()) return ok_status();
    after_seq = rows.back().integer(0);
    std::vector<std::pair<std::uint64_t, std::string>> leaves;
    leaves.reserve(rows.size());
    for (const auto& row : rows) {
      if (row.is_null(1)) continue;  // written before 0003 and not yet given a leaf
      const auto i = static_cast<std::uint64_t>(row.integer(1));
      if (i < from) continue;
      CUSTODY_ASSIGN(std::string h, decode_hash(row.is_null(2) ? "" : row.text(2), i));
      leaves.emplace_back(i, std::move(h));
    }
    std::uint64_t added = 0;
    {
      std::unique_lock lk(tree_mu_);
      for (auto& [i, h] : leaves) {
        if (i < next_leaf_) continue;  // another caller got here first
        if (i != next_leaf_)
          log::error("audit leaves are missing from the store; run custody audit verify",
                     {{"expected_leaf", next_leaf_}, {"found_leaf", i}});
        CUSTODY_TRY(tree_.append(h));
        next_leaf_ = i + 1;
        ++added;
      }
    }
    note_added(added);
    if (rows.size() < static_cast<std::size_t>(kReadChunk)) return ok_status();
  }
}

std::uint64_t AuditLog::size() const {
  std::shared_lock lk(tree_mu_);
  return tree_.size();
}

std::string AuditLog::root() const {
  std::shared_lock lk(tree_mu_);
  return tree_.root();
}

Result<std::optional<TreeHead>> AuditLog::latest_head(store::Tx& tx) const {
  CUSTODY_ASSIGN(store::Rows rows,
                 tx.query("SELECT tree_size, root_hash, time, key_id, signature FROM "
                          "audit_tree_heads ORDER BY tree_size DESC, time DESC, id DESC LIMIT 1"));
  if (rows.empty()) return std::optional<TreeHead>();
  TreeHead h;
  h.tree_size = static_cast<std::uint64_t>(rows[0].integer(0));
  h.root_hash = hex_decode(rows[0].text(1)).value_or("");
  h.time = rows[0].integer(2);
  h.key_id = rows[0].text(3);
  h.signature = base64url_decode(rows[0].text(4)).value_or("");
  return std::optional<TreeHead>(std::move(h));
}

Result<std::optional<TreeHead>> AuditLog::sign_head() {
  std::lock_guard sign_lk(sign_mu_);
  TreeHead head;
  {
    std::shared_lock lk(tree_mu_);
    head.tree_size = tree_.size();
    head.root_hash = tree_.root();
  }
  if (head.tree_size == 0 || head.tree_size <= signed_size_) {
    std::optional<TreeHead> latest;
    CUSTODY_TRY(store_.read([&](store::Tx& tx) -> Status {
      CUSTODY_ASSIGN(latest, latest_head(tx));
      return ok_status();
    }));
    return latest;
  }
  head.time = clock_.now();
  CUSTODY_TRY(sign_tree_head(head, key_));
  CUSTODY_TRY(store_.write_sync([&head](store::Tx& tx) -> Status {
    CUSTODY_TRY(
        tx.exec("INSERT INTO audit_tree_heads (tree_size, root_hash, time, key_id, "
                "signature) VALUES ($1, $2, $3, $4, $5)",
                {static_cast<std::int64_t>(head.tree_size), hex_encode(head.root_hash), head.time,
                 head.key_id, base64url_encode(head.signature)}));
    return ok_status();
  }));
  signed_size_ = head.tree_size;
  publish(head);
  return std::optional<TreeHead>(head);
}

void AuditLog::publish(const TreeHead& head) {
  nlohmann::json line = to_json(head);
  line["public_jwk"] = key_.public_json();
  if (!options_.sth_export_file.empty()) {
    std::ofstream out(options_.sth_export_file, std::ios::app);
    out << line.dump() << '\n';
    out.flush();
    if (!out)
      log::error("cannot append the tree head to audit.sth_export_file",
                 {{"file", options_.sth_export_file}});
  }
  if (!options_.witness_url.empty()) {
    Status st = post_json(options_.witness_url, line.dump(), std::chrono::milliseconds(5000));
    if (!st.ok())
      log::warn("the audit witness did not take the tree head",
                {{"url", options_.witness_url}, {"error", st.error().message}});
  }
}

Result<std::vector<std::string>> AuditLog::inclusion_proof(store::Tx& tx, std::uint64_t index,
                                                           std::uint64_t tree_size) const {
  StoreLeafHashes leaves(tx);
  std::shared_lock lk(tree_mu_);
  return tree_.inclusion_proof(index, tree_size, &leaves);
}

Result<std::vector<std::string>> AuditLog::consistency_proof(store::Tx& tx, std::uint64_t old_size,
                                                             std::uint64_t new_size) const {
  StoreLeafHashes leaves(tx);
  std::shared_lock lk(tree_mu_);
  return tree_.consistency_proof(old_size, new_size, &leaves);
}

Result<std::string> AuditLog::root_at(store::Tx& tx, std::uint64_t tree_size) const {
  StoreLeafHashes leaves(tx);
  std::shared_lock lk(tree_mu_);
  return tree_.root_at(tree_size, &leaves);
}

void AuditLog::start() {
  std::lock_guard lk(loop_mu_);
  if (signer_.joinable() || stopped_) return;
  signer_ = std::thread([this] { signer_loop(); });
  set_thread_name(signer_, "audit-signer");
}

void AuditLog::signer_loop() {
  using clock = std::chrono::steady_clock;
  const auto period = std::chrono::milliseconds(std::max<std::int64_t>(1, options_.sth_every_ms));
  auto last_archive = clock::now() - std::chrono::hours(1);
  std::unique_lock lk(loop_mu_);
  while (!stopping_) {
    loop_cv_.wait_for(lk, period, [&] {
      return stopping_ ||
             unsigned_leaves_.load() >= static_cast<std::uint64_t>(options_.sth_every_events);
    });
    if (stopping_) break;
    lk.unlock();
    // Leaves other nodes committed reach this node's tree here.
    Status st = store_.read([this](store::Tx& tx) { return catch_up(tx); });
    if (!st.ok()) log::warn("audit log: catch-up failed", {{"error", st.error().message}});
    unsigned_leaves_.store(0);
    auto head = sign_head();
    if (!head.ok()) log::error("cannot sign an audit tree head", {{"error", head.error().message}});
    if (options_.retention_days > 0 && clock::now() - last_archive > std::chrono::minutes(1)) {
      last_archive = clock::now();
      const Micros cutoff = clock_.now() - options_.retention_days * 86'400 * kMicrosPerSecond;
      auto moved = archive_expired(store_, cutoff, signed_size_, options_.archive_segment_events,
                                   clock_.now());
      if (!moved.ok())
        log::error("audit archiving failed", {{"error", moved.error().message}});
      else if (*moved > 0)
        log::info("archived audit events", {{"events", *moved}});
    }
    lk.lock();
  }
}

void AuditLog::stop() {
  {
    std::lock_guard lk(loop_mu_);
    if (stopped_) return;
    stopped_ = true;
    stopping_ = true;
  }
  loop_cv_.notify_all();
  if (signer_.joinable()) signer_.join();
  // Everything queued before now commits (and reaches the tree through the hook) first.
  Status flushed = store_.write_sync([](store::Tx&) { return ok_status(); });
  if (flushed.ok()) {
    auto head = sign_head();
    if (!head.ok())
      log::error("cannot sign the final audit tree head", {{"error", head.error().message}});
  } else {
    log::warn("audit log: no final tree head, the store is closed",
              {{"error", flushed.error().message}});
  }
  store_.set_commit_hook(nullptr);
  // A batch that copied the hook before it was cleared has finished once this one commits.
  (void)store_.write_sync([](store::Tx&) { return ok_status(); });
}

}  // namespace custody::audit
