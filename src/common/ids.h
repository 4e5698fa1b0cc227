// Identifiers: a type prefix plus a ULID (26 Crockford base32 characters, time-ordered), e.g.
// "agt_01JDQ3V6S7K2W8C0M4N5P6R7T8". Ids sort by creation time, which gives stable cursors.
// Thread-safe: the generator is monotonic within a process (same millisecond → increment).
#pragma once

#include <string>
#include <string_view>

#include "common/clock.h"

namespace custody {

// Returns prefix + "_" + ULID for time `now`.
std::string new_id(std::string_view prefix, Micros now);
// True when `id` is prefix + "_" + 26 valid Crockford base32 characters.
bool is_valid_id(std::string_view id, std::string_view prefix);
// True when `id` has any known-shaped prefix "xxx_" followed by a ULID.
bool looks_like_id(std::string_view id);

}  // namespace custody
