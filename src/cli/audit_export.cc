// Audit export formats. See audit_export.h.
#include "cli/audit_export.h"

#include "common/clock.h"

namespace custody::cli {
namespace {

// OCSF 1.1 class ids.
constexpr int kAccountChange = 3001;
constexpr int kAuthentication = 3002;
constexpr int kAuthorizeSession = 3003;
constexpr int kUserAccess = 3005;
constexpr int kApiActivity = 6003;

std::string str(const Json& event, const char* name) {
  auto it = event.find(name);
  return it != event.end() && it->is_string() ? it->get<std::string>() : std::string();
}

int category_of(int class_uid) {
  return class_uid / 1000;
}

// API Activity's activity from the HTTP method of a refused request.
int api_activity(std::string_view method) {
  if (method == "POST") return 1;                      // Create
  if (method == "GET" || method == "HEAD") return 2;   // Read
  if (method == "PATCH" || method == "PUT") return 3;  // Update
  if (method == "DELETE") return 4;                    // Delete
  return 99;
}

// RFC 5424 §6.3.3: PARAM-VALUE escapes '"', '\' and ']'.
std::string sd_escape(std::string_view v) {
  std::string out;
  for (char c : v) {
    if (c == '"' || c == '\\' || c == ']') out += '\\';
    out += c;
  }
  return out;
}

// PRINTUSASCII without spaces, at most `max` characters; "-" when empty.
std::string header_field(std::string_view v, std::size_t max) {
  std::string out;
  for (char c : v) {
    if (out.size() == max) break;
    out += (c > 32 && c < 127) ? c : '_';
  }
  return out.empty() ? "-" : out;
}

}  // namespace

Result<ExportFormat> parse_export_format(std::string_view name) {
  if (name == "jsonl") return ExportFormat::kJsonl;
  if (name == "ocsf") return ExportFormat::kOcsf;
  if (name == "syslog") return ExportFormat::kSyslog;
  return Error::invalid("--format must be jsonl, ocsf or syslog", "--format");
}

OcsfClass ocsf_class(std::string_view action, std::string_view outcome, std::string_view method) {
  if (action == "identity.create") return {kAccountChange, 1};    // Create
  if (action == "identity.activate") return {kAccountChange, 2};  // Enable
  if (action == "identity.suspend") return {kAccountChange, 5};   // Disable
  if (action == "identity.retire") return {kAccountChange, 6};    // Delete
  if (action.starts_with("identity.") || action.starts_with("credential.") ||
      action.starts_with("token."))
    return {kAccountChange, 99};
  if (action == "entitlement.grant") return {kUserAccess, 1};   // Assign Privileges
  if (action == "entitlement.revoke") return {kUserAccess, 2};  // Revoke Privileges
  if (action == "oauth.token") return {kAuthentication, 3};     // Authentication Ticket
  if (action == "oauth.revoke") return {kAuthentication, 2};    // Logoff
  if (action.starts_with("oauth.") || action.starts_with("auth.")) return {kAuthentication, 99};
  if (action == "delegation.revoke") return {kUserAccess, 2};  // Revoke Privileges
  // Policy decisions; changes to the policy store are API activity on configuration.
  if (action.starts_with("pdp.")) return {kAuthorizeSession, 1};
  if (action == "policy.push") return {kApiActivity, 1};                                  // Create
  if (action == "policy.activate" || action == "entities.put") return {kApiActivity, 3};  // Update
  // A refused request whose credentials failed is a failed authentication, whatever it tried.
  if (outcome == "unauthenticated") return {kAuthentication, 1};  // Logon
  return {kApiActivity, api_activity(method)};
}

Json to_ocsf(const Json& event) {
  const std::string action = str(event, "action"), outcome = str(event, "outcome");
  const Json details = event.value("details", Json::object());
  const std::string method =
      details.is_object() && details.contains("method") && details["method"].is_string()
          ? details["method"].get<std::string>()
          : "";
  const OcsfClass c = ocsf_class(action, outcome, method);
  const bool success = outcome == "success";
  Micros t = 0;
  parse_rfc3339(str(event, "time"), &t);
  Json o;
  o["class_uid"] = c.class_uid;
  o["category_uid"] = category_of(c.class_uid);
  o["activity_id"] = c.activity_id;
  o["type_uid"] = c.class_uid * 100 + c.activity_id;
  o["time"] = t / 1000;                // OCSF timestamps are epoch milliseconds
  o["severity_id"] = success ? 1 : 2;  // Informational, Low
  o["status_id"] = success ? 1 : 2;    // Success, Failure
  o["status"] = success ? "Success" : "Failure";
  if (!success) o["status_detail"] = outcome;
  o["message"] = action + " " + outcome;
  o["metadata"] = {{"version", "1.1.0"},
                   {"product", {{"name", "custody"}, {"vendor_name", "custody"}}},
                   {"uid", str(event, "id")},
                   {"correlation_uid", str(event, "request_id")},
                   {"sequence", event.value("seq", Json(0))},
                   {"log_name", "audit"}};
  o["actor"] = {{"user", {{"uid", str(event, "actor")}}}};
  if (!str(event, "chain_root").empty()) o["actor"]["invoked_by"] = str(event, "chain_root");
  o["api"] = {{"operation", action}, {"request", {{"uid", str(event, "request_id")}}}};
  const std::string target = str(event, "target");
  if (!target.empty()) {
    if (c.class_uid == kAccountChange || c.class_uid == kUserAccess)
      o["user"] = {{"uid", target}};
    else
      o["resources"] = Json::array({{{"uid", target}}});
  }
  o["unmapped"] = {{"details", details},
                   {"chain_root", str(event, "chain_root")},
                   {"delegation_id", str(event, "delegation_id")},
                   {"leaf_index", event.value("leaf_index", Json())},
                   {"leaf_hash", event.value("leaf_hash", Json())}};
  return o;
}

std::string to_syslog(const Json& event, std::string_view hostname) {
  constexpr int kAuthpriv = 10;
  const bool success = str(event, "outcome") == "success";
  const int pri = kAuthpriv * 8 + (success ? 6 : 5);  // info, notice
  std::string line = "<" + std::to_string(pri) + ">1 " + header_field(str(event, "time"), 128) +
                     " " + header_field(hostname, 255) + " custody - " +
                     header_field(str(event, "action"), 32) + " [custody@32473";
  auto param = [&](const char* name, const std::string& value) {
    line += std::string(" ") + name + "=\"" + sd_escape(value) + "\"";
  };
  param("seq", event.contains("seq") ? event["seq"].dump() : "");
  param("id", str(event, "id"));
  param("actor", str(event, "actor"));
  param("target", str(event, "target"));
  param("outcome", str(event, "outcome"));
  param("request_id", str(event, "request_id"));
  param("chain_root", str(event, "chain_root"));
  param("delegation_id", str(event, "delegation_id"));
  line += "] ";
  line += event.dump();
  return line;
}

std::string export_line(const Json& event, ExportFormat format, std::string_view hostname) {
  switch (format) {
    case ExportFormat::kJsonl:
      return event.dump();
    case ExportFormat::kOcsf:
      return to_ocsf(event).dump();
    case ExportFormat::kSyslog:
      return to_syslog(event, hostname);
  }
  return event.dump();
}

}  // namespace custody::cli
