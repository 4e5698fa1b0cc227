// Internal to src/audit: the audit log's state within one group-commit batch (store::BatchState).
//
// Appending used to cost one UPDATE … RETURNING of the audit_log_state counter row per event,
// and the commit hook read every appended leaf back from audit_events. Within a batch the writer
// holds the transaction alone, so the counter is read (and, on PostgreSQL, row-locked) once by
// the batch's first append, advanced in memory by each append, and written back once before
// COMMIT; the leaves appended are kept here and given to the tree by the commit hook without a
// read. A work that fails rolls its rows back to its savepoint, and work_undone() rolls these
// numbers back with them, so seq and leaf indices stay dense.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/result.h"
#include "store/store.h"

namespace custody::audit {

class AppendBatch final : public store::BatchState {
 public:
  static constexpr std::string_view kKey = "audit.append";

  // This batch's state in `tx`, created on first use; nullptr where `tx` has no batch (the
  // caller then takes its numbers from the counter row one event at a time).
  static AppendBatch* of(store::Tx& tx);
  // The committed batch's state, for the commit hook; nullptr when the batch appended nothing.
  static const AppendBatch* committed(store::Tx& tx);

  // The next seq and leaf index, reading the counter row on the batch's first call.
  Result<std::pair<std::int64_t, std::int64_t>> next(store::Tx& tx);
  // Records the leaf just inserted (index from next(), 32-byte hash).
  void appended(std::int64_t leaf_index, std::string leaf_hash);

  // The leaves this batch appended, in leaf order.
  const std::vector<std::pair<std::int64_t, std::string>>& leaves() const { return leaves_; }

  void work_kept() override;
  void work_undone() override;
  Status before_commit(store::Tx& tx) override;

 private:
  bool loaded_ = false;
  bool loaded_by_current_work_ = false;
  std::int64_t base_seq_ = 0, base_leaf_ = 0;  // the counter row as read
  std::int64_t next_seq_ = 0, next_leaf_ = 0;  // what the next append gets
  // What the kept works had reached: a failed work rolls back to here.
  std::int64_t kept_seq_ = 0, kept_leaf_ = 0;
  std::size_t kept_leaves_ = 0;
  std::vector<std::pair<std::int64_t, std::string>> leaves_;
};

}  // namespace custody::audit
