// The opt-in loopback step of a scan (`custody-agent scan --probe-loopback`, DISCOVERY.md §5):
// every loopback TCP listener of <root>/proc/net/tcp{,6} (listening_sockets.h) and every loopback
// URL of a streamable-HTTP config finding gets one MCP `initialize` request per path
// (mcp_probe.h) until one answers. A server that answers becomes evidence on the config findings
// whose URL it is ("confirmed running"), or a finding of scope `process` of its own naming the
// process that owns the socket.
//
// Off by default: unlike the rest of the scan it talks to other processes. Bounded: at most
// `max_listeners` (address, port) pairs, configured ones first; each request has its own timeout
// and the whole step a time cap; listeners over the limit or left when the cap is reached are a
// warning. Only this machine's loopback interface is ever connected to, whatever --root says.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "discovery/finding.h"
#include "discovery/path_resolver.h"

namespace custody::discovery {

struct LoopbackProbeOptions {
  // Request paths tried in order on a listener (after a configured URL's own path); the first
  // one that answers wins.
  std::vector<std::string> paths = {"/mcp", "/"};
  std::size_t max_listeners = 64;          // (address, port) pairs probed
  std::chrono::milliseconds timeout{300};  // per request: connect + write + read
  std::chrono::milliseconds total{5000};   // the whole step
  std::size_t max_response_bytes = 64 * 1024;
  std::string client_version = "0.1.0";  // clientInfo.version in the initialize request
};

// Probes and merges the results into `report`: findings (evidence on config findings, new
// process-scope findings), warnings (limits reached) and stats (loopback_listeners,
// loopback_probes). `device_id` salts the fingerprints of new findings.
void probe_loopback(const RootView& root, const LoopbackProbeOptions& options,
                    std::string_view device_id, Report& report);

// The loopback address, port and path of a configured URL ("http://localhost:3845/mcp?x=1" is
// 127.0.0.1, 3845, "/mcp"); nullopt when it is not plain http to localhost, 127.0.0.0/8 or [::1].
struct LoopbackUrl {
  std::string address;  // numeric; "localhost" becomes 127.0.0.1
  bool localhost = false;
  std::uint16_t port = 80;
  std::string path = "/";
};
std::optional<LoopbackUrl> parse_loopback_url(std::string_view url);

}  // namespace custody::discovery
