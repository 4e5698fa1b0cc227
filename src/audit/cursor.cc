// Opaque audit page cursors: base64url of "s:<seq>" (newest first: continue below seq) or
// "a:<seq>" (oldest first: continue above seq).
#include <charconv>
#include <string>

#include "audit/events.h"
#include "common/encoding.h"

namespace custody::audit {

std::string encode_cursor(std::int64_t before_seq) {
  return base64url_encode("s:" + std::to_string(before_seq));
}

namespace {

Result<std::int64_t> decode_prefixed(std::string_view cursor, std::string_view prefix) {
  auto raw = base64url_decode(cursor);
  if (!raw || raw->size() < 3 || raw->size() > 21 || raw->substr(0, 2) != prefix)
    return Error::invalid("malformed cursor", "cursor");
  std::int64_t v = 0;
  const char* first = raw->data() + 2;
  const char* last = raw->data() + raw->size();
  auto [end, ec] = std::from_chars(first, last, v);
  // from_chars refuses overflow (a crafted cursor must not wrap around) and trailing bytes.
  if (ec != std::errc() || end != last || v < 0)
    return Error::invalid("malformed cursor", "cursor");
  return v;
}

}  // namespace

Result<std::int64_t> decode_cursor(std::string_view cursor) {
  return decode_prefixed(cursor, "s:");
}

std::string encode_ascending_cursor(std::int64_t after_seq) {
  return base64url_encode("a:" + std::to_string(after_seq));
}

Status apply_cursor(std::string_view cursor, EventFilter& filter) {
  auto raw = base64url_decode(cursor);
  if (raw && raw->starts_with("a:")) {
    CUSTODY_ASSIGN(filter.after_seq, decode_prefixed(cursor, "a:"));
    filter.ascending = true;
    return ok_status();
  }
  CUSTODY_ASSIGN(filter.before_seq, decode_prefixed(cursor, "s:"));
  return ok_status();
}

}  // namespace custody::audit
