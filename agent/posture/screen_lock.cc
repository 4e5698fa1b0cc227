#include "posture/screen_lock.h"

#include <charconv>
#include <optional>
#include <sstream>

namespace custody::posture {

namespace {

constexpr const char* kSessions = "/run/systemd/sessions";

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == '\r' || s.back() == ' ' || s.back() == '\t')) s.pop_back();
  std::size_t b = s.find_first_not_of(" \t");
  return b == std::string::npos ? std::string() : s.substr(b);
}

int decimal_id(std::string_view s) {
  int v = -1;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  return ec == std::errc() && end == s.data() + s.size() && v >= 0 ? v : -1;
}

// Fills home and gid_number from the passwd entry of the session's uid (or user name).
void fill_from_passwd(const RootFiles& root, GraphicalSession& s) {
  s.uid_number = decimal_id(s.uid);
  auto passwd = root.read("/etc/passwd", 4 * 1024 * 1024);
  if (!passwd.ok()) return;
  std::istringstream in(*passwd);
  std::string line;
  while (std::getline(in, line)) {
    std::vector<std::string> f;
    std::istringstream fields(line);
    std::string field;
    while (std::getline(fields, field, ':')) f.push_back(field);
    if (f.size() >= 6 && (f[0] == s.user || (!s.uid.empty() && f[2] == s.uid))) {
      s.home = f[5];
      s.gid_number = decimal_id(f[3]);
      if (s.uid_number < 0) s.uid_number = decimal_id(f[2]);
      return;
    }
  }
}

// KDE: kscreenlockerrc [Daemon] Autolock, true unless set false.
ScreenLockInfo kde_lock(const RootFiles& root, const GraphicalSession& s,
                        std::vector<std::string>* warnings) {
  ScreenLockInfo info;
  if (s.home.empty()) {
    warnings->push_back("screen_lock: no home directory for " + s.user);
    return info;
  }
  info.known = true;
  info.enabled = true;
  auto rc = root.read(s.home + "/.config/kscreenlockerrc", 256 * 1024);
  if (!rc.ok()) return info;  // absent: defaults
  std::istringstream in(*rc);
  std::string line, section;
  while (std::getline(in, line)) {
    line = trim(line);
    if (line.starts_with("[")) section = line;
    if (section == "[Daemon]" && (line == "Autolock=false" || line == "Autolock = false")) {
      info.enabled = false;
    }
  }
  return info;
}

ScreenLockInfo gnome_lock(const GraphicalSession& s, CommandRunner* runner,
                          std::chrono::milliseconds timeout, std::vector<std::string>* warnings) {
  ScreenLockInfo info;
  if (runner == nullptr) {
    warnings->push_back("screen_lock: gsettings not run (scanned root is not / and no runner)");
    return info;
  }
  std::map<std::string, std::string> env = {{"GSETTINGS_BACKEND", "dconf"}};
  if (!s.home.empty()) {
    env["HOME"] = s.home;
    env["XDG_CONFIG_HOME"] = s.home + "/.config";
  }
  if (s.uid_number >= 0) env["XDG_RUNTIME_DIR"] = "/run/user/" + std::to_string(s.uid_number);
  CommandOptions limits;
  limits.timeout = timeout;
  limits.max_output = 4096;
  limits.run_as_uid = s.uid_number;
  limits.run_as_gid = s.gid_number;
  auto lock = runner->run({"gsettings", "get", "org.gnome.desktop.screensaver", "lock-enabled"},
                          env, limits);
  if (!lock.ok() || lock->exit_status != 0) {
    warnings->push_back("screen_lock: " + (lock.ok() ? "gsettings exited with status " +
                                                           std::to_string(lock->exit_status)
                                                     : lock.error().message));
    return info;
  }
  const std::string value = trim(lock->out.substr(0, lock->out.find('\n')));
  if (value != "true" && value != "false") {
    warnings->push_back("screen_lock: unexpected lock-enabled value");
    return info;
  }
  info.known = true;
  info.enabled = value == "true";
  auto idle =
      runner->run({"gsettings", "get", "org.gnome.desktop.session", "idle-delay"}, env, limits);
  if (idle.ok() && idle->exit_status == 0) {
    std::string v = trim(idle->out.substr(0, idle->out.find('\n')));
    if (v == "uint32 0" || v == "0") info.enabled = false;
  }
  return info;
}

}  // namespace

std::map<std::string, std::string> parse_env_file(std::string_view text) {
  std::map<std::string, std::string> out;
  std::istringstream in{std::string(text)};
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#' || line[0] == '[') continue;
    auto eq = line.find('=');
    if (eq == std::string::npos || eq == 0) continue;
    out[line.substr(0, eq)] = trim(line.substr(eq + 1));
  }
  return out;
}

std::optional<GraphicalSession> find_graphical_session(const RootFiles& root) {
  auto ids = root.list(kSessions);
  if (!ids.ok()) return std::nullopt;
  std::optional<GraphicalSession> best;
  bool best_active = false;
  for (const auto& id : *ids) {
    if (id.find('.') != std::string::npos) continue;  // *.ref and temporary files
    auto text = root.read(std::string(kSessions) + "/" + id, 64 * 1024);
    if (!text.ok()) continue;
    auto kv = parse_env_file(*text);
    const std::string& type = kv["TYPE"];
    if (type != "x11" && type != "wayland" && type != "mir") continue;
    if (kv.count("CLASS") && kv["CLASS"] != "user") continue;  // greeter, lock-screen
    const bool active = kv["ACTIVE"] == "1";
    if (best && (best_active || !active)) continue;
    best = GraphicalSession{kv["USER"], kv["UID"], kv["DESKTOP"], {}};
    best_active = active;
  }
  if (best) fill_from_passwd(root, *best);
  return best;
}

ScreenLockInfo collect_screen_lock(const RootFiles& root, CommandRunner* runner,
                                   std::chrono::milliseconds timeout,
                                   std::vector<std::string>* warnings) {
  auto session = find_graphical_session(root);
  if (!session) {
    warnings->push_back("screen_lock: no graphical session (headless)");
    return {};
  }
  if (session->desktop.find("KDE") != std::string::npos) return kde_lock(root, *session, warnings);
  return gnome_lock(*session, runner, timeout, warnings);
}

}  // namespace custody::posture
