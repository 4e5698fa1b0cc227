// Canonical event bytes. See canonical_event.h.
#include "audit/canonical_event.h"

#include "audit/merkle.h"
#include "common/jcs.h"

namespace custody::audit {
namespace {

// Names the event field in the error of `s`: "details" + "/count" → "details/count".
Status in_field(Status s, const char* name) {
  if (s.ok()) return s;
  Error e = s.error();
  e.field = name + e.field;
  return e;
}

// The canonical bytes with `write_details(out)` producing the details member's value. With
// `head`, the bytes up to and including `"seq":` go there and the result is what follows the
// seq's digits, which are left out.
template <class WriteDetails>
Result<std::string> build(const Event& event, WriteDetails write_details,
                          std::string* head = nullptr) {
  // Written member by member, already in RFC 8785 order (all names are ASCII, so UTF-16 order
  // is byte order), instead of building a json object and sorting it: this runs once per
  // event on the write path. jcs_test checks it equals jcs::canonicalize of the object.
  std::string out;
  out.reserve(256);
  out += R"({"action":)";
  CUSTODY_TRY(in_field(jcs::append_string(event.action, out), "action"));
  out += R"(,"actor":)";
  CUSTODY_TRY(in_field(jcs::append_string(event.actor, out), "actor"));
  out += R"(,"chain_root":)";
  CUSTODY_TRY(in_field(jcs::append_string(event.chain_root, out), "chain_root"));
  out += R"(,"delegation_id":)";
  CUSTODY_TRY(in_field(jcs::append_string(event.delegation_id, out), "delegation_id"));
  out += R"(,"details":)";
  CUSTODY_TRY(write_details(out));
  out += R"(,"id":)";
  CUSTODY_TRY(in_field(jcs::append_string(event.id, out), "id"));
  out += R"(,"outcome":)";
  CUSTODY_TRY(in_field(jcs::append_string(event.outcome, out), "outcome"));
  out += R"(,"request_id":)";
  CUSTODY_TRY(in_field(jcs::append_string(event.request_id, out), "request_id"));
  out += R"(,"seq":)";
  if (head != nullptr) {
    *head = std::move(out);
    out.clear();
    out.reserve(64 + event.target.size());
  } else {
    CUSTODY_TRY(in_field(jcs::append_integer(event.seq, out), "seq"));
  }
  out += R"(,"target":)";
  CUSTODY_TRY(in_field(jcs::append_string(event.target, out), "target"));
  out += R"(,"time":)";
  CUSTODY_TRY(in_field(jcs::append_integer(event.time, out), "time"));
  out += '}';
  return out;
}

}  // namespace

Result<std::string> canonical_event(const Event& event) {
  static const nlohmann::json kEmptyObject = nlohmann::json::object();
  const nlohmann::json& details = event.details.is_null() ? kEmptyObject : event.details;
  return build(event, [&](std::string& out) {
    return in_field(jcs::append_value(details, out), "details");
  });
}

Result<std::string> canonical_event_with_details(const Event& event, std::string_view details_jcs) {
  return build(event, [&](std::string& out) {
    out += details_jcs;
    return ok_status();
  });
}

Result<CanonicalParts> canonical_event_parts(const Event& event, std::string_view details_jcs) {
  CanonicalParts parts;
  CUSTODY_ASSIGN(parts.tail, build(
                                 event,
                                 [&](std::string& out) {
                                   out += details_jcs;
                                   return ok_status();
                                 },
                                 &parts.head));
  return parts;
}

Result<std::string> event_leaf_hash(const Event& event) {
  CUSTODY_ASSIGN(std::string bytes, canonical_event(event));
  return merkle::leaf_hash(bytes);
}

}  // namespace custody::audit
