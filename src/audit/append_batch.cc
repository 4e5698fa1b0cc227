// The audit log's state within one group-commit batch. See append_batch.h.
#include "audit/append_batch.h"

#include <memory>

namespace custody::audit {

AppendBatch* AppendBatch::of(store::Tx& tx) {
  if (store::BatchState* s = tx.batch_state(kKey)) return static_cast<AppendBatch*>(s);
  auto fresh = std::make_unique<AppendBatch>();
  AppendBatch* batch = fresh.get();
  return tx.set_batch_state(kKey, std::move(fresh)) ? batch : nullptr;
}

const AppendBatch* AppendBatch::committed(store::Tx& tx) {
  const auto* batch = static_cast<const AppendBatch*>(tx.batch_state(kKey));
  return batch != nullptr && !batch->leaves_.empty() ? batch : nullptr;
}

Result<std::pair<std::int64_t, std::int64_t>> AppendBatch::next(store::Tx& tx) {
  if (!loaded_) {
    // A no-op UPDATE rather than a SELECT: on PostgreSQL it locks the row until COMMIT, so
    // another node's appends wait for this batch and the numbers counted here stay exact.
    CUSTODY_ASSIGN(store::Rows row, tx.query("UPDATE audit_log_state SET last_seq = last_seq "
                                             "WHERE id = 1 RETURNING last_seq, leaf_count"));
    if (row.empty()) return Error::internal("audit_log_state has no row");
    base_seq_ = row[0].integer(0);
    base_leaf_ = row[0].integer(1);
    next_seq_ = kept_seq_ = base_seq_ + 1;
    next_leaf_ = kept_leaf_ = base_leaf_;
    kept_leaves_ = leaves_.size();
    loaded_ = true;
    loaded_by_current_work_ = true;
  }
  return std::pair{next_seq_++, next_leaf_++};
}

void AppendBatch::appended(std::int64_t leaf_index, std::string leaf_hash) {
  leaves_.emplace_back(leaf_index, std::move(leaf_hash));
}

void AppendBatch::work_kept() {
  kept_seq_ = next_seq_;
  kept_leaf_ = next_leaf_;
  kept_leaves_ = leaves_.size();
  loaded_by_current_work_ = false;
}

void AppendBatch::work_undone() {
  if (loaded_by_current_work_) {
    // The counter's read was rolled back with the work (and, on PostgreSQL, its row lock):
    // the next append reads it again.
    loaded_ = false;
    leaves_.clear();
  } else {
    next_seq_ = kept_seq_;
    next_leaf_ = kept_leaf_;
    leaves_.resize(kept_leaves_);
  }
  loaded_by_current_work_ = false;
}

Status AppendBatch::before_commit(store::Tx& tx) {
  if (!loaded_ || next_seq_ == base_seq_ + 1) return ok_status();
  CUSTODY_TRY(tx.exec("UPDATE audit_log_state SET last_seq = $1, leaf_count = $2 WHERE id = 1",
                      {next_seq_ - 1, next_leaf_}));
  return ok_status();
}

}  // namespace custody::audit
