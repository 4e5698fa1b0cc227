// One MCP `initialize` request over Streamable HTTP to a listener on this machine's loopback
// interface (DISCOVERY.md §5): does an MCP server answer there, and what does it call itself?
//
// What is sent: `POST <path>` with `Accept: application/json, text/event-stream`,
// `Content-Type: application/json` and the body
//   {"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18",
//    "capabilities":{},"clientInfo":{"name":"custody-agent","version":"<version>"}}}
// and, when the answer carries an `Mcp-Session-Id`, a `DELETE <path>` with that header to end
// the session. No credential, cookie or configured header is ever sent.
//
// Bounded against whatever the process on the other end does: one deadline covers connect,
// write and read of a request; the response (status line, headers, body) is capped; redirects
// are reported, never followed; and only numeric loopback addresses are connected to
// (127.0.0.0/8, ::1, ::ffff:127.x): the socket address itself is checked right before
// connect(), and a host name is never resolved. Never throws; blocking, one request at a time.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace custody::discovery {

enum class ProbeOutcome {
  kMcpServer,      // a JSON-RPC result with protocolVersion and serverInfo
  kNotMcp,         // answered, but not an initialize result (or not HTTP at all)
  kHttpError,      // an HTTP status other than 2xx or 3xx
  kRedirect,       // 3xx: not followed
  kTooLarge,       // the response passed the size cap before it was complete
  kTimeout,        // the deadline passed first
  kConnectFailed,  // refused, reset, or no route
  kNotLoopback,    // the address is not a numeric loopback address: nothing was sent
  kBadPath,        // the path is not an absolute path of visible ASCII: nothing was sent
};
std::string_view probe_outcome_name(ProbeOutcome o);

struct ProbeRequest {
  std::string address;  // numeric: "127.0.0.1", "::1"
  std::uint16_t port = 0;
  std::string path = "/mcp";               // request target; no query
  std::chrono::milliseconds timeout{300};  // connect + write + read of one request
  std::size_t max_response_bytes = 64 * 1024;
  std::string client_version = "0.1.0";  // clientInfo.version
};

struct ProbeAnswer {
  ProbeOutcome outcome = ProbeOutcome::kConnectFailed;
  int http_status = 0;           // when a status line was read
  std::string protocol_version;  // result.protocolVersion (kMcpServer)
  std::string server_name;       // result.serverInfo.name, printable ASCII, at most 128 bytes
  std::string server_version;    // result.serverInfo.version, likewise; may be empty
  bool session_deleted = false;  // an Mcp-Session-Id came back and a DELETE was sent for it
};

// True for a numeric IPv4 address in 127.0.0.0/8, "::1", or an IPv4-mapped ::ffff:127.x.y.z.
// Names ("localhost") are false: they are never resolved.
bool is_loopback_address(std::string_view numeric);

// Sends the initialize request of `request` and reads the answer until `request.timeout` has
// passed or `deadline` (the caller's overall budget) comes, whichever is first.
ProbeAnswer probe_mcp(const ProbeRequest& request, std::chrono::steady_clock::time_point deadline);

// What the bytes `raw` read so far say (exposed for tests): nullopt while they are a prefix of a
// response that may still turn out to be an initialize result (more must be read; never once
// `eof`), else the outcome. An SSE answer is decided by its first event with data, without
// waiting for the stream to end. A returned Mcp-Session-Id goes to `session_id`.
std::optional<ProbeAnswer> interpret_response(std::string_view raw, bool eof,
                                              std::string& session_id);

}  // namespace custody::discovery
