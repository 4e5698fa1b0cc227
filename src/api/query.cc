#include "api/query.h"

#include <string>

namespace custody::api {

Result<int> parse_limit(std::string_view text, const Config& config) {
  int v = 0;
  if (text.empty() || text.size() > 9) return Error::invalid("limit must be an integer", "limit");
  for (char c : text) {
    if (c < '0' || c > '9') return Error::invalid("limit must be an integer", "limit");
    v = v * 10 + (c - '0');
  }
  if (v < 1 || v > config.limits.max_page_size)
    return Error::invalid(
        "limit must be between 1 and " + std::to_string(config.limits.max_page_size), "limit");
  return v;
}

Result<bool> parse_bool(std::string_view text, const char* name) {
  if (text == "true" || text == "1") return true;
  if (text == "false" || text == "0") return false;
  return Error::invalid(std::string(name) + " must be true or false", name);
}

Result<Micros> parse_time(std::string_view text, const char* name) {
  Micros t;
  if (!parse_rfc3339(text, &t))
    return Error::invalid(std::string(name) + " must be an RFC 3339 time", name);
  return t;
}

}  // namespace custody::api
