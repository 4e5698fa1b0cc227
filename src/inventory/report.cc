#include "inventory/report.h"

#include "common/encoding.h"
#include "crypto/keyed_hash.h"

namespace custody::inventory {
namespace {

using nlohmann::json;

constexpr std::size_t kMaxText = 4096;
constexpr std::size_t kMaxList = 512;

Result<std::string> text_member(const json& object, const char* name, const std::string& where,
                                bool required, std::size_t max = kMaxText) {
  auto it = object.find(name);
  if (it == object.end() || it->is_null()) {
    if (required) return Error::invalid(where + "." + name + " is required", where + "." + name);
    return std::string();
  }
  if (!it->is_string() || it->get_ref<const std::string&>().size() > max)
    return Error::invalid(
        where + "." + name + " must be a string of at most " + std::to_string(max) + " bytes",
        where + "." + name);
  return it->get<std::string>();
}

Result<std::vector<std::string>> text_list(const json& object, const char* name,
                                           const std::string& where) {
  std::vector<std::string> out;
  auto it = object.find(name);
  if (it == object.end() || it->is_null()) return out;
  const std::string field = where + "." + name;
  if (!it->is_array() || it->size() > kMaxList)
    return Error::invalid(field + " must be an array of at most " + std::to_string(kMaxList),
                          field);
  for (const auto& v : *it) {
    if (!v.is_string() || v.get_ref<const std::string&>().size() > kMaxText)
      return Error::invalid(field + " must hold strings of at most 4096 bytes", field);
    out.push_back(v.get<std::string>());
  }
  return out;
}

bool is_hex64(const std::string& s) {
  if (s.size() != 64) return false;
  for (char c : s)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

Result<ReportedFinding> parse_finding(const json& j, const std::string& where) {
  if (!j.is_object()) return Error::invalid(where + " must be an object", where);
  ReportedFinding f;
  CUSTODY_ASSIGN(f.kind, text_member(j, "kind", where, true, 32));
  if (f.kind != "mcp-server" && f.kind != "a2a-agent")
    return Error::invalid(where + ".kind must be mcp-server or a2a-agent", where + ".kind");
  CUSTODY_ASSIGN(f.client, text_member(j, "client", where, true, 64));
  if (f.client.empty())
    return Error::invalid(where + ".client must not be empty", where + ".client");
  CUSTODY_ASSIGN(f.scope, text_member(j, "scope", where, true, 32));
  CUSTODY_ASSIGN(f.config_file, text_member(j, "config_file", where, false));
  CUSTODY_ASSIGN(f.project, text_member(j, "project", where, false));
  CUSTODY_ASSIGN(f.server_name, text_member(j, "server_name", where, false, 256));
  CUSTODY_ASSIGN(f.transport, text_member(j, "transport", where, true, 32));
  CUSTODY_ASSIGN(f.command, text_member(j, "command", where, false));
  CUSTODY_ASSIGN(f.args, text_list(j, "args", where));
  CUSTODY_ASSIGN(f.url, text_member(j, "url", where, false));
  CUSTODY_ASSIGN(f.env_names, text_list(j, "env_names", where));
  CUSTODY_ASSIGN(f.header_names, text_list(j, "header_names", where));
  CUSTODY_ASSIGN(f.fingerprint, text_member(j, "fingerprint", where, true, 64));
  if (!is_hex64(f.fingerprint))
    return Error::invalid(where + ".fingerprint must be 64 lowercase hex digits",
                          where + ".fingerprint");
  if (auto it = j.find("running_pids"); it != j.end()) {
    if (!it->is_array())
      return Error::invalid(where + ".running_pids must be an array", where + ".running_pids");
    f.running = !it->empty();
  }
  if (auto it = j.find("risks"); it != j.end()) {
    if (!it->is_array() || it->size() > 64)
      return Error::invalid(where + ".risks must be an array of at most 64", where + ".risks");
    for (std::size_t i = 0; i < it->size(); ++i) {
      const std::string w = where + ".risks[" + std::to_string(i) + "]";
      if (!(*it)[i].is_object()) return Error::invalid(w + " must be an object", w);
      ReportedRisk r;
      CUSTODY_ASSIGN(r.signal, text_member((*it)[i], "signal", w, true, 64));
      CUSTODY_ASSIGN(r.detail, text_member((*it)[i], "detail", w, false, 1024));
      f.risks.push_back(std::move(r));
    }
  }
  if (auto it = j.find("secrets"); it != j.end()) {
    if (!it->is_array() || it->size() > 256)
      return Error::invalid(where + ".secrets must be an array of at most 256", where + ".secrets");
    for (std::size_t i = 0; i < it->size(); ++i) {
      const std::string w = where + ".secrets[" + std::to_string(i) + "]";
      if (!(*it)[i].is_object()) return Error::invalid(w + " must be an object", w);
      ReportedSecret s;
      CUSTODY_ASSIGN(s.field, text_member((*it)[i], "field", w, true, 1024));
      CUSTODY_ASSIGN(s.classification, text_member((*it)[i], "classification", w, true, 16));
      if (s.classification != "literal" && s.classification != "reference" &&
          s.classification != "empty")
        return Error::invalid(w + ".classification must be literal, reference or empty",
                              w + ".classification");
      CUSTODY_ASSIGN(s.pattern, text_member((*it)[i], "pattern", w, false, 64));
      f.secrets.push_back(std::move(s));
    }
  }
  return f;
}

}  // namespace

json ReportedFinding::definition() const {
  // The scanner's launch_definition() (agent/discovery/fingerprint.h): nlohmann's objects are
  // sorted maps, so dump() is the same canonical text on both sides.
  return {{"transport", transport}, {"command", command},     {"args", args}, {"url", url},
          {"env", env_names},       {"headers", header_names}};
}

std::string ReportedFinding::definition_hash() const {
  return hex_encode(crypto::sha256(definition().dump()));
}

std::string ReportedFinding::slot() const {
  return hex_encode(
      crypto::sha256(json::array({client, scope, config_file, project, server_name}).dump()));
}

std::string ReportedFinding::target() const {
  if (command.empty()) return url;
  std::string out = command;
  for (const auto& a : args) out += " " + a;
  return out;
}

std::string ReportedFinding::display_name() const {
  std::string out;
  for (unsigned char c : server_name) out += (c < 0x20 || c == 0x7f) ? '?' : static_cast<char>(c);
  if (out.size() > 200) {
    std::size_t cut = 200;
    while (cut > 0 && (static_cast<unsigned char>(out[cut]) & 0xC0) == 0x80) --cut;
    out.resize(cut);
  }
  if (out.find_first_not_of(' ') == std::string::npos) out = "unnamed " + kind;
  return out;
}

Result<DiscoveryReport> parse_report(const json& report) {
  if (!report.is_object()) return Error::invalid("report must be an object", "report");
  auto schema = report.find("schema");
  if (schema == report.end() || !schema->is_string() || *schema != kReportSchema)
    return Error::invalid("report.schema must be \"" + std::string(kReportSchema) + "\"",
                          "report.schema");
  DiscoveryReport out;
  CUSTODY_ASSIGN(out.scanned_at, text_member(report, "scanned_at", "report", false, 64));
  auto findings = report.find("findings");
  if (findings == report.end() || !findings->is_array())
    return Error::invalid("report.findings must be an array", "report.findings");
  if (findings->size() > kMaxFindings)
    return Error::invalid("report.findings holds more than " + std::to_string(kMaxFindings),
                          "report.findings");
  out.findings.reserve(findings->size());
  for (std::size_t i = 0; i < findings->size(); ++i) {
    CUSTODY_ASSIGN(auto f,
                   parse_finding((*findings)[i], "report.findings[" + std::to_string(i) + "]"));
    out.findings.push_back(std::move(f));
  }
  return out;
}

std::string csv_field(std::string_view text) {
  std::string s(text);
  if (!s.empty() && (s[0] == '=' || s[0] == '+' || s[0] == '-' || s[0] == '@')) s = "'" + s;
  if (s.find_first_of(",\"\r\n") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) {
    if (c == '"') out += '"';
    out += c;
  }
  out += '"';
  return out;
}

}  // namespace custody::inventory
