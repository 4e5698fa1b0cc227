#include "cli/duration.h"

#include <string>

namespace custody::cli {
namespace {

constexpr std::int64_t kMaxSeconds = 100LL * 366 * 24 * 3600;

std::int64_t unit_seconds(char unit) {
  switch (unit) {
    case 's':
      return 1;
    case 'm':
      return 60;
    case 'h':
      return 3600;
    case 'd':
      return 24 * 3600;
    case 'w':
      return 7 * 24 * 3600;
    default:
      return 0;
  }
}

Error bad(std::string_view text, std::string_view why) {
  return Error::invalid("bad duration \"" + std::string(text) + "\": " + std::string(why) +
                        " (examples: 45s, 15m, 8h, 30d, 1h30m)");
}

}  // namespace

Result<std::int64_t> parse_duration(std::string_view text) {
  if (text.empty()) return bad(text, "empty");
  std::int64_t total = 0;
  size_t pos = 0;
  while (pos < text.size()) {
    std::int64_t number = 0;
    size_t start = pos;
    while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') {
      number = number * 10 + (text[pos] - '0');
      if (number > kMaxSeconds) return bad(text, "too long");
      ++pos;
    }
    if (pos == start) return bad(text, "expected a number");
    std::int64_t unit = 1;
    if (pos < text.size()) {
      unit = unit_seconds(text[pos]);
      if (unit == 0) return bad(text, "unknown unit");
      ++pos;
    } else if (start != 0) {
      return bad(text, "missing unit after the last number");
    }
    if (number > kMaxSeconds / unit) return bad(text, "too long");
    total += number * unit;
    if (total > kMaxSeconds) return bad(text, "too long");
  }
  if (total <= 0) return bad(text, "must be positive");
  return total;
}

}  // namespace custody::cli
