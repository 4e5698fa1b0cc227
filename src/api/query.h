// Query-string values shared by list endpoints.
#pragma once

#include <string_view>

#include "common/clock.h"
#include "common/config.h"
#include "common/result.h"

namespace custody::api {

// `limit`: an integer in [1, limits.max_page_size]; kInvalidArgument naming "limit" otherwise.
Result<int> parse_limit(std::string_view text, const Config& config);
// A boolean flag value: "true"/"1" or "false"/"0".
Result<bool> parse_bool(std::string_view text, const char* name);
// An RFC 3339 time.
Result<Micros> parse_time(std::string_view text, const char* name);

}  // namespace custody::api
