#include "http/problem.h"

namespace custody::http {
namespace {

std::string_view title_for(Code code) {
  switch (code) {
    case Code::kInvalidArgument:
      return "Bad Request";
    case Code::kUnauthenticated:
      return "Unauthorized";
    case Code::kPermissionDenied:
      return "Forbidden";
    case Code::kNotFound:
      return "Not Found";
    case Code::kConflict:
      return "Conflict";
    case Code::kPreconditionFailed:
      return "Precondition Failed";
    case Code::kTooLarge:
      return "Content Too Large";
    case Code::kUnsupportedMediaType:
      return "Unsupported Media Type";
    case Code::kUnprocessable:
      return "Unprocessable Content";
    case Code::kUnavailable:
      return "Service Unavailable";
    case Code::kInternal:
      return "Internal Server Error";
  }
  return "Error";
}

Response make(const Request& req, int status, std::string_view suffix, std::string_view title,
              const std::string& detail, const std::string& field, const nlohmann::json& extra) {
  nlohmann::json body = {{"type", "https://custody.dev/problems/" + std::string(suffix)},
                         {"title", title},
                         {"status", status},
                         {"detail", detail},
                         {"instance", req.path},
                         {"request_id", req.request_id}};
  if (!field.empty()) body["field"] = field;
  if (extra.is_object()) body.update(extra);
  Response r;
  r.status = status;
  r.content_type = "application/problem+json";
  r.body = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  if (status == 401) r.header("WWW-Authenticate", "Bearer realm=\"custody\"");
  if (status == 503) r.header("Retry-After", "1");
  return r;
}

}  // namespace

Response problem(const Request& request, const Error& error, const nlohmann::json& extra) {
  nlohmann::json members = extra.is_object() ? extra : nlohmann::json::object();
  for (const auto& [k, v] : error.details) {
    if (k == "errors") {
      auto list = nlohmann::json::parse(v, nullptr, false);
      if (list.is_array()) {
        members[k] = std::move(list);
        continue;
      }
    }
    members[k] = v;
  }
  return make(request, http_status(error.code), code_name(error.code), title_for(error.code),
              error.message, error.field, members);
}

Response problem(const Request& request, int status, std::string_view type_suffix,
                 std::string_view title, std::string detail) {
  return make(request, status, type_suffix, title, detail, {}, nlohmann::json::object());
}

Response json_response(int status, const nlohmann::json& body) {
  Response r;
  r.status = status;
  r.body = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return r;
}

}  // namespace custody::http
