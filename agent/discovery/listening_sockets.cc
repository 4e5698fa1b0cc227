#include "discovery/listening_sockets.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cstring>
#include <fstream>
#include <optional>
#include <sstream>

#include "discovery/redact.h"

namespace custody::discovery {

namespace {

constexpr std::size_t kMaxNetFile = 4 * 1024 * 1024;  // a busy host has tens of thousands
constexpr std::string_view kListen = "0A";

std::optional<std::uint32_t> hex32(std::string_view s) {
  if (s.size() != 8) return std::nullopt;
  std::uint32_t v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v, 16);
  if (ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return v;
}

// "0100007F" -> 127.0.0.1; 32 hex digits -> an IPv6 address (nullopt for anything else).
// Loopback addresses only: the rest are not wanted and are returned as nullopt.
std::optional<std::string> loopback_of(std::string_view hex, bool ipv6) {
  char text[INET6_ADDRSTRLEN] = {};
  if (!ipv6) {
    auto word = hex32(hex);
    if (!word) return std::nullopt;
    in_addr a{};
    std::memcpy(&a, &*word, 4);
    if ((ntohl(a.s_addr) >> 24) != 127) return std::nullopt;
    ::inet_ntop(AF_INET, &a, text, sizeof text);
    return std::string(text);
  }
  if (hex.size() != 32) return std::nullopt;
  in6_addr a{};
  for (int i = 0; i < 4; ++i) {
    auto word = hex32(hex.substr(static_cast<std::size_t>(i) * 8, 8));
    if (!word) return std::nullopt;
    std::memcpy(a.s6_addr + i * 4, &*word, 4);
  }
  if (IN6_IS_ADDR_LOOPBACK(&a)) return std::string("::1");
  if (IN6_IS_ADDR_V4MAPPED(&a) && a.s6_addr[12] == 127) {
    in_addr v4{};
    std::memcpy(&v4, a.s6_addr + 12, 4);
    ::inet_ntop(AF_INET, &v4, text, sizeof text);
    return std::string(text);
  }
  return std::nullopt;
}

std::optional<std::string> read_capped(const std::string& path, std::size_t cap) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::string data(cap, '\0');
  in.read(data.data(), static_cast<std::streamsize>(cap));
  data.resize(static_cast<std::size_t>(in.gcount()));
  return data;
}

bool all_digits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

std::string process_name(const RootView& root, int pid) {
  auto status = read_capped(root.real("/proc/" + std::to_string(pid) + "/status"), 4096);
  if (!status) return "";
  std::istringstream lines(*status);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.rfind("Name:", 0) == 0) {
      auto start = line.find_first_not_of(" \t", 5);
      return start == std::string::npos ? "" : utf8_or_replaced(line.substr(start));
    }
  }
  return "";
}

}  // namespace

std::vector<LoopbackListener> parse_proc_net_tcp(std::string_view text, bool ipv6) {
  std::vector<LoopbackListener> out;
  std::size_t pos = 0;
  while (pos < text.size()) {
    auto eol = text.find('\n', pos);
    if (eol == std::string_view::npos) eol = text.size();
    std::string_view line = text.substr(pos, eol - pos);
    pos = eol + 1;
    // sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode ...
    std::array<std::string_view, 10> field{};
    std::size_t n = 0;
    std::size_t i = 0;
    while (n < field.size() && i < line.size()) {
      while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
      std::size_t start = i;
      while (i < line.size() && line[i] != ' ' && line[i] != '\t') ++i;
      if (i > start) field[n++] = line.substr(start, i - start);
    }
    if (n < field.size() || field[3] != kListen) continue;
    auto colon = field[1].find(':');
    if (colon == std::string_view::npos) continue;
    auto address = loopback_of(field[1].substr(0, colon), ipv6);
    std::string_view port_hex = field[1].substr(colon + 1);
    unsigned port = 0;
    auto [pend, pec] =
        std::from_chars(port_hex.data(), port_hex.data() + port_hex.size(), port, 16);
    std::uint64_t inode = 0;
    auto [iend, iec] =
        std::from_chars(field[9].data(), field[9].data() + field[9].size(), inode, 10);
    if (!address || pec != std::errc() || pend != port_hex.data() + port_hex.size() || port == 0 ||
        port > 65535 || iec != std::errc() || iend != field[9].data() + field[9].size()) {
      continue;
    }
    LoopbackListener l;
    l.address = *address;
    l.port = static_cast<std::uint16_t>(port);
    l.inode = inode;
    l.source = ipv6 ? "/proc/net/tcp6" : "/proc/net/tcp";
    out.push_back(std::move(l));
  }
  return out;
}

std::map<std::uint64_t, int> socket_owners(const RootView& root,
                                           const std::set<std::uint64_t>& wanted,
                                           std::chrono::steady_clock::time_point deadline) {
  std::map<std::uint64_t, int> owners;
  if (wanted.empty()) return owners;
  std::string proc = root.real("/proc");
  std::vector<int> pids;
  if (DIR* d = ::opendir(proc.c_str())) {
    while (dirent* e = ::readdir(d)) {
      std::string_view n(e->d_name);
      if (all_digits(n) && n.size() < 10) pids.push_back(std::stoi(std::string(n)));
    }
    ::closedir(d);
  }
  std::sort(pids.begin(), pids.end());
  constexpr std::string_view kPrefix = "socket:[";
  for (int pid : pids) {
    std::string fd_dir = proc + "/" + std::to_string(pid) + "/fd";
    DIR* d = ::opendir(fd_dir.c_str());
    if (!d) continue;  // exited, or another user's without root
    while (dirent* e = ::readdir(d)) {
      if (!all_digits(e->d_name)) continue;
      char target[64];
      std::string link = fd_dir + "/" + e->d_name;
      ssize_t len = ::readlink(link.c_str(), target, sizeof target - 1);
      if (len <= 0) continue;
      std::string_view t(target, static_cast<std::size_t>(len));
      if (t.substr(0, kPrefix.size()) != kPrefix || t.back() != ']') continue;
      std::string_view digits = t.substr(kPrefix.size(), t.size() - kPrefix.size() - 1);
      std::uint64_t inode = 0;
      auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), inode);
      if (ec != std::errc() || end != digits.data() + digits.size()) continue;
      if (wanted.count(inode)) owners.emplace(inode, pid);
    }
    ::closedir(d);
    if (owners.size() == wanted.size() || std::chrono::steady_clock::now() >= deadline) break;
  }
  return owners;
}

std::vector<LoopbackListener> loopback_listeners(const RootView& root,
                                                 std::chrono::steady_clock::time_point deadline) {
  std::vector<LoopbackListener> all;
  for (bool ipv6 : {false, true}) {
    auto text = read_capped(root.real(ipv6 ? "/proc/net/tcp6" : "/proc/net/tcp"), kMaxNetFile);
    if (!text) continue;
    for (auto& l : parse_proc_net_tcp(*text, ipv6)) {
      bool dup = std::any_of(all.begin(), all.end(), [&](const LoopbackListener& o) {
        return o.address == l.address && o.port == l.port;
      });
      if (!dup) all.push_back(std::move(l));
    }
  }
  std::set<std::uint64_t> inodes;
  for (const auto& l : all) {
    if (l.inode != 0) inodes.insert(l.inode);
  }
  auto owners = socket_owners(root, inodes, deadline);
  for (auto& l : all) {
    if (auto it = owners.find(l.inode); it != owners.end()) {
      l.pid = it->second;
      l.process = process_name(root, l.pid);
    }
  }
  return all;
}

}  // namespace custody::discovery
