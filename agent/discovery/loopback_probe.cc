#include "discovery/loopback_probe.h"

#include <algorithm>
#include <charconv>
#include <nlohmann/json.hpp>

#include "discovery/catalogue.h"
#include "discovery/fingerprint.h"
#include "discovery/listening_sockets.h"
#include "discovery/mcp_probe.h"
#include "discovery/risk_signals.h"

namespace custody::discovery {

namespace {

using Clock = std::chrono::steady_clock;

// One (address, port) to probe and the paths to try there, in order.
struct Target {
  std::string address;
  std::uint16_t port = 0;
  std::vector<std::string> paths;
  int pid = 0;
  std::string process;
  std::string source;  // where it came from: /proc/net/tcp, tcp6, or the config file
};

struct Answered {
  std::string address;
  std::uint16_t port = 0;
  std::string path;
  ProbeEvidence evidence;
  std::string source;
};

std::string url_of(std::string_view address, std::uint16_t port, std::string_view path) {
  std::string host = address.find(':') != std::string_view::npos ? "[" + std::string(address) + "]"
                                                                 : std::string(address);
  return "http://" + host + ":" + std::to_string(port) + std::string(path);
}

Target* target_for(std::vector<Target>& targets, std::string_view address, std::uint16_t port) {
  for (auto& t : targets) {
    if (t.address == address && t.port == port) return &t;
  }
  return nullptr;
}

void add_path(Target& t, const std::string& path) {
  if (std::find(t.paths.begin(), t.paths.end(), path) == t.paths.end()) t.paths.push_back(path);
}

// The catalogue client a listening process is (LM Studio's `lms`, `goosed`, ...), if any.
std::string client_of_process(const std::string& name) {
  for (const auto& sig : process_signatures()) {
    if (!sig.fragment && name == sig.name) return std::string(sig.client);
  }
  return "unknown";
}

bool probe_eligible(const Finding& f) {
  return f.transport == Transport::kStreamableHttp && f.scope != Scope::kProcess && !f.url.empty();
}

// Configured loopback URLs first (so that the cap cannot push them out), then every listener.
std::vector<Target> plan(const std::vector<LoopbackListener>& listeners,
                         const LoopbackProbeOptions& options, const Report& report) {
  std::vector<Target> targets;
  for (const auto& f : report.findings) {
    if (!probe_eligible(f)) continue;
    auto u = parse_loopback_url(f.url);
    if (!u) continue;
    std::string address = u->address;
    // localhost: the listener on 127.0.0.1, else one on ::1 with that port.
    if (u->localhost) {
      bool v4 = std::any_of(listeners.begin(), listeners.end(), [&](const LoopbackListener& l) {
        return l.address == "127.0.0.1" && l.port == u->port;
      });
      bool v6 = std::any_of(listeners.begin(), listeners.end(), [&](const LoopbackListener& l) {
        return l.address == "::1" && l.port == u->port;
      });
      if (!v4 && v6) address = "::1";
    }
    Target* t = target_for(targets, address, u->port);
    if (!t) {
      targets.push_back({address, u->port, {}, 0, "", f.config_file});
      t = &targets.back();
    }
    add_path(*t, u->path);
  }
  for (const auto& l : listeners) {
    Target* t = target_for(targets, l.address, l.port);
    if (!t) {
      targets.push_back({l.address, l.port, {}, 0, "", l.source});
      t = &targets.back();
    }
    t->pid = l.pid;
    t->process = l.process;
  }
  for (auto& t : targets) {
    for (const auto& p : options.paths) add_path(t, p);
  }
  return targets;
}

bool same_place(const LoopbackUrl& u, const Answered& a) {
  if (u.port != a.port || u.path != a.path) return false;
  return u.address == a.address ||
         (u.localhost && (a.address == "127.0.0.1" || a.address == "::1"));
}

void merge(const std::vector<Answered>& answered, std::string_view device_id, Report& report) {
  std::vector<Finding> fresh;
  for (const auto& a : answered) {
    bool matched = false;
    for (auto& f : report.findings) {
      if (!probe_eligible(f)) continue;
      auto u = parse_loopback_url(f.url);
      if (!u || !same_place(*u, a)) continue;
      matched = true;
      f.probe = a.evidence;
      if (a.evidence.pid != 0 && std::find(f.running_pids.begin(), f.running_pids.end(),
                                           a.evidence.pid) == f.running_pids.end()) {
        f.running_pids.push_back(a.evidence.pid);
      }
    }
    if (matched) continue;
    Finding f;
    f.client = client_of_process(a.evidence.process);
    f.scope = Scope::kProcess;
    f.config_file = a.evidence.pid != 0 ? "/proc/" + std::to_string(a.evidence.pid) : a.source;
    f.server_name = a.evidence.server_name.empty()
                        ? a.evidence.url.substr(std::string_view("http://").size())
                        : a.evidence.server_name;
    f.transport = Transport::kStreamableHttp;
    f.url = a.evidence.url;
    if (a.evidence.pid != 0) f.running_pids.push_back(a.evidence.pid);
    f.probe = a.evidence;
    add_risk_signals(f, nlohmann::json::object());
    f.fingerprint = fingerprint_of(f, device_id);
    fresh.push_back(std::move(f));
  }
  for (auto& f : fresh) report.findings.push_back(std::move(f));
}

// Tries the paths of `t` in order until one answers as an MCP server (appended to `answered`).
// False when the time cap cut it short.
bool probe_target(const Target& t, const LoopbackProbeOptions& options, Clock::time_point deadline,
                  ScanStats& stats, std::vector<Answered>& answered) {
  for (const auto& path : t.paths) {
    if (Clock::now() >= deadline) return false;
    ProbeRequest req;
    req.address = t.address;
    req.port = t.port;
    req.path = path;
    req.timeout = options.timeout;
    req.max_response_bytes = options.max_response_bytes;
    req.client_version = options.client_version;
    ProbeAnswer a = probe_mcp(req, deadline);
    if (a.outcome == ProbeOutcome::kBadPath) continue;
    ++stats.loopback_probes;
    if (a.outcome == ProbeOutcome::kMcpServer) {
      ProbeEvidence e{url_of(t.address, t.port, path),
                      a.protocol_version,
                      a.server_name,
                      a.server_version,
                      t.pid,
                      t.process};
      answered.push_back({t.address, t.port, path, std::move(e), t.source});
      return true;
    }
    if (a.outcome == ProbeOutcome::kTimeout && Clock::now() >= deadline) return false;
    // Nothing listens, or it does not answer: other paths would only wait again.
    if (a.outcome == ProbeOutcome::kTimeout || a.outcome == ProbeOutcome::kConnectFailed ||
        a.outcome == ProbeOutcome::kNotLoopback) {
      return true;
    }
  }
  return true;
}

}  // namespace

std::optional<LoopbackUrl> parse_loopback_url(std::string_view url) {
  constexpr std::string_view kScheme = "http://";
  if (url.size() < kScheme.size()) return std::nullopt;
  for (std::size_t i = 0; i < kScheme.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(url[i])) != kScheme[i]) return std::nullopt;
  }
  url.remove_prefix(kScheme.size());
  auto authority_end = url.find_first_of("/?#");
  std::string_view authority = url.substr(0, authority_end);
  std::string_view rest = authority_end == std::string_view::npos ? "" : url.substr(authority_end);
  if (authority.find('@') != std::string_view::npos) return std::nullopt;
  LoopbackUrl out;
  std::string_view host = authority;
  std::string_view port;
  if (!authority.empty() && authority.front() == '[') {
    auto close = authority.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    host = authority.substr(1, close - 1);
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return std::nullopt;
      port = after.substr(1);
    }
  } else if (auto colon = authority.rfind(':'); colon != std::string_view::npos) {
    host = authority.substr(0, colon);
    port = authority.substr(colon + 1);
  }
  std::string h(host);
  std::transform(h.begin(), h.end(), h.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (h == "localhost") {
    out.address = "127.0.0.1";
    out.localhost = true;
  } else if (is_loopback_address(h)) {
    out.address = h;
  } else {
    return std::nullopt;
  }
  if (!port.empty()) {
    unsigned p = 0;
    auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), p);
    if (ec != std::errc() || end != port.data() + port.size() || p == 0 || p > 65535)
      return std::nullopt;
    out.port = static_cast<std::uint16_t>(p);
  }
  std::string_view path = rest.substr(0, rest.find_first_of("?#"));
  out.path = path.empty() ? "/" : std::string(path);
  return out;
}

