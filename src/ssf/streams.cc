#include "ssf/streams.h"

#include <algorithm>
#include <chrono>
#include <mutex>

#include "common/ids.h"
#include "http/json_body.h"
#include "net/url.h"
#include "ssf/emitter.h"
#include "ssf/set.h"

namespace custody::ssf {
namespace {

using nlohmann::json;

constexpr const char* kStreamColumns =
    "id, owner, iss, audience, delivery_method, endpoint_url, authorization_header, "
    "events_requested, events_delivered, description, status, status_reason, created_at, "
    "updated_at";

std::vector<std::string> string_list(const std::string& text) {
  std::vector<std::string> out;
  json parsed = json::parse(text, nullptr, false);
  if (!parsed.is_array()) return out;
  for (const auto& item : parsed)
    if (item.is_string()) out.push_back(item.get<std::string>());
  return out;
}

Stream stream_from_row(const store::Row& row) {
  Stream s;
  s.id = row.text(0);
  s.owner = row.text(1);
  s.iss = row.text(2);
  s.aud = json::parse(row.text(3), nullptr, false);
  s.method = row.text(4);
  s.endpoint_url = row.text(5);
  s.authorization_header = row.text(6);
  s.events_requested = string_list(row.text(7));
  s.events_delivered = string_list(row.text(8));
  s.description = row.text(9);
  s.status = row.text(10);
  s.status_reason = row.text(11);
  s.created_at = row.integer(12);
  s.updated_at = row.integer(13);
  return s;
}

std::mutex listener_mu;
std::function<void()>& listener() {
  static std::function<void()> fn;
  return fn;
}

void notify_queued() {
  std::lock_guard lock(listener_mu);
  if (listener()) listener()();
}

bool delivers(const Stream& stream, const std::string& uri) {
  if (is_control_event(uri)) return true;
  return std::find(stream.events_delivered.begin(), stream.events_delivered.end(), uri) !=
         stream.events_delivered.end();
}

Status parse_delivery(Stream& stream, const json& delivery, Change change) {
  if (!delivery.is_object()) return Error::invalid("delivery must be an object", "delivery");
  CUSTODY_TRY(http::check_members(delivery, {"method", "endpoint_url", "authorization_header"}));
  CUSTODY_ASSIGN(auto method, http::opt_string(delivery, "method"));
  CUSTODY_ASSIGN(auto url, http::opt_string(delivery, "endpoint_url"));
  CUSTODY_ASSIGN(auto authorization, http::opt_string(delivery, "authorization_header"));
  if (method) {
    if (*method != kPushMethod && *method != kPollMethod)
      return Error::invalid("delivery.method must be " + std::string(kPushMethod) + " (push) or " +
                                std::string(kPollMethod) + " (poll)",
                            "delivery.method");
    stream.method = *method;
  } else if (change != Change::kUpdate) {
    stream.method = std::string(kPollMethod);
  }
  if (stream.method == kPushMethod) {
    if (url) {
      auto parsed = net::parse_endpoint_url(*url);
      if (!parsed.ok())
        return Error::invalid("delivery.endpoint_url: " + parsed.error().message,
                              "delivery.endpoint_url");
      stream.endpoint_url = *url;
    }
    if (authorization) {
      if (authorization->find_first_of("\r\n") != std::string::npos)
        return Error::invalid("delivery.authorization_header must be one line",
                              "delivery.authorization_header");
      stream.authorization_header = *authorization;
    }
    if (stream.endpoint_url.empty() || stream.endpoint_url.find("/ssf/poll/") != std::string::npos)
      if (!url)
        return Error::invalid("push delivery needs delivery.endpoint_url", "delivery.endpoint_url");
  } else {
    // Poll: custody supplies the endpoint (the caller fills it in) and nothing is sent anywhere.
    stream.authorization_header.clear();
  }
  return ok_status();
}

}  // namespace

json stream_json(const Stream& stream) {
  json delivery = {{"method", stream.method}, {"endpoint_url", stream.endpoint_url}};
  json out = {{"stream_id", stream.id},
              {"iss", stream.iss},
              {"aud", stream.aud},
              {"delivery", delivery},
              {"events_supported", events_supported()},
              {"events_requested", stream.events_requested},
              {"events_delivered", stream.events_delivered},
              {"description", stream.description}};
  return out;
}

Status apply_stream_request(Stream& stream, const json& body, Change change) {
  CUSTODY_TRY(http::check_members(body, {"stream_id", "iss", "aud", "delivery", "events_supported",
                                         "events_requested", "events_delivered", "description"}));
  if (change == Change::kReplace) {
    stream.events_requested.clear();
    stream.description.clear();
    stream.authorization_header.clear();
  }
  if (body.contains("aud") && !body["aud"].is_null()) {
    const json& aud = body["aud"];
    bool ok = aud.is_string() && !aud.get<std::string>().empty();
    if (aud.is_array()) {
      ok = !aud.empty();
      for (const auto& a : aud) ok = ok && a.is_string() && !a.get<std::string>().empty();
    }
    if (!ok)
      return Error::invalid("aud must be a non-empty string or array of non-empty strings", "aud");
    stream.aud = aud;
  }
  if (body.contains("delivery") && !body["delivery"].is_null()) {
    CUSTODY_TRY(parse_delivery(stream, body["delivery"], change));
  } else if (change != Change::kUpdate) {
    CUSTODY_TRY(parse_delivery(stream, json::object(), change));
  }
  CUSTODY_ASSIGN(auto requested, http::opt_string_list(body, "events_requested"));
  if (requested) {
    for (const auto& uri : *requested)
      if (uri.empty() || uri.find(':') == std::string::npos)
        return Error::invalid("events_requested must list event type URIs", "events_requested");
    stream.events_requested = *requested;
  }
  CUSTODY_ASSIGN(auto description, http::opt_string(body, "description"));
  if (description) stream.description = *description;
  stream.events_delivered.clear();
  for (const auto& uri : stream.events_requested) {
    const auto& supported = events_supported();
    if (std::find(supported.begin(), supported.end(), uri) != supported.end() &&
        std::find(stream.events_delivered.begin(), stream.events_delivered.end(), uri) ==
            stream.events_delivered.end())
      stream.events_delivered.push_back(uri);
  }
  return ok_status();
}

Result<std::optional<Stream>> find_stream(store::Tx& tx, const std::string& id) {
  CUSTODY_ASSIGN(
      auto rows,
      tx.query(std::string("SELECT ") + kStreamColumns + " FROM ssf_streams WHERE id = $1", {id}));
  if (rows.empty()) return std::optional<Stream>();
  return std::optional<Stream>(stream_from_row(rows.front()));
}

Result<std::vector<Stream>> list_streams(store::Tx& tx, const std::optional<std::string>& owner) {
  std::string sql = std::string("SELECT ") + kStreamColumns + " FROM ssf_streams";
  store::Rows rows;
  if (owner) {
    CUSTODY_ASSIGN(rows, tx.query(sql + " WHERE owner = $1 ORDER BY id", {*owner}));
  } else {
    CUSTODY_ASSIGN(rows, tx.query(sql + " ORDER BY id"));
  }
  std::vector<Stream> out;
  for (const auto& row : rows) out.push_back(stream_from_row(row));
  return out;
}

Status insert_stream(store::Tx& tx, const Stream& s) {
  CUSTODY_TRY(
      tx.exec(std::string("INSERT INTO ssf_streams (") + kStreamColumns +
                  ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
              {s.id, s.owner, s.iss, s.aud.dump(), s.method, s.endpoint_url, s.authorization_header,
               json(s.events_requested).dump(), json(s.events_delivered).dump(), s.description,
               s.status, s.status_reason, s.created_at, s.updated_at}));
  return ok_status();
}

Status update_stream(store::Tx& tx, const Stream& s) {
  CUSTODY_ASSIGN(auto changed,
                 tx.exec("UPDATE ssf_streams SET audience = $2, delivery_method = $3, "
                         "endpoint_url = $4, authorization_header = $5, events_requested = $6, "
                         "events_delivered = $7, description = $8, status = $9, "
                         "status_reason = $10, updated_at = $11 WHERE id = $1",
                         {s.id, s.aud.dump(), s.method, s.endpoint_url, s.authorization_header,
                          json(s.events_requested).dump(), json(s.events_delivered).dump(),
                          s.description, s.status, s.status_reason, s.updated_at}));
  if (changed == 0) return Error::not_found("no stream " + s.id);
  return ok_status();
}

Status delete_stream(store::Tx& tx, const std::string& id) {
  CUSTODY_TRY(tx.exec("DELETE FROM ssf_outbox WHERE stream_id = $1", {id}));
  CUSTODY_ASSIGN(auto changed, tx.exec("DELETE FROM ssf_streams WHERE id = $1", {id}));
  if (changed == 0) return Error::not_found("no stream " + id);
  return ok_status();
}

Status set_stream_status(store::Tx& tx, Stream& stream, const std::string& status,
                         const std::string& reason, Micros now) {
  if (status != "enabled" && status != "paused" && status != "disabled")
    return Error::invalid("status must be enabled, paused or disabled", "status");
  if (stream.status == status && stream.status_reason == reason) return ok_status();
  stream.status = status;
  stream.status_reason = reason;
  stream.updated_at = now;
  CUSTODY_TRY(update_stream(tx, stream));
  if (status == "disabled") {
    CUSTODY_TRY(
        tx.exec("DELETE FROM ssf_outbox WHERE stream_id = $1 AND state = 'pending'", {stream.id}));
    return ok_status();
  }
  json event = {{"status", status}};
  if (!reason.empty()) event["reason"] = reason;
  return queue_set(tx, stream, ssf_uri("stream-updated"), {{"format", "opaque"}, {"id", stream.id}},
                   event, "", now);
}

Status queue_set(store::Tx& tx, const Stream& stream, const std::string& event_uri,
                 const json& sub_id, const json& event, const std::string& txn, Micros now) {
  if (stream.status == "disabled") return ok_status();
  SetClaims set;
  set.iss = stream.iss;
  set.aud = stream.aud;
  set.jti = new_id("set", now);
  set.iat = now;
  set.txn = txn.empty() ? new_id("txn", now) : txn;
  set.sub_id = sub_id;
  set.event_uri = event_uri;
  set.event = event;
  CUSTODY_TRY(tx.exec(
      "INSERT INTO ssf_outbox (stream_id, jti, event_type, claims, state, attempts, "
      "next_attempt_at, last_error, created_at) VALUES ($1, $2, $3, $4, 'pending', 0, $5, '', $5)",
      {stream.id, set.jti, event_uri, set_claims(set).dump(), now}));
  notify_queued();
  return ok_status();
}

Status queue_verification(store::Tx& tx, const Stream& stream,
                          const std::optional<std::string>& state, Micros now) {
  json event = json::object();
  if (state) event["state"] = *state;
  return queue_set(tx, stream, ssf_uri("verification"), {{"format", "opaque"}, {"id", stream.id}},
                   event, "", now);
}

Result<std::vector<QueuedSet>> pending_sets(store::Tx& tx, const std::string& stream_id,
                                            std::int64_t limit,
                                            const std::vector<std::string>& except) {
  // The skipped jtis are few (one poll's acks); fetch that many more and filter here, which keeps
  // the statement the same on both backends.
  CUSTODY_ASSIGN(auto rows,
                 tx.query("SELECT seq, stream_id, jti, event_type, claims, attempts, "
                          "next_attempt_at FROM ssf_outbox WHERE stream_id = $1 AND state = "
                          "'pending' ORDER BY seq LIMIT $2",
                          {stream_id, limit + static_cast<std::int64_t>(except.size())}));
  std::vector<QueuedSet> out;
  for (const auto& row : rows) {
    if (static_cast<std::int64_t>(out.size()) >= limit) break;
    if (std::find(except.begin(), except.end(), row.text(2)) != except.end()) continue;
    QueuedSet set;
    set.seq = row.integer(0);
    set.stream_id = row.text(1);
    set.jti = row.text(2);
    set.event_type = row.text(3);
    set.claims = json::parse(row.text(4), nullptr, false);
    set.attempts = row.integer(5);
    set.next_attempt_at = row.integer(6);
    out.push_back(std::move(set));
  }
  return out;
}

Status mark_delivered(store::Tx& tx, const std::string& stream_id, const std::string& jti,
                      Micros now) {
  CUSTODY_TRY(
      tx.exec("UPDATE ssf_outbox SET state = 'delivered', done_at = $3 WHERE stream_id = "
              "$1 AND jti = $2 AND state = 'pending'",
              {stream_id, jti, now}));
  return ok_status();
}

Status mark_failed(store::Tx& tx, const std::string& stream_id, const std::string& jti,
                   const std::string& error, Micros now) {
  CUSTODY_TRY(
      tx.exec("UPDATE ssf_outbox SET state = 'failed', last_error = $3, done_at = $4, "
              "attempts = attempts + 1 WHERE stream_id = $1 AND jti = $2 AND state = "
              "'pending'",
              {stream_id, jti, error, now}));
  return ok_status();
}

Status mark_retry(store::Tx& tx, const std::string& stream_id, const std::string& jti,
                  const std::string& error, Micros next_attempt_at) {
  CUSTODY_TRY(
      tx.exec("UPDATE ssf_outbox SET attempts = attempts + 1, last_error = $3, "
              "next_attempt_at = $4 WHERE stream_id = $1 AND jti = $2 AND state = "
              "'pending'",
              {stream_id, jti, error, next_attempt_at}));
  return ok_status();
}

Result<std::optional<SetState>> set_state(store::Tx& tx, const std::string& stream_id,
                                          const std::string& jti) {
  CUSTODY_ASSIGN(auto rows, tx.query("SELECT state, attempts, last_error FROM ssf_outbox WHERE "
                                     "stream_id = $1 AND jti = $2",
                                     {stream_id, jti}));
  if (rows.empty()) return std::optional<SetState>();
  return std::optional<SetState>(SetState{rows[0].text(0), rows[0].integer(1), rows[0].text(2)});
}

Result<std::int64_t> purge_settled(store::Tx& tx, Micros before) {
  return tx.exec("DELETE FROM ssf_outbox WHERE state <> 'pending' AND done_at < $1", {before});
}

void set_queue_listener(std::function<void()> fn) {
  std::lock_guard lock(listener_mu);
  listener() = std::move(fn);
}

Status enqueue(store::Tx& tx, const CaepEvent& event) {
  if (event.type.empty()) return Error::invalid("a security event needs a type", "type");
  if (!event.subject.is_object() || !event.subject.contains("format"))
    return Error::invalid("a security event's subject must be an RFC 9493 subject identifier",
                          "subject");
  std::string uri = event.type.find("://") != std::string::npos ? event.type : caep_uri(event.type);
  Micros now = std::chrono::duration_cast<std::chrono::microseconds>(
                   std::chrono::system_clock::now().time_since_epoch())
                   .count();
  CUSTODY_ASSIGN(auto rows, tx.query(std::string("SELECT ") + kStreamColumns +
                                     " FROM ssf_streams WHERE status <> 'disabled' ORDER BY id"));
  // One txn for the copies of this event on every stream (SSF: txn identifies the underlying
  // change).
  std::string txn = event.txn;
  json object = caep_event_object(event);
  for (const auto& row : rows) {
    Stream stream = stream_from_row(row);
    if (is_control_event(uri) || !delivers(stream, uri)) continue;
    if (txn.empty()) txn = new_id("txn", now);
    CUSTODY_TRY(queue_set(tx, stream, uri, event.subject, object, txn, now));
  }
  return ok_status();
}

}  // namespace custody::ssf
