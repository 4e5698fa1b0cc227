// Reading JSON request bodies strictly: the media type must be JSON, the text must parse, nesting
// must stay within the configured depth, and the top level must be an object. Member checks
// (types, unknown members) are done by the handler with the helpers below, which name the field.
#pragma once

#include <initializer_list>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "common/result.h"
#include "http/message.h"

namespace custody::http {

// kInvalidArgument for bad media type (field "Content-Type"), parse errors (with the byte offset),
// depth beyond max_depth, or a top level that is not an object.
Result<nlohmann::json> parse_json_object(const Request& request, int max_depth);
// Parses text without the request checks (depth still enforced).
Result<nlohmann::json> parse_json_text(std::string_view text, int max_depth);

// Refuses members not in `allowed` (kInvalidArgument naming the first unknown member).
Status check_members(const nlohmann::json& object, std::initializer_list<std::string_view> allowed);

// Typed member access: absent or null → nullopt; present with the wrong type → kInvalidArgument
// ("<name> must be a string").
Result<std::optional<std::string>> opt_string(const nlohmann::json& object, const char* name);
Result<std::string> req_string(const nlohmann::json& object, const char* name);
Result<std::optional<std::int64_t>> opt_int(const nlohmann::json& object, const char* name);
Result<std::optional<std::map<std::string, std::string>>> opt_string_map(
    const nlohmann::json& object, const char* name);
Result<std::optional<std::vector<std::string>>> opt_string_list(const nlohmann::json& object,
                                                                const char* name);
// RFC 3339 time member.
Result<std::optional<Micros>> opt_time(const nlohmann::json& object, const char* name);

}  // namespace custody::http
