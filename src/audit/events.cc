// Audit event rows. See events.h.
#include "audit/events.h"

#include <algorithm>

#include "common/ids.h"

namespace custody::audit {
namespace {

using nlohmann::json;

// The API applies the configured limits.max_page_size; this only bounds what any caller may ask.
constexpr int kMaxLimit = 100'000;
constexpr std::string_view kColumns =
    "seq, id, time, actor, action, target, outcome, request_id, details";

Result<Event> from_row(const store::Row& row) {
  Event e;
  e.seq = row.integer(0);
  e.id = row.text(1);
  e.time = row.integer(2);
  e.actor = row.text(3);
  e.action = row.text(4);
  e.target = row.text(5);
  e.outcome = row.text(6);
  e.request_id = row.text(7);
  e.details = json::parse(row.text(8), nullptr, /*allow_exceptions=*/false);
  if (e.details.is_discarded())
    return Error::internal("audit event " + e.id + " has broken details");
  return e;
}

}  // namespace

Status append(store::Tx& tx, Event& event) {
  if (event.id.empty()) event.id = new_id("evt", event.time);
  if (event.details.is_null()) event.details = json::object();
  // replace: an invalid UTF-8 byte from a refused request must not make the event unwritable.
  const std::string details = event.details.dump(-1, ' ', false, json::error_handler_t::replace);
  CUSTODY_ASSIGN(store::Rows rows,
                 tx.query("INSERT INTO audit_events (id, time, actor, action, target, outcome, "
                          "request_id, details) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) "
                          "RETURNING seq",
                          {event.id, event.time, event.actor, event.action, event.target,
                           event.outcome, event.request_id, details}));
  if (rows.empty()) return Error::internal("INSERT ... RETURNING seq returned no row");
  event.seq = rows[0].integer(0);
  return ok_status();
}

Result<EventPage> list(store::Tx& tx, const EventFilter& filter) {
  const int limit = std::clamp(filter.limit, 1, kMaxLimit);
  std::vector<store::Value> params;
  auto param = [&params](store::Value v) {
    params.push_back(std::move(v));
    return "$" + std::to_string(params.size());
  };
  std::string sql = "SELECT " + std::string(kColumns) + " FROM audit_events WHERE 1 = 1";
  if (filter.actor) sql += " AND actor = " + param(*filter.actor);
  if (filter.target) sql += " AND target = " + param(*filter.target);
  if (filter.action) sql += " AND action = " + param(*filter.action);
  if (filter.outcome) sql += " AND outcome = " + param(*filter.outcome);
  if (filter.since) sql += " AND time >= " + param(*filter.since);
  if (filter.until) sql += " AND time <= " + param(*filter.until);
  if (filter.before_seq) sql += " AND seq < " + param(*filter.before_seq);
  sql += " ORDER BY seq DESC LIMIT " + param(std::int64_t{limit} + 1);

  CUSTODY_ASSIGN(store::Rows rows, tx.query(sql, std::span<const store::Value>(params)));
  EventPage page;
  for (const auto& row : rows) {
    if (page.items.size() == static_cast<std::size_t>(limit)) {
      page.next_cursor = encode_cursor(page.items.back().seq);
      break;
    }
    CUSTODY_ASSIGN(Event e, from_row(row));
    page.items.push_back(std::move(e));
  }
  return page;
}

json to_json(const Event& event) {
  return json{{"seq", event.seq},
              {"id", event.id},
              {"time", format_rfc3339(event.time)},
              {"actor", event.actor},
              {"action", event.action},
              {"target", event.target},
              {"outcome", event.outcome},
              {"request_id", event.request_id},
              {"details", event.details}};
}

}  // namespace custody::audit
