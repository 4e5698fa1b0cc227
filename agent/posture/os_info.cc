#include "posture/os_info.h"

#include <cctype>

namespace custody::posture {

namespace {

bool valid_name(std::string_view k) {
  if (k.empty() || std::isdigit(static_cast<unsigned char>(k.front()))) return false;
  for (char c : k) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_')) return false;
  }
  return true;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

// A value as a shell would read it: quoted parts joined with unquoted ones.
std::string unquote(std::string_view v) {
  std::string out;
  char quote = 0;
  for (std::size_t i = 0; i < v.size(); ++i) {
    char c = v[i];
    if (quote == '\'') {
      if (c == '\'') {
        quote = 0;
      } else {
        out += c;
      }
    } else if (c == '\\' && i + 1 < v.size() &&
               (quote == 0 ||
                std::string_view("\\\"$`").find(v[i + 1]) != std::string_view::npos)) {
      out += v[++i];
    } else if (quote == '"' && c == '"') {
      quote = 0;
    } else if (quote == 0 && (c == '"' || c == '\'')) {
      quote = c;
    } else {
      out += c;
    }
  }
  return out;
}

}  // namespace

std::map<std::string, std::string> parse_os_release(std::string_view text) {
  std::map<std::string, std::string> out;
  while (!text.empty()) {
    auto nl = text.find('\n');
    std::string_view line = trim(text.substr(0, nl));
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    if (line.empty() || line.front() == '#') continue;
    auto eq = line.find('=');
    if (eq == std::string_view::npos) continue;
    std::string_view key = line.substr(0, eq);
    if (!valid_name(key)) continue;
    out[std::string(key)] = unquote(line.substr(eq + 1));
  }
  return out;
}

OsInfo collect_os(const RootFiles& root, std::vector<std::string>* warnings) {
  OsInfo os;
  auto text = root.read("/etc/os-release", 64 * 1024);
  if (!text.ok()) {
    auto fallback = root.read("/usr/lib/os-release", 64 * 1024);
    if (!fallback.ok()) {
      warnings->push_back("os: " + text.error().message + "; " + fallback.error().message);
      return os;
    }
    text = std::move(fallback);
  }
  auto kv = parse_os_release(*text);
  if (kv.empty()) {
    warnings->push_back("os: os-release holds no assignments");
    return os;
  }
  os.known = true;
  os.id = kv.count("ID") ? kv["ID"] : "linux";  // os-release(5): ID defaults to "linux"
  os.version_id = kv["VERSION_ID"];
  os.version = kv["VERSION"];
  os.name = kv.count("NAME") ? kv["NAME"] : "Linux";
  os.pretty_name = kv.count("PRETTY_NAME") ? kv["PRETTY_NAME"] : "Linux";
  return os;
}

KernelInfo collect_kernel(const RootFiles& root, std::vector<std::string>* warnings) {
  KernelInfo k;
  auto release = root.read_line("/proc/sys/kernel/osrelease");
  if (!release.ok() || release->empty()) {
    warnings->push_back(
        "kernel: " + (release.ok() ? std::string("osrelease is empty") : release.error().message));
    return k;
  }
  k.known = true;
  k.release = *release;
  auto version = root.read_line("/proc/sys/kernel/version");
  if (version.ok()) {
    k.version = *version;
  } else {
    warnings->push_back("kernel: " + version.error().message);
  }
  return k;
}

}  // namespace custody::posture
