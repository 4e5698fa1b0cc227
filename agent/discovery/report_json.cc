#include "discovery/report_json.h"

#include <algorithm>
#include <sstream>

#include "common/encoding.h"
#include "crypto/keyed_hash.h"
#include "discovery/fingerprint.h"

namespace custody::discovery {

namespace {

using nlohmann::json;

json secret_json(const SecretFlag& s) {
  json j = {{"field", s.field},
            {"classification", std::string(secret_class_name(s.classification))},
            {"length", s.length}};
  if (!s.reference.empty()) j["reference"] = s.reference;
  if (!s.pattern.empty()) j["pattern"] = s.pattern;
  if (!s.hmac.empty()) j["hmac"] = s.hmac;
  return j;
}

json finding_json(const Finding& f) {
  json j = {{"kind", f.kind},
            {"client", f.client},
            {"scope", std::string(scope_name(f.scope))},
            {"config_file", f.config_file},
            {"server_name", f.server_name},
            {"transport", std::string(transport_name(f.transport))},
            {"transport_inferred", f.transport_inferred},
            {"enabled", f.enabled},
            {"env_names", f.env_names},
            {"header_names", f.header_names},
            {"fingerprint", f.fingerprint},
            // The same without the device salt: custodyd's key to deduplicate across devices.
            {"definition_hash", hex_encode(crypto::sha256(launch_definition(f)))}};
  if (!f.project.empty()) j["project"] = f.project;
  if (!f.transport_raw.empty()) j["transport_raw"] = f.transport_raw;
  if (!f.command.empty()) {
    j["command"] = f.command;
    j["args"] = f.args;
  }
  if (!f.url.empty()) j["url"] = f.url;
  j["secrets"] = json::array();
  for (const auto& s : f.secrets) j["secrets"].push_back(secret_json(s));
  j["risks"] = json::array();
  for (const auto& r : f.risks) j["risks"].push_back({{"signal", r.signal}, {"detail", r.detail}});
  j["running_pids"] = f.running_pids;
  if (f.probe) {
    const ProbeEvidence& p = *f.probe;
    json pj = {{"url", p.url},
               {"protocol_version", p.protocol_version},
               {"server_info", {{"name", p.server_name}, {"version", p.server_version}}}};
    if (p.pid != 0) {
      pj["pid"] = p.pid;
      pj["process"] = p.process;
    }
    j["probe"] = std::move(pj);
  }
  return j;
}

std::string pad(std::string s, std::size_t width) {
  if (s.size() > width) {
    s.resize(width - 1);
    s += "~";
  }
  s.resize(width, ' ');
  return s;
}

}  // namespace

json report_to_json(const Report& r) {
  json j = {{"schema", "custody.discovery.report/v1"},
            {"root", r.root},
            {"device_id_source", r.device_id_source},
            {"scanned_at", r.scanned_at}};
  j["findings"] = json::array();
  for (const auto& f : r.findings) j["findings"].push_back(finding_json(f));
  j["credential_stores"] = json::array();
  for (const auto& c : r.credential_stores) {
    j["credential_stores"].push_back({{"client", c.client}, {"path", c.path}, {"what", c.what}});
  }
  j["processes"] = json::array();
  for (const auto& p : r.processes) {
    json pj = {{"pid", p.pid},       {"ppid", p.ppid}, {"role", p.role},
               {"client", p.client}, {"name", p.name}, {"argv", p.argv}};
    if (!p.matched_fingerprint.empty()) pj["matched_fingerprint"] = p.matched_fingerprint;
    pj["environ_secrets"] = json::array();
    for (const auto& s : p.environ_secrets) pj["environ_secrets"].push_back(secret_json(s));
    j["processes"].push_back(std::move(pj));
  }
  j["warnings"] = json::array();
  for (const auto& w : r.warnings)
    j["warnings"].push_back({{"path", w.path}, {"reason", w.reason}});
  const auto& s = r.stats;
  j["stats"] = {{"findings", r.findings.size()},
                {"config_files_read", s.config_files_read},
                {"config_files_skipped", s.config_files_skipped},
                {"project_dirs_walked", s.project_dirs_walked},
                {"project_entries_seen", s.project_entries_seen},
                {"project_walk_truncated", s.project_walk_truncated},
                {"processes_seen", s.processes_seen},
                {"loopback_listeners", s.loopback_listeners},
                {"loopback_probes", s.loopback_probes},
                {"duration_ms", s.duration_ms}};
  return j;
}

std::string report_to_text(const Report& r) {
  std::ostringstream out;
  out << pad("CLIENT", 15) << pad("SCOPE", 10) << pad("SERVER", 22) << pad("TRANSPORT", 16)
      << pad("TARGET", 46) << "RISKS\n";
  for (const auto& f : r.findings) {
    std::string target = f.url;
    if (target.empty()) {
      target = f.command;
      for (const auto& a : f.args) target += " " + a;
    }
    std::string risks;
    for (const auto& k : f.risks) {
      if (risks.find(k.signal) != std::string::npos) continue;
      risks += (risks.empty() ? "" : ",") + k.signal;
    }
    if (!f.enabled) risks += risks.empty() ? "(disabled)" : " (disabled)";
    out << pad(f.client, 15) << pad(std::string(scope_name(f.scope)), 10) << pad(f.server_name, 22)
        << pad(std::string(transport_name(f.transport)), 16) << pad(target, 46)
        << (risks.empty() ? "-" : risks) << "\n";
  }
  for (const auto& p : r.processes) {
    out << "process " << p.pid << " (" << p.role << ", " << p.client << "): " << p.name
        << (p.matched_fingerprint.empty() ? "" : " [matched a config entry]") << "\n";
  }
  for (const auto& f : r.findings) {
    if (!f.probe) continue;
    out << "listening: " << f.probe->url << " answers as MCP server \"" << f.probe->server_name
        << "\"";
    if (!f.probe->server_version.empty()) out << " " << f.probe->server_version;
    if (f.probe->pid != 0) out << " (pid " << f.probe->pid << ", " << f.probe->process << ")";
    out << " [" << f.client << "/" << f.server_name << "]\n";
  }
  for (const auto& c : r.credential_stores) {
    out << "credential store (not read): " << c.path << " (" << c.what << ")\n";
  }
  for (const auto& w : r.warnings) out << "warning: " << w.path << ": " << w.reason << "\n";
  std::size_t secrets = 0;
  for (const auto& f : r.findings) {
    secrets += static_cast<std::size_t>(std::count_if(
        f.secrets.begin(), f.secrets.end(),
        [](const SecretFlag& s) { return s.classification == SecretClass::kLiteral; }));
  }
  out << r.findings.size() << " finding(s), " << secrets << " plaintext secret(s), "
      << r.processes.size() << " process(es), " << r.warnings.size() << " warning(s) in "
      << r.stats.duration_ms << " ms\n";
  return out.str();
}

}  // namespace custody::discovery
