// Audit event rows. See events.h.
#include "audit/events.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <iterator>

#include "audit/append_batch.h"
#include "audit/canonical_event.h"
#include "audit/index.h"
#include "audit/merkle.h"
#include "common/encoding.h"
#include "common/ids.h"
#include "common/jcs.h"

namespace custody::audit {
namespace {

using nlohmann::json;

// The API applies the configured limits.max_page_size; this only bounds what any caller may ask.
constexpr int kMaxLimit = 100'000;
constexpr std::int64_t kMaxSafeInteger = std::int64_t{1} << 53;

// Replaces every byte that does not start or continue a valid UTF-8 sequence with U+FFFD.
bool repair_utf8(std::string& s) {
  if (jcs::valid_utf8(s)) return false;
  std::string out;
  out.reserve(s.size() + 8);
  std::size_t i = 0;
  while (i < s.size()) {
    // The longest valid sequence starting at i: 1..4 bytes.
    std::size_t len = 0;
    for (std::size_t n = 1; n <= 4 && i + n <= s.size(); ++n) {
      if (jcs::valid_utf8(std::string_view(s).substr(i, n))) {
        len = n;
        break;
      }
    }
    if (len == 0) {
      out += "\xEF\xBF\xBD";
      ++i;
    } else {
      out.append(s, i, len);
      i += len;
    }
  }
  s = std::move(out);
  return true;
}

bool repair_json(json& v) {
  bool changed = false;
  switch (v.type()) {
    case json::value_t::string:
      changed = repair_utf8(v.get_ref<std::string&>());
      break;
    case json::value_t::number_integer: {
      const auto n = v.get<std::int64_t>();
      if (n > kMaxSafeInteger || n < -kMaxSafeInteger) {
        v = std::to_string(n);
        changed = true;
      }
      break;
    }
    case json::value_t::number_unsigned: {
      const auto n = v.get<std::uint64_t>();
      if (n > static_cast<std::uint64_t>(kMaxSafeInteger)) {
        v = std::to_string(n);
        changed = true;
      }
      break;
    }
    case json::value_t::number_float: {
      const double d = v.get<double>();
      if (!std::isfinite(d)) {
        v = std::isnan(d) ? "NaN" : (d > 0 ? "Infinity" : "-Infinity");
        changed = true;
      }
      break;
    }
    case json::value_t::array:
      for (auto& e : v) changed |= repair_json(e);
      break;
    case json::value_t::object: {
      bool bad_key = false;
      for (auto& [k, e] : v.items()) {
        bad_key |= !jcs::valid_utf8(k);
        changed |= repair_json(e);
      }
      if (bad_key) {  // rare: rebuild the object with repaired names
        json fixed = json::object();
        for (auto& [k, e] : v.items()) {
          std::string key = k;
          repair_utf8(key);
          fixed[key] = std::move(e);
        }
        v = std::move(fixed);
        changed = true;
      }
      break;
    }
    case json::value_t::binary:
    case json::value_t::discarded:
      v = nullptr;
      changed = true;
      break;
    default:
      break;
  }
  return changed;
}

}  // namespace

const std::string_view kEventColumns =
    "seq, id, time, actor, action, target, outcome, request_id, details, chain_root, "
    "delegation_id, leaf_index, leaf_hash";

Event event_without_details(const store::Row& row) {
  Event e;
  e.seq = row.integer(0);
  e.id = row.text(1);
  e.time = row.integer(2);
  e.actor = row.text(3);
  e.action = row.text(4);
  e.target = row.text(5);
  e.outcome = row.text(6);
  e.request_id = row.text(7);
  e.chain_root = row.text(9);
  e.delegation_id = row.text(10);
  e.leaf_index = row.opt_integer(11).value_or(-1);
  if (auto hex = row.opt_text(12)) {
    // A stored hash that is not hex is kept as its text so that verify reports the mismatch.
    e.leaf_hash = hex_decode(*hex).value_or(*hex);
  }
  return e;
}

Result<Event> event_from_row(const store::Row& row) {
  Event e = event_without_details(row);
  e.details = json::parse(row.text(8), nullptr, /*allow_exceptions=*/false);
  if (e.details.is_discarded())
    return Error::internal("audit event " + e.id + " has broken details");
  return e;
}

bool repair_for_log(Event& event) {
  bool changed = false;
  for (std::string* s : {&event.id, &event.actor, &event.action, &event.target, &event.outcome,
                         &event.request_id, &event.chain_root, &event.delegation_id})
    changed |= repair_utf8(*s);
  if (event.details.is_null()) event.details = json::object();
  changed |= repair_json(event.details);
  return changed;
}

namespace {

// Gives `event` its id, repairs it and builds what the writer needs of it.
Status prepare_parts(Event& event, std::string& details_jcs, CanonicalParts& parts) {
  if (event.id.empty()) event.id = new_id("evt", event.time);
  repair_for_log(event);
  // Stored in canonical form, so the leaf bytes reuse it and verify need not re-parse it.
  CUSTODY_ASSIGN(details_jcs, jcs::canonicalize(event.details));
  // Fails only for what repair cannot fix; nothing has been numbered yet.
  CUSTODY_ASSIGN(parts, canonical_event_parts(event, details_jcs));
  return ok_status();
}

Status append_prepared(store::Tx& tx, Event& event, const std::string& details_jcs,
                       std::string_view head, std::string_view tail) {
  AppendBatch* batch = AppendBatch::of(tx);
  if (batch != nullptr) {
    CUSTODY_ASSIGN(const auto numbers, batch->next(tx));
    event.seq = numbers.first;
    event.leaf_index = numbers.second;
  } else {
    // No batch (a bare connection): number through the counter row, event by event.
    CUSTODY_ASSIGN(store::Rows next, tx.query("UPDATE audit_log_state SET last_seq = last_seq + 1, "
                                              "leaf_count = leaf_count + 1 WHERE id = 1 "
                                              "RETURNING last_seq, leaf_count - 1"));
    if (next.empty()) return Error::internal("audit_log_state has no row");
    event.seq = next[0].integer(0);
    event.leaf_index = next[0].integer(1);
  }
  char digits[24];
  const auto printed = std::to_chars(std::begin(digits), std::end(digits), event.seq);
  event.leaf_hash = merkle::leaf_hash(
      {head, std::string_view(digits, static_cast<std::size_t>(printed.ptr - digits)), tail});
  CUSTODY_TRY(
      tx.exec("INSERT INTO audit_events (seq, id, time, actor, action, target, outcome, "
              "request_id, details, chain_root, delegation_id, leaf_index, leaf_hash) "
              "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
              {event.seq, event.id, event.time, event.actor, event.action, event.target,
               event.outcome, event.request_id, details_jcs, event.chain_root, event.delegation_id,
               event.leaf_index, hex_encode(event.leaf_hash)}));
  if (batch != nullptr) batch->appended(event.leaf_index, event.leaf_hash);
  return ok_status();
}

}  // namespace

Result<PreparedEvent> prepare(Event event) {
  PreparedEvent prepared;
  prepared.event = std::move(event);
  CanonicalParts parts;
  CUSTODY_TRY(prepare_parts(prepared.event, prepared.details_jcs, parts));
  // details_jcs holds them now. Freed here, on the caller's thread: destroying a JSON tree on
  // the writer (with the work that owns the event) cost it as much as hashing the event.
  prepared.event.details = nullptr;
  prepared.head = std::move(parts.head);
  prepared.tail = std::move(parts.tail);
  return prepared;
}

Status append(store::Tx& tx, PreparedEvent& prepared) {
  return append_prepared(tx, prepared.event, prepared.details_jcs, prepared.head, prepared.tail);
}

store::Store::Work append_work(Event event) {
  auto prepared = prepare(std::move(event));
  if (!prepared.ok()) return [error = prepared.error()](store::Tx&) -> Status { return error; };
  return [p = std::move(prepared).value()](store::Tx& tx) mutable { return append(tx, p); };
}

Status append(store::Tx& tx, Event& event) {
  std::string details_jcs;
  CanonicalParts parts;
  CUSTODY_TRY(prepare_parts(event, details_jcs, parts));
  return append_prepared(tx, event, details_jcs, parts.head, parts.tail);
}

namespace {

// Builds one part of a list() query: the events of the seq range `tail` (seq > watermark) or
// not (seq ≤ watermark), with every filter applied to the event row itself, so the derived index
// only ever narrows which rows are read, never decides what matches.
class PartQuery {
 public:
  PartQuery(const EventFilter& f, std::int64_t watermark, bool tail)
      : f_(f), watermark_(watermark), tail_(tail) {}

