// Leaf ↔ seq bounds. See leaf_seq.h.
#include "audit/leaf_seq.h"

#include <algorithm>

namespace custody::audit {

Result<LeafSeqBounds> leaf_seq_bounds(store::Tx& tx) {
  CUSTODY_ASSIGN(store::Rows state,
                 tx.query("SELECT last_seq, leaf_count FROM audit_log_state WHERE id = 1"));
  if (state.empty()) return Error::internal("audit_log_state has no row");
  // The next append gets seq last_seq + 1 and leaf leaf_count.
  const std::int64_t d_next = state[0].integer(0) + 1 - state[0].integer(1);
  // The oldest live event with a leaf: the primary key order finds it at once.
  CUSTODY_ASSIGN(store::Rows oldest,
                 tx.query("SELECT seq - leaf_index FROM audit_events WHERE leaf_index IS NOT NULL "
                          "ORDER BY seq LIMIT 1"));
  LeafSeqBounds b;
  b.d_high = d_next;
  b.d_low = oldest.empty() ? d_next : std::min(d_next, oldest[0].integer(0));
  return b;
}

}  // namespace custody::audit