void probe_loopback(const RootView& root, const LoopbackProbeOptions& options,
                    std::string_view device_id, Report& report) {
  const Clock::time_point deadline = Clock::now() + options.total;
  std::vector<LoopbackListener> listeners = loopback_listeners(root, deadline);
  report.stats.loopback_listeners = listeners.size();
  std::vector<Target> targets = plan(listeners, options, report);
  if (targets.size() > options.max_listeners) {
    report.warnings.push_back(
        {"(loopback probe)", std::to_string(targets.size() - options.max_listeners) +
                                 " listener(s) over the limit of " +
                                 std::to_string(options.max_listeners) + " not probed"});
    targets.resize(options.max_listeners);
  }
  std::vector<Answered> answered;
  std::size_t finished = 0;  // targets probed to the end, without the time cap cutting in
  for (const Target& t : targets) {
    if (!probe_target(t, options, deadline, report.stats, answered)) break;
    ++finished;
  }
  if (finished < targets.size()) {
    report.warnings.push_back(
        {"(loopback probe)", "time cap of " + std::to_string(options.total.count()) +
                                 " ms reached; " + std::to_string(targets.size() - finished) +
                                 " listener(s) not probed or cut short"});
  }
  merge(answered, device_id, report);
}

}  // namespace custody::discovery