  // The audit_keys key to read the indexed part through (the most selective filter that has
  // one), or "" to scan audit_events by seq.
  static std::string index_key(const EventFilter& f) {
    if (f.delegation_id && !f.delegation_id->empty()) return "d:" + *f.delegation_id;
    if (f.chain_root && !f.chain_root->empty()) return "c:" + *f.chain_root;
    if (f.target && !f.target->empty()) return "t:" + *f.target;
    if (f.actor && !f.actor->empty()) return "a:" + *f.actor;
    return "";
  }

  // `seq_bounds`: an inclusive seq range that holds every indexed match (from time blocks).
  std::string sql(const std::string& key,
                  std::optional<std::pair<std::int64_t, std::int64_t>> seq_bounds,
                  std::int64_t limit) {
    const bool keyed = !tail_ && !key.empty();
    // With a key, seq is read from audit_keys so that its primary key gives the order.
    const std::string seq = keyed ? "k.seq" : "e.seq";
    std::string sql = "SELECT ";
    for (std::string_view cols = kEventColumns;;) {
      const auto comma = cols.find(", ");
      sql += "e.";
      sql += cols.substr(0, comma);
      if (comma == std::string_view::npos) break;
      sql += ", ";
      cols.remove_prefix(comma + 2);
    }
    if (keyed)
      sql += " FROM audit_keys k JOIN audit_events e ON e.seq = k.seq WHERE k.key = " + param(key);
    else
      sql += " FROM audit_events e WHERE 1 = 1";
    sql += tail_ ? " AND " + seq + " > " + param(watermark_)
                 : " AND " + seq + " <= " + param(watermark_);
    if (seq_bounds) {
      sql += " AND " + seq + " >= " + param(seq_bounds->first);
      sql += " AND " + seq + " <= " + param(seq_bounds->second);
    }
    if (f_.before_seq) sql += " AND " + seq + " < " + param(*f_.before_seq);
    if (f_.after_seq) sql += " AND " + seq + " > " + param(*f_.after_seq);
    if (f_.actor) sql += " AND e.actor = " + param(*f_.actor);
    if (f_.target) sql += " AND e.target = " + param(*f_.target);
    if (f_.action) sql += " AND e.action = " + param(*f_.action);
    if (f_.outcome) sql += " AND e.outcome = " + param(*f_.outcome);
    if (f_.chain_root) sql += " AND e.chain_root = " + param(*f_.chain_root);
    if (f_.delegation_id) sql += " AND e.delegation_id = " + param(*f_.delegation_id);
    if (f_.since) sql += " AND e.time >= " + param(*f_.since);
    if (f_.until) sql += " AND e.time <= " + param(*f_.until);
    sql += " ORDER BY " + seq + (f_.ascending ? " ASC" : " DESC");
    sql += " LIMIT " + param(limit);
    return sql;
  }

