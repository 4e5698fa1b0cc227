// Retention: audit events older than audit.retention_days move out of audit_events into
// compressed archive segments (table audit_archive_segments). Their leaf hashes stay in the
// Merkle tree: a segment keeps the hex of its leaves' hashes beside the zlib-compressed JSON Lines
// of its rows, so proofs still cover archived leaves and `custody audit verify` decompresses
// every segment and recomputes every leaf (a corrupted segment is reported as such).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "audit/events.h"
#include "common/clock.h"
#include "common/result.h"
#include "store/store.h"

namespace custody::audit {

// Moves the oldest events, in leaf order, into segments of at most `segment_events`, while they
// are older than `cutoff`, below leaf `max_leaf` (only leaves a signed head covers) and
// contiguous. Each segment is written and its rows deleted in one transaction. Returns the
// number of events moved.
Result<std::int64_t> archive_expired(store::Store& store, Micros cutoff, std::uint64_t max_leaf,
                                     std::int64_t segment_events, Micros now);

// zlib compression of a segment's JSON Lines, and its reverse (kUnprocessable when the bytes
// are not a complete zlib stream).
std::string compress_segment(const std::string& jsonl);
Result<std::string> decompress_segment(const std::string& compressed);

// The events of a segment row's `events` column (base64 of the compressed JSON Lines), in
// order; kUnprocessable naming what is broken.
Result<std::vector<Event>> segment_events(const std::string& events_column);

// The event with this seq, whether still in audit_events or archived (then read from its
// segment); kNotFound when there is none.
Result<Event> find_event(store::Tx& tx, std::int64_t seq);

}  // namespace custody::audit
