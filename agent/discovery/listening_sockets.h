// TCP listeners on the loopback interface, from <root>/proc/net/tcp and tcp6, and the processes
// that own them (DISCOVERY.md §5), for the opt-in MCP probe (loopback_probe.h). Reading and
// parsing only: nothing here connects to anything.
//
// /proc/net/tcp prints each local address as the kernel's network-order bytes read as host-order
// 32-bit words ("0100007F:0CEA" is 127.0.0.1:3306 on a little-endian machine); the parser copies
// the words back into bytes the same way, so it is right on either byte order.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "discovery/path_resolver.h"

namespace custody::discovery {

struct LoopbackListener {
  std::string address;  // numeric: any of 127.0.0.0/8, or "::1"
  std::uint16_t port = 0;
  std::uint64_t inode = 0;  // socket inode (0: the kernel gave none)
  std::string source;       // "/proc/net/tcp" or "/proc/net/tcp6"
  int pid = 0;              // owning process, 0 when not found (another user's, or exited)
  std::string process;      // its name (status "Name:"), when pid != 0
};

// The sockets in state LISTEN (0A) of one /proc/net/tcp (`ipv6` false) or tcp6 text that are
// bound to a loopback address: 127.0.0.0/8, ::1, or an IPv4-mapped ::ffff:127.x.y.z (reported as
// the IPv4 address). Listeners on a wildcard or any other address are left out, as are lines
// that do not parse. In the text's order.
std::vector<LoopbackListener> parse_proc_net_tcp(std::string_view text, bool ipv6);

// The pid that holds each socket inode of `wanted`, from the <root>/proc/<pid>/fd/* symlinks
// ("socket:[12345]"); the first pid in numeric order wins when several share a socket. Processes
// whose fd directory cannot be read (another user's, without root) are skipped; the walk stops
// once every inode is found, or at `deadline` (what was found until then is returned).
std::map<std::uint64_t, int> socket_owners(
    const RootView& root, const std::set<std::uint64_t>& wanted,
    std::chrono::steady_clock::time_point deadline = std::chrono::steady_clock::time_point::max());

// The loopback listeners of <root>/proc/net/tcp and tcp6, owners filled in (as far as `deadline`
// allows), each (address, port) once. Empty when there is no /proc/net (macOS, a root without
// one).
std::vector<LoopbackListener> loopback_listeners(
    const RootView& root,
    std::chrono::steady_clock::time_point deadline = std::chrono::steady_clock::time_point::max());

}  // namespace custody::discovery
