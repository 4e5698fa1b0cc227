// RFC 9457 problem details: every error response of the admin API.
#pragma once

#include <nlohmann/json.hpp>

#include "common/error.h"
#include "http/message.h"

namespace custody::http {

// {"type": "https://custody.dev/problems/<code>", "title", "status", "detail", "instance",
//  "request_id", "field"?} with Content-Type application/problem+json. Each of error.details
// becomes a member; "errors", when present, holds the JSON text of an array (a list of individual
// errors, e.g. one per policy) and is embedded as that array.
Response problem(const Request& request, const Error& error,
                 const nlohmann::json& extra = nlohmann::json::object());
// For statuses with no Code (405, 415): type suffix and title given directly.
Response problem(const Request& request, int status, std::string_view type_suffix,
                 std::string_view title, std::string detail);

// A JSON response with `status`.
Response json_response(int status, const nlohmann::json& body);

}  // namespace custody::http
