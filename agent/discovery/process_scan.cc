#include "discovery/process_scan.h"

#include <dirent.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>

#include "discovery/catalogue.h"
#include "discovery/fingerprint.h"
#include "discovery/risk_signals.h"

namespace custody::discovery {

namespace {

constexpr std::size_t kMaxProcFile = 256 * 1024;

struct Proc {
  int pid = 0;
  int ppid = 0;
  std::string comm;
  std::vector<std::string> argv;
};

std::optional<std::string> read_small(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::string data;
  data.resize(kMaxProcFile);
  in.read(data.data(), static_cast<std::streamsize>(data.size()));
  data.resize(static_cast<std::size_t>(in.gcount()));
  return data;
}

std::vector<std::string> split_nul(const std::string& s) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start < s.size()) {
    auto end = s.find('\0', start);
    if (end == std::string::npos) end = s.size();
    out.push_back(s.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

// A decimal pid, surrounding blanks allowed; nullopt for anything else (including overflow).
std::optional<int> parse_pid(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\n'))
    s.remove_suffix(1);
  int v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size() || s.empty()) return std::nullopt;
  return v;
}

std::string basename_of(std::string_view p) {
  auto slash = p.rfind('/');
  return std::string(slash == std::string_view::npos ? p : p.substr(slash + 1));
}

std::optional<std::string> client_of(const Proc& p) {
  for (const auto& sig : process_signatures()) {
    if (sig.fragment) {
      for (std::size_t i = 0; i < p.argv.size() && i < 3; ++i) {
        if (p.argv[i].find(sig.name) != std::string::npos) return std::string(sig.client);
      }
    } else if (p.comm == sig.name || (!p.argv.empty() && basename_of(p.argv[0]) == sig.name)) {
      return std::string(sig.client);
    }
  }
  return std::nullopt;
}

bool looks_like_mcp_server(const std::vector<std::string>& argv) {
  for (const auto& a : argv) {
    std::string l = a;
    for (char& c : l) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (l.find("mcp") != std::string::npos) return true;
  }
  return false;
}

// Exact (preferring the launching client's own entries): the redacted command line equals the
// entry's command + args (command by basename). Loose: the entry runs a package (npx pkg) and the
// process's command line names it.
Finding* match_finding(std::vector<Finding>& findings, const std::vector<std::string>& argv,
                       const std::string& client) {
  Finding* loose = nullptr;
  Finding* exact = nullptr;
  for (auto& f : findings) {
    if (f.transport != Transport::kStdio || f.scope == Scope::kProcess || f.command.empty())
      continue;
    if (argv.size() == f.args.size() + 1 && basename_of(argv[0]) == basename_of(f.command) &&
        std::equal(f.args.begin(), f.args.end(), argv.begin() + 1)) {
      if (f.client == client) return &f;  // the client that launched it has this entry
      if (!exact) exact = &f;
      continue;
    }
    if (!loose && f.client == client) {
      if (auto pkg = package_of(f.command, f.args)) {
        for (const auto& a : argv) {
          if (a == pkg->package || basename_of(a) == basename_of(pkg->package)) {
            loose = &f;
            break;
          }
        }
      }
    }
  }
  return exact ? exact : loose;
}

}  // namespace

void scan_processes(const RootView& root, const Redactor& redactor,
                    const SecretClassifier& classifier, std::string_view device_id,
                    Report& report) {
  std::string proc_dir = root.real("/proc");
  DIR* d = ::opendir(proc_dir.c_str());
  if (!d) return;  // no /proc (e.g. a fixture without one, macOS): nothing to report
  std::vector<int> pids;
  while (dirent* e = ::readdir(d)) {
    std::string_view n(e->d_name);
    if (n.empty() || !std::all_of(n.begin(), n.end(), [](char c) { return c >= '0' && c <= '9'; }))
      continue;
    if (auto pid = parse_pid(n)) pids.push_back(*pid);
  }
  ::closedir(d);
  std::sort(pids.begin(), pids.end());

  std::map<int, Proc> procs;
  for (int pid : pids) {
    std::string base = proc_dir + "/" + std::to_string(pid);
    auto status = read_small(base + "/status");
    auto cmdline = status ? read_small(base + "/cmdline") : std::nullopt;
    if (!status || !cmdline) {
      report.warnings.push_back({"/proc/" + std::to_string(pid),
                                 "process exited during the scan (or is unreadable); skipped"});
      continue;
    }
    ++report.stats.processes_seen;
    Proc p;
    p.pid = pid;
    std::istringstream lines(*status);
    std::string line;
    while (std::getline(lines, line)) {
      if (line.rfind("Name:", 0) == 0) {
        p.comm = utf8_or_replaced(line.substr(5));
        p.comm.erase(0, p.comm.find_first_not_of(" \t"));
      } else if (line.rfind("PPid:", 0) == 0) {
        p.ppid = parse_pid(line.substr(5)).value_or(0);
      }
    }
    p.argv = split_nul(*cmdline);
    for (auto& a : p.argv) a = utf8_or_replaced(a);  // the report is JSON: any bytes can be here
    procs.emplace(pid, std::move(p));
  }

  // The nearest client ancestor of each process, by the PPid chain (bounded against cycles).
  std::map<int, std::string> clients;
  for (const auto& [pid, p] : procs) {
    if (auto c = client_of(p)) clients[pid] = *c;
  }
  auto client_above = [&](int pid) -> std::optional<std::pair<int, std::string>> {
    int cur = procs.at(pid).ppid;
    for (int hops = 0; hops < 64 && cur > 0; ++hops) {
      if (auto it = clients.find(cur); it != clients.end()) return std::make_pair(cur, it->second);
      auto p = procs.find(cur);
      if (p == procs.end()) break;
      cur = p->second.ppid;
    }
    return std::nullopt;
  };

  for (const auto& [pid, p] : procs) {
    std::vector<SecretFlag> ignored;  // args flags of processes: the config entry has them
    ProcessRecord rec;
    rec.pid = pid;
    rec.ppid = p.ppid;
    rec.name = p.comm;
    auto field = "/proc/" + std::to_string(pid) + "/cmdline";
    if (clients.count(pid)) {
      rec.role = "client";
      rec.client = clients[pid];
      if (!p.argv.empty()) {
        rec.argv.push_back(redactor.path(p.argv[0]));
        auto rest = redactor.args({p.argv.begin() + 1, p.argv.end()}, field, ignored);
        rec.argv.insert(rec.argv.end(), rest.begin(), rest.end());
      }
      report.processes.push_back(std::move(rec));
      continue;
    }
    auto above = client_above(pid);
    if (!above || p.argv.empty()) continue;
    std::vector<std::string> argv{redactor.path(p.argv[0])};
    std::vector<SecretFlag> arg_flags;
    auto rest = redactor.args({p.argv.begin() + 1, p.argv.end()}, field, arg_flags);
    argv.insert(argv.end(), rest.begin(), rest.end());
    Finding* match = match_finding(report.findings, argv, above->second);
    if (!match && !looks_like_mcp_server(argv)) continue;  // a shell, a language server, ...
    rec.role = "mcp-server";
    rec.client = above->second;
    rec.argv = argv;
    // The environment: flag credential-like variables (readable for the same user or root).
    if (auto env = read_small(proc_dir + "/" + std::to_string(pid) + "/environ")) {
      for (const auto& kv : split_nul(*env)) {
        auto eq = kv.find('=');
        if (eq == std::string::npos || eq == 0) continue;
        std::string name = kv.substr(0, eq);
        std::string_view value = std::string_view(kv).substr(eq + 1);
        if ((SecretClassifier::secret_like_name(name) &&
             SecretClassifier::plausible_credential(value)) ||
            !SecretClassifier::pattern_of(value).empty()) {
          SecretFlag flag = classifier.classify("environ." + utf8_or_replaced(name), value);
          flag.reference = utf8_or_replaced(flag.reference);
          rec.environ_secrets.push_back(std::move(flag));
        }
      }
    }
    if (match) {
      match->running_pids.push_back(pid);
      rec.matched_fingerprint = match->fingerprint;
    } else {
      Finding f;
      f.client = above->second;
      f.scope = Scope::kProcess;
      f.config_file = "/proc/" + std::to_string(pid);
      // Named after the package it runs, else the first non-option argument, else the program.
      if (auto pkg = package_of(argv[0], {argv.begin() + 1, argv.end()})) {
        f.server_name = pkg->package;
      } else {
        f.server_name = basename_of(argv[0]);
        for (std::size_t i = 1; i < argv.size(); ++i) {
          if (!argv[i].empty() && argv[i][0] != '-' && argv[i] != kRedacted) {
            f.server_name = basename_of(argv[i]);
            break;
          }
        }
      }
      f.transport = Transport::kStdio;
      f.transport_inferred = true;
      f.command = argv[0];
      f.args.assign(argv.begin() + 1, argv.end());
      f.secrets = std::move(arg_flags);
      f.running_pids.push_back(pid);
      add_risk_signals(f, nlohmann::json::object());
      f.fingerprint = fingerprint_of(f, device_id);
      rec.matched_fingerprint.clear();
      report.findings.push_back(std::move(f));
    }
    report.processes.push_back(std::move(rec));
  }
}

}  // namespace custody::discovery
