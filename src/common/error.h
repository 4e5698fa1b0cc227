// Error values shared by every module. An Error says what went wrong in the domain's terms;
// the HTTP layer maps Code to a status and writes RFC 9457 problem+json from it.
#pragma once

#include <map>
#include <string>
#include <string_view>

namespace custody {

enum class Code {
  kInvalidArgument,       // malformed input: 400
  kUnauthenticated,       // missing or bad credentials: 401
  kPermissionDenied,      // authenticated but not allowed: 403
  kNotFound,              // 404
  kConflict,              // illegal state transition, duplicate: 409
  kPreconditionFailed,    // stale If-Match: 412
  kTooLarge,              // body or limit exceeded: 413
  kUnsupportedMediaType,  // body not in the expected media type: 415
  kUnprocessable,         // well-formed but semantically refused (missing owner): 422
  kUnavailable,           // store down, shutting down: 503
  kInternal,              // a bug or an unexpected backend failure: 500
};

struct Error {
  Code code = Code::kInternal;
  std::string message;  // one sentence for a human; never contains secrets
  std::string field;    // JSON pointer-ish name of the offending input field, when there is one
  // Extra machine-readable members for the problem document (e.g. "current_state").
  std::map<std::string, std::string> details;

  Error with(std::string key, std::string value) && {
    details[std::move(key)] = std::move(value);
    return std::move(*this);
  }

  static Error invalid(std::string msg, std::string field = {}) {
    return {Code::kInvalidArgument, std::move(msg), std::move(field)};
  }
  static Error not_found(std::string msg) { return {Code::kNotFound, std::move(msg), {}}; }
  static Error conflict(std::string msg, std::string field = {}) {
    return {Code::kConflict, std::move(msg), std::move(field)};
  }
  static Error unprocessable(std::string msg, std::string field = {}) {
    return {Code::kUnprocessable, std::move(msg), std::move(field)};
  }
  static Error denied(std::string msg) { return {Code::kPermissionDenied, std::move(msg), {}}; }
  static Error unauthenticated(std::string msg) {
    return {Code::kUnauthenticated, std::move(msg), {}};
  }
  static Error internal(std::string msg) { return {Code::kInternal, std::move(msg), {}}; }
  static Error unavailable(std::string msg) { return {Code::kUnavailable, std::move(msg), {}}; }
};

// Stable lowercase name of a code ("not_found"), used in problem types and audit outcomes.
std::string_view code_name(Code code);
// HTTP status for a code.
int http_status(Code code);

}  // namespace custody
