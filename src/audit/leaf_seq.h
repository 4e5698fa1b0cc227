// Finding leaves through seq, so that audit_events needs no index on leaf_index.
//
// Why it works: append() takes seq and leaf index from the same counter row in one statement,
// so both grow by one per event and seq − leaf_index is one constant D for every event appended
// since migration 0003. Events stored before 0003 may have gaps in seq (a PostgreSQL sequence
// skips on rollback) and got their leaves later in seq order (assign_missing_leaves), so across
// the whole log D never decreases from one leaf to the next. Hence the events of leaves
// [begin, end) have seq in [begin + D_low, end − 1 + D_high], where D_low is the D of the oldest
// event in audit_events and D_high that of the next append (audit_log_state). Readers select
// that seq range through the primary key and keep the rows whose leaf_index is in [begin, end).
// In a log without legacy gaps D_low = D_high (= 1 in a store created at 0003 or later) and the
// range is exact.
#pragma once

#include <cstdint>

#include "common/result.h"
#include "store/store.h"

namespace custody::audit {

struct LeafSeqBounds {
  std::int64_t d_low = 1;   // lower bound of seq − leaf_index over every stored leaf
  std::int64_t d_high = 1;  // upper bound of the same
  // Inclusive seq bounds of the events holding leaves [begin, end) (begin < end).
  std::int64_t first_seq(std::int64_t begin) const { return begin + d_low; }
  std::int64_t last_seq(std::int64_t end) const { return end - 1 + d_high; }
};

// Reads both bounds (two single-row queries). A bound read earlier stays valid for d_low
// (archiving only raises the oldest D) but not for d_high (legacy leaves are assigned at
// start-up), so callers that cache keep only d_low.
Result<LeafSeqBounds> leaf_seq_bounds(store::Tx& tx);

}  // namespace custody::audit
