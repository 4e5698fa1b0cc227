// Event streams (SSF 1.0 §8.1) and their outbox of SETs, in the store. Domain code without HTTP:
// src/api/ssf_routes.cc adapts requests to these functions, the Transmitter (transmitter.h) reads
// the outbox to push, and enqueue() (emitter.h) writes to it.
//
// Outbox semantics. Each stream has its own queue ordered by seq. A SET is "pending" until it is
// delivered (push: the receiver answered 2xx; poll: the receiver acknowledged its jti) or failed
// (push: the receiver answered 400, or every attempt failed; poll: the receiver reported it in
// setErrs). Events are queued for streams that are enabled or paused (a paused stream holds them,
// in order, until it is enabled again); a disabled stream gets nothing, and disabling a stream
// drops what it had pending (SSF 1.0 §8.1.2).
#pragma once

#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/result.h"
#include "store/store.h"

namespace custody::ssf {

struct Stream {
  std::string id;     // "ssf_…"
  std::string owner;  // the client id (or admin actor) that created it
  std::string iss;
  nlohmann::json aud;
  std::string method;                // kPushMethod | kPollMethod
  std::string endpoint_url;          // push: receiver's; poll: custody's
  std::string authorization_header;  // push only; never shown back
  std::vector<std::string> events_requested;
  std::vector<std::string> events_delivered;
  std::string description;
  std::string status = "enabled";  // enabled | paused | disabled
  std::string status_reason;
  Micros created_at = 0;
  Micros updated_at = 0;
};

// The stream configuration as SSF 1.0 §8.1.1 shows it (stream_id, iss, aud, delivery,
// events_supported, events_requested, events_delivered, description). The push
// authorization_header is a secret and is not included.
nlohmann::json stream_json(const Stream& stream);

// The receiver-supplied members of a create (POST) or replace (PUT) request, or of an update
// (PATCH: only what is present changes). Refuses unknown members, a bad delivery method or URL,
// and events that are not URIs. `events_delivered` becomes requested ∩ supported.
// Transmitter-supplied members (iss, events_supported, events_delivered) are accepted and ignored
// when present, so that a receiver can PUT back what it read.
enum class Change { kCreate, kReplace, kUpdate };
Status apply_stream_request(Stream& stream, const nlohmann::json& body, Change change);

// Store access. All run inside the caller's transaction.
Result<std::optional<Stream>> find_stream(store::Tx& tx, const std::string& id);
// Every stream, or the streams of `owner`, oldest first.
Result<std::vector<Stream>> list_streams(store::Tx& tx, const std::optional<std::string>& owner);
Status insert_stream(store::Tx& tx, const Stream& stream);
Status update_stream(store::Tx& tx, const Stream& stream);
// Deletes the stream and its outbox.
Status delete_stream(store::Tx& tx, const std::string& id);
// Changes the status. Disabling drops the pending SETs; every change to enabled or paused queues
// a stream-updated event (held by a paused stream like any other). No-op when unchanged.
Status set_stream_status(store::Tx& tx, Stream& stream, const std::string& status,
                         const std::string& reason, Micros now);

// Queues one SET for `stream` (any status but disabled). `sub_id` is the RFC 9493 subject.
Status queue_set(store::Tx& tx, const Stream& stream, const std::string& event_uri,
                 const nlohmann::json& sub_id, const nlohmann::json& event, const std::string& txn,
                 Micros now);
// Queues a verification event (SSF 1.0 §8.1.4) whose sub_id is the stream.
Status queue_verification(store::Tx& tx, const Stream& stream,
                          const std::optional<std::string>& state, Micros now);

struct QueuedSet {
  std::int64_t seq = 0;
  std::string stream_id;
  std::string jti;
  std::string event_type;
  nlohmann::json claims;
  std::int64_t attempts = 0;
  Micros next_attempt_at = 0;
};

// The stream's pending SETs in order, at most `limit`, skipping the jtis in `except`.
Result<std::vector<QueuedSet>> pending_sets(store::Tx& tx, const std::string& stream_id,
                                            std::int64_t limit,
                                            const std::vector<std::string>& except = {});
// Pending → delivered (an ack or a push 2xx). Unknown or already settled jtis are ignored, as
// RFC 8936 lets a receiver acknowledge twice.
Status mark_delivered(store::Tx& tx, const std::string& stream_id, const std::string& jti,
                      Micros now);
// Pending → failed, with the receiver's error.
Status mark_failed(store::Tx& tx, const std::string& stream_id, const std::string& jti,
                   const std::string& error, Micros now);
// Records a failed attempt; the SET stays pending until `next_attempt_at`.
Status mark_retry(store::Tx& tx, const std::string& stream_id, const std::string& jti,
                  const std::string& error, Micros next_attempt_at);

// Called on the writer thread (inside the transaction, so before the commit) whenever a SET is
// queued; the Transmitter uses it to look at the outbox sooner than its periodic scan. One
// listener per process; an empty function removes it.
void set_queue_listener(std::function<void()> listener);

// Deletes delivered and failed SETs settled before `before`; the number deleted. The outbox is a
// queue, not a log: the audit log records what matters (failures, stream changes).
Result<std::int64_t> purge_settled(store::Tx& tx, Micros before);

struct SetState {
  std::string state;
  std::int64_t attempts = 0;
  std::string last_error;
};
// Delivery state of one SET (for status and tests); nullopt when unknown.
Result<std::optional<SetState>> set_state(store::Tx& tx, const std::string& stream_id,
                                          const std::string& jti);

}  // namespace custody::ssf
