#include "cli/problem.h"

#include <nlohmann/json.hpp>

#include "cli/table.h"

namespace custody::cli {
namespace {

std::string string_member(const nlohmann::json& doc, const char* name) {
  auto it = doc.find(name);
  return it != doc.end() && it->is_string() ? it->get<std::string>() : std::string();
}

}  // namespace

std::string_view reason_phrase(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 201:
      return "Created";
    case 204:
      return "No Content";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 409:
      return "Conflict";
    case 412:
      return "Precondition Failed";
    case 413:
      return "Content Too Large";
    case 415:
      return "Unsupported Media Type";
    case 422:
      return "Unprocessable Content";
    case 429:
      return "Too Many Requests";
    case 500:
      return "Internal Server Error";
    case 502:
      return "Bad Gateway";
    case 503:
      return "Service Unavailable";
    case 504:
      return "Gateway Timeout";
    default:
      return "";
  }
}

std::string format_problem(int status, std::string_view body) {
  std::string detail, type, field;
  nlohmann::json doc = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (doc.is_object()) {
    detail = string_member(doc, "detail");
    if (detail.empty()) detail = string_member(doc, "title");
    type = string_member(doc, "type");
    field = string_member(doc, "field");
  }
  if (detail.empty()) detail = std::string(reason_phrase(status));
  if (detail.empty()) detail = "unexpected response";

  std::string suffix;
  if (!type.empty() && type != "about:blank") {
    size_t slash = type.find_last_of("/#:");
    suffix = slash == std::string::npos ? type : type.substr(slash + 1);
  }

  std::string out = sanitize(detail) + " (HTTP " + std::to_string(status);
  if (!suffix.empty()) out += ", " + sanitize(suffix);
  if (!field.empty()) out += ", field " + sanitize(field);
  out += ")";
  // A list of individual errors (e.g. one per policy file), one line each.
  if (doc.is_object() && doc.contains("errors") && doc["errors"].is_array()) {
    for (const auto& e : doc["errors"]) {
      if (!e.is_object()) continue;
      std::string where = string_member(e, "file");
      if (auto line = e.find("line"); line != e.end() && line->is_number_integer())
        where +=
            ":" + std::to_string(line->get<int>()) + ":" + std::to_string(e.value("column", 0));
      std::string policy = string_member(e, "policy_id");
      out += "\n  " + sanitize(where.empty() ? std::string("bundle") : where) + ": " +
             (policy.empty() ? std::string() : "policy " + sanitize(policy) + ": ") +
             sanitize(string_member(e, "message"));
    }
  }
  return out;
}

}  // namespace custody::cli
