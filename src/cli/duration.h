// Human durations for flags such as --ttl 30d and --max-age 8h: parsed into whole seconds.
#pragma once

#include <cstdint>
#include <string_view>

#include "common/result.h"

namespace custody::cli {

// Parses one or more <integer><unit> groups, unit ∈ s, m, h, d, w ("30d", "8h", "1h30m"), or a
// bare integer meaning seconds ("3600"). The result is > 0; zero, negative numbers, unknown
// units, empty input and values beyond 100 years are refused with a message naming the input.
Result<std::int64_t> parse_duration(std::string_view text);

}  // namespace custody::cli
