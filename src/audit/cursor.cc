// Opaque audit page cursors: base64url of "s:<seq>".
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
  for (char c : raw->substr(2)) {
    if (c < '0' || c > '9') return Error::invalid("malformed cursor", "cursor");
    v = v * 10 + (c - '0');
  }
  return v;
}

}  // namespace custody::audit
