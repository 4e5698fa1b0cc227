#include "discovery/scanner.h"

#include <sys/stat.h>

#include <chrono>
#include <ctime>
#include <set>

#include "common/random.h"
#include "discovery/config_layouts.h"
#include "discovery/config_reader.h"
#include "discovery/loopback_probe.h"
#include "discovery/managed_policy.h"
#include "discovery/normaliser.h"
#include "discovery/path_resolver.h"
#include "discovery/process_scan.h"
#include "discovery/redact.h"
#include "discovery/secret_classifier.h"

namespace custody::discovery {

namespace {

std::string now_rfc3339() {
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  ::gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string trim(std::string s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.pop_back();
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.erase(0, 1);
  return s;
}

class Scan {
 public:
  Scan(const ScanOptions& options, Report& report, const RootView& root,
       const std::vector<std::string>& homes, std::string device_id, std::string hash_key)
      : options_(options),
        report_(report),
        root_(root),
        device_id_(std::move(device_id)),
        classifier_(std::move(hash_key)),
        redactor_(classifier_, homes) {}

  // Reads one candidate file and appends its findings; the same real file is read once.
  void read_config(const std::string& file, const ConfigLocation& loc, Scope scope,
                   const std::string& project_view) {
    if (!seen_.insert(file).second) return;
    std::size_t cap = loc.layout == Layout::kClaudeJson ? options_.max_claude_json_bytes
                                                        : options_.max_file_bytes;
    ReadResult r = read_text_file(file, cap);
    std::string view = root_.view(file);
    if (r.outcome == ReadOutcome::kMissing) return;
    if (r.outcome == ReadOutcome::kSkipped) {
      ++report_.stats.config_files_skipped;
      report_.warnings.push_back({view, r.reason});
      return;
    }
    auto doc = parse_document(r.text, loc.format, loc.layout);
    if (!doc.ok()) {
      ++report_.stats.config_files_skipped;
      report_.warnings.push_back({view, doc.error().message});
      return;
    }
    ++report_.stats.config_files_read;
    if (loc.layout == Layout::kClaudeJson) remember_claude_projects(*doc);
    EntrySource source{std::string(loc.client), scope, view, project_view};
    if (loc.path.find("extensions/") != std::string_view::npos) source.scope = Scope::kExtension;
    for (const auto& raw : entries_of(*doc, loc.layout)) {
      report_.findings.push_back(normalise_entry(raw, source, redactor_, classifier_, device_id_));
    }
  }

  void scan_homes(const std::vector<std::string>& homes) {
    for (const auto& home : homes) {
      std::string home_real = root_.real(home);
      for (const auto& loc : config_locations()) {
        if (loc.anchor != Anchor::kHome) continue;
        if (!platform_enabled(loc.platform)) continue;
        for (const auto& file : expand_location(home_real, loc.path, loc.platform)) {
          read_config(file, loc, Scope::kUser, "");
        }
      }
      for (const auto& store : credential_store_locations()) {
        std::string p = home_real + "/" + std::string(store.path);
        struct stat st {};
        if (::lstat(p.c_str(), &st) == 0) {
          report_.credential_stores.push_back(
              {std::string(store.client), root_.view(p), std::string(store.what)});
        }
      }
    }
  }

  void scan_system() {
    for (const auto& loc : config_locations()) {
      if (loc.anchor != Anchor::kSystem) continue;
      if (!platform_enabled(loc.platform)) continue;
      for (const auto& file : expand_location(root_.root(), loc.path, loc.platform)) {
        read_config(file, loc, Scope::kManaged, "");
      }
    }
  }

  // Claude Code's managed MCP policy, applied to its findings as risk signals.
  void apply_claude_policy() {
    std::vector<std::string> files;
    const std::string dir = "/etc/claude-code";
    files.push_back(root_.real(dir + "/managed-settings.json"));
    for (auto& f :
         expand_location(root_.real(dir), "managed-settings.d/*.json", Platform::kLinux)) {
      files.push_back(std::move(f));
    }
    if (options_.macos_paths) {
      files.push_back(root_.real("/Library/Application Support/ClaudeCode/managed-settings.json"));
    }
    if (options_.windows_paths) {
      files.push_back(root_.real("/Program Files/ClaudeCode/managed-settings.json"));
      files.push_back(root_.real("/ProgramData/ClaudeCode/managed-settings.json"));
    }
    std::vector<ManagedMcpPolicy> policies;
    for (const auto& file : files) {
      ReadResult r = read_text_file(file, options_.max_file_bytes);
      if (r.outcome == ReadOutcome::kMissing) continue;
      std::string view = root_.view(file);
      auto doc = r.outcome == ReadOutcome::kOk ? parse_document(r.text, Format::kJsonc)
                                               : Result<nlohmann::json>(Error::invalid(r.reason));
      if (!doc.ok()) {
        ++report_.stats.config_files_skipped;
        report_.warnings.push_back({view, doc.error().message});
        continue;
      }
      ++report_.stats.config_files_read;
      if (auto p = managed_policy_of(*doc, view)) policies.push_back(std::move(*p));
    }
    if (!policies.empty()) apply_managed_policies(policies, report_.findings);
  }

  void scan_projects() {
    ProjectWalker walker(root_, options_.walk, report_);
    for (const auto& pr : options_.project_roots) {
      std::string view = pr.empty() || pr[0] != '/' ? "/" + pr : pr;
      walker.walk(root_.real(view),
                  [&](const std::string& dir, const ConfigLocation& loc, const std::string& file) {
                    read_config(file, loc, Scope::kProject, root_.view(dir));
                  });
    }
  }

  // Claude Code lists every project it was used in; their project-level configs are read even
  // when no --project-root covers them (the directory itself only, no walk).
  void scan_known_projects() {
    for (const auto& view : known_projects_) {
      std::string dir = root_.real(view);
      for (const auto& loc : config_locations()) {
        if (loc.anchor != Anchor::kProject) continue;
        for (const auto& file : expand_location(dir, loc.path, loc.platform)) {
          read_config(file, loc, Scope::kProject, view);
        }
      }
    }
  }

  void scan_processes_now() { scan_processes(root_, redactor_, classifier_, device_id_, report_); }

 private:
  bool platform_enabled(Platform p) const {
    switch (p) {
      case Platform::kLinux:
        return true;
      case Platform::kMacos:
        return options_.macos_paths;
      case Platform::kWindows:
        return options_.windows_paths;
    }
    return false;
  }

  const ScanOptions& options_;
  Report& report_;
  const RootView& root_;
  std::string device_id_;
  SecretClassifier classifier_;
  Redactor redactor_;
  void remember_claude_projects(const nlohmann::json& doc) {
    auto projects = doc.find("projects");
    if (projects == doc.end() || !projects->is_object()) return;
    for (const auto& [path, unused] : projects->items()) {
      if (known_projects_.size() >= kMaxKnownProjects) break;
      if (!path.empty() && path[0] == '/') {
        known_projects_.insert(path);
      } else if (options_.windows_paths) {
        if (auto view = windows_view_path(path)) known_projects_.insert(*view);
      }
    }
  }

  static constexpr std::size_t kMaxKnownProjects = 2000;
  std::set<std::string> seen_;
  std::set<std::string> known_projects_;  // view paths from ~/.claude.json "projects"
};

}  // namespace

Report scan(const ScanOptions& options) {
  auto start = std::chrono::steady_clock::now();
  Report report;
  RootView root(options.root);
  report.root = options.root;
  report.scanned_at = now_rfc3339();

  std::string device_id;
  if (options.device_id) {
    device_id = *options.device_id;
    report.device_id_source = "option";
  } else {
    ReadResult r = read_text_file(root.real("/etc/machine-id"), 4096);
    if (r.outcome == ReadOutcome::kOk && !trim(r.text).empty()) {
      device_id = trim(r.text);
      report.device_id_source = "machine-id";
    } else {
      report.device_id_source = "none";
    }
  }
  std::string key = options.hash_key.empty() ? random_bytes(32) : options.hash_key;

  std::vector<std::string> homes = find_homes(root, options.macos_paths, options.windows_paths);
  Scan s(options, report, root, homes, device_id, key);
  s.scan_homes(homes);
  s.scan_system();
  s.scan_projects();
  s.scan_known_projects();
  s.apply_claude_policy();
  if (options.processes) s.scan_processes_now();
  if (options.probe_loopback) probe_loopback(root, options.probe, device_id, report);
  report.stats.duration_ms =
      static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                     std::chrono::steady_clock::now() - start)
                                     .count());
  return report;
}

}  // namespace custody::discovery
