// Field checks shared by the directory operations (internal to src/directory). Each returns
// kInvalidArgument naming `field` (the JSON member) on bad input. Text fields must be valid UTF-8:
// they end up in JSON responses and audit details, whose serializer refuses invalid UTF-8.
#pragma once

#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace custody::directory::validation {

// Number of code points of valid UTF-8 (no overlongs, surrogates or values above U+10FFFF);
// nullopt when `text` is not valid UTF-8.
std::optional<std::size_t> utf8_length(std::string_view text);

// A one-line name: min..max code points, no control characters.
Status check_name(std::string_view text, std::size_t min, std::size_t max, const char* field);
// Free text: ≤ max code points; newlines and tabs allowed, other control characters not.
Status check_text(std::string_view text, std::size_t min, std::size_t max, const char* field);
// Printable ASCII without spaces (0x21..0x7e), min..max bytes.
Status check_token(std::string_view text, std::size_t min, std::size_t max, const char* field);

// Identity labels: ≤ 64; key 1..63 of [a-z0-9_.-/]; value ≤ 256 code points, no controls.
Status check_labels(const std::map<std::string, std::string>& labels);

// Entitlement fields (see entitlements.h).
Status check_scope(std::string_view scope);
Status check_resource(std::string_view resource);
Status check_tools(const std::vector<std::string>& tools);

}  // namespace custody::directory::validation
