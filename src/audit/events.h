// Audit events: one per mutation (written in the mutation's own transaction) and one per refused
// request. Events are append-only rows. Each is a leaf of the audit Merkle tree
// (docs/audit-integrity.md): append() gives it a dense seq and a dense 0-based leaf index and
// stores its leaf hash, SHA-256(0x00 || canonical_event(e)), so an event's fields are fixed at
// append time and never updated. The tree itself, signed heads and proofs are audit/log.h.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.h"
#include "common/result.h"
#include "store/store.h"

namespace custody::audit {

struct Event {
  std::int64_t seq = 0;  // assigned by the store on append
  std::string id;        // evt_…, assigned on append when empty
  Micros time = 0;
  std::string actor;    // tok_… / usr_… / "anonymous" / "system"
  std::string action;   // "identity.create", "request.refused", ...
  std::string target;   // the object acted on, when there is one
  std::string outcome;  // "success" or the refusal's code name ("conflict", ...)
  std::string request_id;
  nlohmann::json details = nlohmann::json::object();  // never secrets
  // Delegation attribution (filled by the OAuth layer): the identity that initiated the
  // delegation chain the actor acts in, and the delegation record; "" when none.
  std::string chain_root;
  std::string delegation_id;
  // Set by append() and by the readers: the event's leaf in the audit Merkle tree.
  std::int64_t leaf_index = -1;
  std::string leaf_hash;  // 32 raw bytes
};

// Appends `event` in `tx`, filling id (when empty), seq, leaf_index and leaf_hash. The caller
// sets time. seq and leaf_index come from the audit_log_state row in the same transaction, so
// they are dense and in the same order even when savepoints roll back (PostgreSQL sequences
// would skip). A value that has no canonical form is repaired first (repair_for_log); the
// event is refused (kInvalidArgument) only if it still cannot be canonicalised, so nothing
// unverifiable is ever stored. The tree learns of the leaf after COMMIT (AuditLog's commit
// hook).
Status append(store::Tx& tx, Event& event);

// An event made ready for append() on the caller's thread: id given, repaired, details
// canonicalised, and its canonical bytes built around the seq that only the writer knows. The
// group-commit writer is the store's one serial thread, so what moves off it is throughput: a
// prepared event leaves the writer only numbering, hashing and inserting. Hot paths (token
// issuance, the gateway) prepare before store.write(); append(tx, Event&) prepares inline.
struct PreparedEvent {
  Event event;              // details null (see details_jcs); append() fills seq, leaf_index, hash
  std::string details_jcs;  // RFC 8785 form of event.details, as stored
  std::string head, tail;   // canonical_event(event) = head + decimal seq + tail
};
// Fails (kInvalidArgument) only for what repair_for_log cannot fix.
Result<PreparedEvent> prepare(Event event);
// append() for a prepared event. Within a group-commit batch the counter row is read once per
// batch and written back before COMMIT (append_batch.h); the numbers are the same.
Status append(store::Tx& tx, PreparedEvent& prepared);

// A store work that appends `event`, prepared now on the caller's thread; for the common
// store.write(append_work(e), done). If `event` cannot be canonicalised, the work fails with
// that error (kInvalidArgument) and writes nothing.
store::Store::Work append_work(Event event);

// Makes `event` canonicalisable without losing information a reader needs: invalid UTF-8 in any
// string or member name becomes U+FFFD per bad byte; integers beyond ±2^53 and NaN/Infinity in
// details become their decimal text. Returns true when something changed.
bool repair_for_log(Event& event);

struct EventFilter {
  std::optional<std::string> actor, target, action, outcome, chain_root, delegation_id;
  std::optional<Micros> since, until;      // inclusive bounds on time
  std::optional<std::int64_t> before_seq;  // cursor (newest first): only events with seq < this
  std::optional<std::int64_t> after_seq;   // ascending order: only events with seq > this
  bool ascending = false;                  // oldest first (export, --follow)
  int limit = 100;
};

struct EventPage {
  std::vector<Event> items;                // newest first (ascending: oldest first)
  std::optional<std::string> next_cursor;  // encode_cursor(seq of the last item, order)
};

// The caller bounds limit (limits.max_page_size); it is clamped to 1..100000 here. Exact whatever
// the derived index (index.h) has reached: events above its watermark are read directly, those
// at or below it through audit_keys (actor, target, chain_root, delegation_id) or the time
// blocks (since, until); every filter is still checked on the event row itself.
Result<EventPage> list(store::Tx& tx, const EventFilter& filter);

// Page cursors are opaque to clients; they encode the seq to continue below (or, ascending,
// above).
std::string encode_cursor(std::int64_t before_seq);
Result<std::int64_t> decode_cursor(std::string_view cursor);  // kInvalidArgument, field "cursor"
std::string encode_ascending_cursor(std::int64_t after_seq);
// A cursor of either kind: sets filter.before_seq or filter.after_seq and filter.ascending.
Status apply_cursor(std::string_view cursor, EventFilter& filter);

// The event with this seq in audit_events (not archived); kNotFound otherwise.
Result<Event> get_by_seq(store::Tx& tx, std::int64_t seq);

// The stored columns every reader selects, in from_row's order.
extern const std::string_view kEventColumns;
// An Event from a row of kEventColumns (leaf_index -1 and leaf_hash "" when NULL).
Result<Event> event_from_row(const store::Row& row);
// The same with details left null, for readers that use column 8's text as it is stored.
Event event_without_details(const store::Row& row);

// The API form: RFC 3339 time, leaf hash in hex, leaf_index null when unassigned.
nlohmann::json to_json(const Event& event);
// The storage form used by archive segments and export: every column, time in µs, leaf hash hex.
nlohmann::json to_stored_json(const Event& event);
Result<Event> from_stored_json(const nlohmann::json& j);

}  // namespace custody::audit
