// Turns a non-2xx custodyd response into the one line the CLI prints. custodyd answers errors with
// RFC 9457 problem+json (docs/api.md, "Errors"); proxies in front of it may not, so anything else
// still yields a useful line.
#pragma once

#include <string>
#include <string_view>

namespace custody::cli {

// "<detail> (HTTP <status>, <type suffix>[, field <field>])", e.g.
// "illegal transition from retired to active (HTTP 409, conflict, field state)".
// The type suffix is the last path segment of `type`; when the body is not a problem document the
// detail falls back to its title, then to the standard reason phrase, and the suffix is omitted.
// The caller prefixes "custody: ". Server text is sanitized (no control characters).
std::string format_problem(int status, std::string_view body);

// "OK", "Not Found", ...; "" for unknown codes.
std::string_view reason_phrase(int status);

}  // namespace custody::cli
