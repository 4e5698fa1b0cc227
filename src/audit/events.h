// Audit events: one per mutation (written in the mutation's own transaction) and one per refused
// request. Events are append-only rows with a sequence number; the tamper-evident chain (Merkle
// tree, signed heads) is built over their canonical JSON in a later layer, so an event's fields
// are fixed at append time and never updated.
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
};

// Appends `event` in `tx`, filling id (when empty) and seq. The caller sets time.
Status append(store::Tx& tx, Event& event);

struct EventFilter {
  std::optional<std::string> actor, target, action, outcome;
  std::optional<Micros> since, until;      // inclusive bounds on time
  std::optional<std::int64_t> before_seq;  // cursor: only events with seq < this
  int limit = 100;
};

struct EventPage {
  std::vector<Event> items;                // newest first
  std::optional<std::string> next_cursor;  // encode_cursor(seq of the last item)
};

// The caller bounds limit (limits.max_page_size); it is clamped to 1..100000 here.
Result<EventPage> list(store::Tx& tx, const EventFilter& filter);

// Page cursors are opaque to clients; they encode the seq to continue below.
std::string encode_cursor(std::int64_t before_seq);
Result<std::int64_t> decode_cursor(std::string_view cursor);  // kInvalidArgument, field "cursor"

nlohmann::json to_json(const Event& event);

}  // namespace custody::audit
