// The canonical bytes of an audit event: the entry hashed into the audit Merkle tree
// (leaf = SHA-256(0x00 || canonical_event(e)), see merkle.h and docs/audit-integrity.md).
//
// canonical_event(e) is exactly the RFC 8785 (JCS) form of this object, all eleven members
// always present, empty strings as "":
//   {"action":        e.action         string
//    "actor":         e.actor          string
//    "chain_root":    e.chain_root     string ("" when the actor acts in no delegation chain)
//    "delegation_id": e.delegation_id  string ("" when none)
//    "details":       e.details        any JSON; null is taken as {} (what events::append stores)
//    "id":            e.id             string, "evt_…"
//    "outcome":       e.outcome        string
//    "request_id":    e.request_id     string
//    "seq":           e.seq            integer
//    "target":        e.target         string
//    "time":          e.time}          integer, Unix epoch microseconds as stored. Not the
//                                      RFC 3339 text of to_json(), which drops the microseconds.
// Every recorded field of Event is covered; not leaf_index and leaf_hash (the tree's, derived from
// seq order and these bytes), nothing outside the event (no tree size, no key).
// The bytes depend only on the field values, never on member order within details, on how a
// number was spelled, or on the process: a verifier in any language with a JCS library can
// rebuild them from the stored row.
//
// Fails (kInvalidArgument, `field` naming the event field and JSON pointer, e.g.
// "details/count") when a value has no canonical form: a string that is not valid UTF-8, an
// integer beyond ±2^53 (in details or seq/time), NaN/Infinity. Such an event cannot be logged
// verifiably; events::append repairs it (repair_for_log) before it is stored.
#pragma once

#include <string>
#include <string_view>

#include "audit/events.h"
#include "common/result.h"

namespace custody::audit {

Result<std::string> canonical_event(const Event& event);

// The same bytes with the details member given as text. Equal to canonical_event(event) when
// details_jcs is jcs::canonicalize(event.details), which is what events::append stores; `verify`
// uses it on the stored text to skip re-parsing details (any change of that text changes the
// bytes, so a tampered row still fails its leaf hash). Fails only for the other fields.
Result<std::string> canonical_event_with_details(const Event& event, std::string_view details_jcs);

// The same bytes split around the seq, which only the writer knows: they are head +
// the seq in decimal + tail. Lets a caller build them before the event is numbered
// (events.h, prepare), so that the writer only adds the digits while hashing. Fails like
// canonical_event_with_details, except that seq is not looked at.
struct CanonicalParts {
  std::string head;  // ends with "seq":
  std::string tail;  // starts with ,"target":
};
Result<CanonicalParts> canonical_event_parts(const Event& event, std::string_view details_jcs);

// merkle::leaf_hash(canonical_event(event)): 32 raw bytes.
Result<std::string> event_leaf_hash(const Event& event);

}  // namespace custody::audit
