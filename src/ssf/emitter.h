// The Shared Signals transmitter's entry point for the rest of custody (docs/ssf.md): custody's
// security events (OpenID SSF 1.0 / CAEP 1.0) are queued here and delivered as signed SETs
// (RFC 8417) to every stream that asked for their event type, by push (RFC 8935) or poll
// (RFC 8936).
//
// enqueue() writes to the outbox inside the caller's transaction, so an event commits together
// with the change that caused it (a suspension, a revocation) or not at all; delivery happens
// after the commit, from the outbox, with retries. A stream sees its events in enqueue order.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "common/clock.h"
#include "common/result.h"
#include "store/store.h"

namespace custody::ssf {

struct CaepEvent {
  // The CAEP event name: "session-revoked", "credential-change", "token-claims-change",
  // "device-compliance-change", ... (the URI is
  // https://schemas.openid.net/secevent/caep/event-type/<type>).
  std::string type;
  // The subject as an RFC 9493 subject identifier, e.g. {"format": "opaque", "id": "agt_…"}, or a
  // "complex" one ({"format": "complex", "user": {…}, "session": {…}}).
  nlohmann::json subject;
  Micros event_timestamp = 0;
  std::string initiating_entity;  // "admin" | "user" | "policy" | "system"
  std::string reason_admin;       // English text for administrators
  // Event-specific members (e.g. "credential_type", "change_type", "claims"); merged into the
  // event object.
  nlohmann::json extra = nlohmann::json::object();
  // Groups the SETs of one underlying change (the SET "txn" claim); e.g. the request id.
  std::string txn;
};

// Queues `event` for every enabled stream subscribed to its type. A no-op (ok) when no stream is.
//
// Details (src/ssf/streams.h, set.h): "enabled" here includes paused streams, which hold the SET
// until they are enabled again; disabled streams get nothing. `type` may also be a full event
// type URI. The subject becomes the SET's top-level "sub_id" claim (SSF 1.0; a SET never has
// "sub"), the event object is caep_event_object(event), and an empty `txn` is replaced by one
// generated id shared by this event's SETs on every stream. The claims (jti, iat) are fixed now;
// the SET is signed when it is delivered (set.h says why). Costs one read of the stream table
// plus one insert per subscribed stream; never blocks on the network.
// Errors: kInvalidArgument for an empty type or a subject that is not a JSON object with
// "format"; store errors as they come (either fails the caller's work, as it should: the change
// must not commit without its event).
Status enqueue(store::Tx& tx, const CaepEvent& event);

}  // namespace custody::ssf