  std::span<const store::Value> params() const { return params_; }

 private:
  std::string param(store::Value v) {
    params_.push_back(std::move(v));
    return "$" + std::to_string(params_.size());
  }

  const EventFilter& f_;
  const std::int64_t watermark_;
  const bool tail_;
  std::vector<store::Value> params_;
};

// The seq range of the time blocks that overlap [since, until], or nullopt when none does (no
// indexed event can match). Blocks bound the times of indexed events only.
Result<std::optional<std::pair<std::int64_t, std::int64_t>>> time_seq_bounds(store::Tx& tx,
                                                                             const EventFilter& f) {
  std::string sql = "SELECT MIN(first_seq), MAX(first_seq) FROM audit_time_blocks WHERE 1 = 1";
  std::vector<store::Value> params;
  if (f.since) {
    params.emplace_back(*f.since);
    sql += " AND max_time >= $" + std::to_string(params.size());
  }
  if (f.until) {
    params.emplace_back(*f.until);
    sql += " AND min_time <= $" + std::to_string(params.size());
  }
  CUSTODY_ASSIGN(store::Rows rows, tx.query(sql, std::span<const store::Value>(params)));
  using Bounds = std::optional<std::pair<std::int64_t, std::int64_t>>;
  if (rows.empty() || rows[0].is_null(0)) return Bounds();
  return Bounds(std::pair(rows[0].integer(0), rows[0].integer(1) + kTimeBlockSeqs - 1));
}

}  // namespace

Result<EventPage> list(store::Tx& tx, const EventFilter& filter) {
  const int limit = std::clamp(filter.limit, 1, kMaxLimit);
  // Read once: the index only grows, so an older watermark is merely more work for the tail.
  CUSTODY_ASSIGN(const std::int64_t watermark, indexed_through(tx));
  const std::string key = PartQuery::index_key(filter);
  // Newest first: the unindexed tail holds the newest events, so it comes first.
  const bool tail_parts[2] = {!filter.ascending, filter.ascending};
  std::vector<store::Row> rows;
  for (const bool tail : tail_parts) {
    const std::int64_t want = std::int64_t{limit} + 1 - static_cast<std::int64_t>(rows.size());
    if (want <= 0) break;
    std::optional<std::pair<std::int64_t, std::int64_t>> bounds;
    if (!tail) {
      if (watermark <= 0) continue;
      if (filter.since || filter.until) {
        CUSTODY_ASSIGN(bounds, time_seq_bounds(tx, filter));
        if (!bounds) continue;
      }
    }
    PartQuery part(filter, watermark, tail);
    const std::string sql = part.sql(key, bounds, want);
    CUSTODY_ASSIGN(store::Rows got, tx.query(sql, part.params()));
    for (auto& r : got) rows.push_back(std::move(r));
  }
  EventPage page;
  for (const auto& row : rows) {
    if (page.items.size() == static_cast<std::size_t>(limit)) {
      page.next_cursor = filter.ascending ? encode_ascending_cursor(page.items.back().seq)
                                          : encode_cursor(page.items.back().seq);
      break;
    }
    CUSTODY_ASSIGN(Event e, event_from_row(row));
    page.items.push_back(std::move(e));
  }
  return page;
}

Result<Event> get_by_seq(store::Tx& tx, std::int64_t seq) {
  CUSTODY_ASSIGN(store::Rows rows, tx.query("SELECT " + std::string(kEventColumns) +
                                                " FROM audit_events WHERE seq = $1",
                                            {seq}));
  if (rows.empty()) return Error::not_found("no audit event with seq " + std::to_string(seq));
  return event_from_row(rows[0]);
}

json to_json(const Event& event) {
  json j{{"seq", event.seq},
         {"id", event.id},
         {"time", format_rfc3339(event.time)},
         {"actor", event.actor},
         {"action", event.action},
         {"target", event.target},
         {"outcome", event.outcome},
         {"request_id", event.request_id},
         {"details", event.details},
         {"chain_root", event.chain_root},
         {"delegation_id", event.delegation_id},
         {"leaf_index", nullptr},
         {"leaf_hash", nullptr}};
  if (event.leaf_index >= 0) j["leaf_index"] = event.leaf_index;
  if (!event.leaf_hash.empty()) j["leaf_hash"] = hex_encode(event.leaf_hash);
  return j;
}

json to_stored_json(const Event& event) {
  return json{{"seq", event.seq},
              {"id", event.id},
              {"time", event.time},
              {"actor", event.actor},
              {"action", event.action},
              {"target", event.target},
              {"outcome", event.outcome},
              {"request_id", event.request_id},
              {"details", event.details},
              {"chain_root", event.chain_root},
              {"delegation_id", event.delegation_id},
              {"leaf_index", event.leaf_index},
              {"leaf_hash", hex_encode(event.leaf_hash)}};
}

Result<Event> from_stored_json(const json& j) {
  if (!j.is_object()) return Error::invalid("stored event is not an object");
  Event e;
  try {
    e.seq = j.at("seq").get<std::int64_t>();
    e.id = j.at("id").get<std::string>();
    e.time = j.at("time").get<std::int64_t>();
    e.actor = j.at("actor").get<std::string>();
    e.action = j.at("action").get<std::string>();
    e.target = j.at("target").get<std::string>();
    e.outcome = j.at("outcome").get<std::string>();
    e.request_id = j.at("request_id").get<std::string>();
    e.details = j.at("details");
    e.chain_root = j.at("chain_root").get<std::string>();
    e.delegation_id = j.at("delegation_id").get<std::string>();
    e.leaf_index = j.at("leaf_index").get<std::int64_t>();
    const auto hex = j.at("leaf_hash").get<std::string>();
    e.leaf_hash = hex_decode(hex).value_or(hex);
  } catch (const json::exception& ex) {
    return Error::invalid(std::string("stored event: ") + ex.what());
  }
  return e;
}

}  // namespace custody::audit
