// The derived index of the audit log: what GET /api/v1/audit/events filters on, kept out of the
// append path (migration 0013, docs/audit-integrity.md "Filters without synchronous indexes").
//
// audit_events has no secondary index, so append() writes one row and its primary key. Later, in
// large batches, index_pending() derives for every event
//  - its keys in audit_keys(key, seq): "a:<actor>", "t:<target>", "c:<chain_root>",
//    "d:<delegation_id>" (no key for an empty value), and
//  - its time in audit_time_blocks: min and max time of each block of kTimeBlockSeqs seqs,
// and advances the watermark audit_index_state.indexed_through_seq in the same transaction. So
// every event with seq ≤ watermark is fully indexed, and the index is a pure function of the
// events: it can be dropped and rebuilt (set the watermark to 0) at any time.
//
// Readers (audit::list) use the index for seq ≤ watermark and read events above it directly, so
// an answer never depends on how far the indexer has got; only its cost does.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "audit/events.h"
#include "common/result.h"
#include "store/store.h"

namespace custody::audit {

inline constexpr std::int64_t kTimeBlockSeqs = 4096;
// First seq of the time block holding `seq` (seqs start at 1).
inline std::int64_t time_block_of(std::int64_t seq) {
  return (seq - 1) / kTimeBlockSeqs * kTimeBlockSeqs + 1;
}

// The audit_keys keys of an event with these fields, in the order above.
std::vector<std::string> index_keys(const std::string& actor, const std::string& target,
                                    const std::string& chain_root,
                                    const std::string& delegation_id);

// The watermark: every event with seq ≤ it is in the derived index.
Result<std::int64_t> indexed_through(store::Tx& tx);

// Indexes up to `max_events` events above the watermark: reads them on a read connection, then
// one write work (through the group commit, so it shares the appends' fsync and never holds a
// second writer lock) inserts their keys, widens their time blocks and advances the watermark,
// provided it has not moved meanwhile (another node indexed them; then nothing is written).
// Returns how many events it indexed: 0 when there were none or another node won. A failure
// rolls back only this work and leaves the watermark where it was; appends are not affected.
Result<std::int64_t> index_pending(store::Store& store, std::int64_t max_events);

// Runs index_pending on a thread of its own: at once while batches come back full, otherwise
// every `poll_ms`. Errors are logged and retried at the next poll. Thread safety: start/stop from
// one thread; stop() is idempotent and the destructor calls it.
//
// Batches are small on purpose: a batch is one work of the single group-commit writer, and every
// write queued behind it (each token's delegation record and audit event) waits until it is done.
// Writing the keys of 10,000 events held the writer for an estimated 7 ms every 200 ms under token
// load (its share of the writer's perf samples), the token endpoint's p99 tail: 10-11 ms, 6-8 ms
// with 512 (docs/benchmarks.md). Per event, small batches
// cost the writer no more CPU (BM_IndexCatchUp); they only need more commits when catching up
// alone, and under load they share the appends' commits.
class AuditIndexer {
 public:
  struct Options {
    std::int64_t batch_events = 512;
    std::int64_t poll_ms = 200;
  };
  AuditIndexer(store::Store& store, Options options);
  ~AuditIndexer();
  AuditIndexer(const AuditIndexer&) = delete;
  AuditIndexer& operator=(const AuditIndexer&) = delete;

  void start();
  void stop();

 private:
  void loop();

  store::Store& store_;
  const Options options_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace custody::audit
