// Opaque audit page cursors: base64url of "s:<seq>".
#include <charconv>
#include <string>

#include "audit/events.h"
#include "common/encoding.h"

namespace custody::audit {

std::string encode_cursor(std::int64_t before_seq) {
  return base64url_encode("s:" + std::to_string(before_seq));
}

Result<std::int64_t> decode_cursor(std::string_view cursor) {
  auto raw = base64url_decode(cursor);
  if (!raw || raw->size() < 3 || raw->size() > 21 || raw->substr(0, 2) != "s:")
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

}  // namespace custody::audit
