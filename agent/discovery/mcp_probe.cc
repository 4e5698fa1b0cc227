#include "discovery/mcp_probe.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cassert>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <nlohmann/json.hpp>

namespace custody::discovery {

namespace {

using Clock = std::chrono::steady_clock;

constexpr std::string_view kProtocolVersion = "2025-06-18";
constexpr std::size_t kMaxIdentity = 128;
constexpr std::size_t kMaxSessionId = 256;

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
    s.remove_suffix(1);
  return s;
}

bool visible_ascii(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c > 0x20 && c < 0x7f; });
}

// Strings from the other end go into the report: printable ASCII only, capped.
std::string identity(const nlohmann::json& v) {
  if (!v.is_string()) return "";
  std::string out;
  for (char c : v.get_ref<const std::string&>()) {
    if (out.size() == kMaxIdentity) break;
    out += (c >= 0x20 && c < 0x7f) ? c : '?';
  }
  return out;
}

bool is_loopback_sockaddr(const sockaddr_storage& addr) {
  if (addr.ss_family == AF_INET) {
    const auto& v4 = reinterpret_cast<const sockaddr_in&>(addr);
    return (ntohl(v4.sin_addr.s_addr) >> 24) == 127;
  }
  if (addr.ss_family != AF_INET6) return false;
  const in6_addr& b = reinterpret_cast<const sockaddr_in6&>(addr).sin6_addr;
  return IN6_IS_ADDR_LOOPBACK(&b) || (IN6_IS_ADDR_V4MAPPED(&b) && b.s6_addr[12] == 127);
}

// The socket address of a numeric loopback address; false for anything else (names included).
bool loopback_sockaddr(std::string_view address, std::uint16_t port, sockaddr_storage& out,
                       socklen_t& len) {
  std::string a(address);
  std::memset(&out, 0, sizeof out);
  auto* v4 = reinterpret_cast<sockaddr_in*>(&out);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&out);
  if (::inet_pton(AF_INET, a.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(port);
    len = sizeof *v4;
  } else if (::inet_pton(AF_INET6, a.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(port);
    len = sizeof *v6;
  } else {
    return false;
  }
  return is_loopback_sockaddr(out);
}

// A socket descriptor closed on scope exit.
class Socket {
 public:
  explicit Socket(int fd) : fd_(fd) {}
  Socket(const Socket&) = delete;
  Socket& operator=(const Socket&) = delete;
  ~Socket() {
    if (fd_ >= 0) ::close(fd_);
  }
  int fd() const { return fd_; }

 private:
  int fd_;
};

// Rounded up, so that 0 means the deadline has passed (not that less than 1 ms is left).
int remaining_ms(Clock::time_point deadline) {
  auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now());
  return left.count() <= 0 ? 0 : static_cast<int>(std::min<long long>(left.count(), 60000));
}

// Waits for `events` on `fd` until the deadline; false on timeout or error.
bool wait_for(int fd, short events, Clock::time_point deadline) {
  for (;;) {
    int ms = remaining_ms(deadline);
    if (ms == 0) return false;
    pollfd p{fd, events, 0};
    int rc = ::poll(&p, 1, ms);
    if (rc > 0) return true;  // ready, or an error/hangup the next call reports
    if (rc < 0 && errno != EINTR) return false;
  }
}

enum class Io { kOk, kTimeout, kFailed };

Io connect_to(int fd, const sockaddr_storage& addr, socklen_t len, Clock::time_point deadline) {
  // The last gate before a packet leaves. open_connection checked already; this holds for any
  // future caller too, and a debug build stops at the bug.
  assert(is_loopback_sockaddr(addr));
  if (!is_loopback_sockaddr(addr)) return Io::kFailed;
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&addr), len) == 0) return Io::kOk;
  if (errno != EINPROGRESS) return Io::kFailed;
  if (!wait_for(fd, POLLOUT, deadline)) return Io::kTimeout;
  int err = 0;
  socklen_t errlen = sizeof err;
  if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &errlen) != 0 || err != 0) return Io::kFailed;
  return Io::kOk;
}

Io send_all(int fd, std::string_view data, Clock::time_point deadline) {
  while (!data.empty()) {
    ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n > 0) {
      data.remove_prefix(static_cast<std::size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      if (!wait_for(fd, POLLOUT, deadline)) return Io::kTimeout;
      continue;
    }
    return Io::kFailed;
  }
  return Io::kOk;
}

// Opens a non-blocking connection to a loopback address; kNotLoopback before any socket exists.
struct Connection {
  ProbeOutcome failure = ProbeOutcome::kConnectFailed;
  int fd = -1;
};
Connection open_connection(std::string_view address, std::uint16_t port,
                           Clock::time_point deadline) {
  sockaddr_storage addr{};
  socklen_t len = 0;
  if (!loopback_sockaddr(address, port, addr, len)) return {ProbeOutcome::kNotLoopback, -1};
  int fd = ::socket(addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return {ProbeOutcome::kConnectFailed, -1};
  switch (connect_to(fd, addr, len, deadline)) {
    case Io::kOk:
      return {ProbeOutcome::kMcpServer, fd};
    case Io::kTimeout:
      ::close(fd);
      return {ProbeOutcome::kTimeout, -1};
    case Io::kFailed:
      break;
  }
  ::close(fd);
  return {ProbeOutcome::kConnectFailed, -1};
}

std::string host_header(std::string_view address, std::uint16_t port) {
  std::string host = address.find(':') != std::string_view::npos ? "[" + std::string(address) + "]"
                                                                 : std::string(address);
  return host + ":" + std::to_string(port);
}

std::string initialize_body(std::string_view version) {
  nlohmann::json body = {{"jsonrpc", "2.0"},
                         {"id", 1},
                         {"method", "initialize"},
                         {"params",
                          {{"protocolVersion", kProtocolVersion},
                           {"capabilities", nlohmann::json::object()},
                           {"clientInfo", {{"name", "custody-agent"}, {"version", version}}}}}};
  return body.dump();
}

enum class Chunked { kIncomplete, kDone, kBad };

// Decodes a chunked body into `out` as far as it goes (the data of a partial chunk included).
Chunked dechunk(std::string_view in, std::string& out) {
  out.clear();
  for (;;) {
    auto eol = in.find("\r\n");
    if (eol == std::string_view::npos) return in.size() > 64 ? Chunked::kBad : Chunked::kIncomplete;
    std::string_view size_text = trim(in.substr(0, in.find_first_of(";\r")));
    std::size_t size = 0;
    if (size_text.empty() || size_text.size() > 8) return Chunked::kBad;
    for (char c : size_text) {
      int d = std::isdigit(static_cast<unsigned char>(c)) ? c - '0'
              : (c >= 'a' && c <= 'f')                    ? c - 'a' + 10
              : (c >= 'A' && c <= 'F')                    ? c - 'A' + 10
                                                          : -1;
      if (d < 0) return Chunked::kBad;
      size = size * 16 + static_cast<std::size_t>(d);
    }
    in.remove_prefix(eol + 2);
    if (size == 0) return Chunked::kDone;
    if (in.size() < size + 2) {
      out.append(in.substr(0, std::min(size, in.size())));
      return Chunked::kIncomplete;
    }
    out.append(in.substr(0, size));
    in.remove_prefix(size + 2);
  }
}

// The data of the first server-sent event with non-empty data (a priming event with an empty
// data field is skipped); nullopt until such an event is complete (or the stream ended).
std::optional<std::string> first_sse_data(std::string_view body, bool ended) {
  std::string text;
  text.reserve(body.size());
  for (std::size_t i = 0; i < body.size(); ++i) {
    if (body[i] == '\r') {
      text += '\n';
      if (i + 1 < body.size() && body[i + 1] == '\n') ++i;
    } else {
      text += body[i];
    }
  }
  std::size_t pos = 0;
  while (pos < text.size()) {
    auto end = text.find("\n\n", pos);
    if (end == std::string::npos && !ended) return std::nullopt;
    if (end == std::string::npos) end = text.size();
    std::string data;
    bool has_data = false;
    std::size_t line_start = pos;
    while (line_start < end) {
      auto line_end = std::min(text.find('\n', line_start), end);
      std::string_view line(text.data() + line_start, line_end - line_start);
      if (line.substr(0, 5) == "data:") {
        line.remove_prefix(5);
        if (!line.empty() && line.front() == ' ') line.remove_prefix(1);
        if (has_data) data += '\n';
        data.append(line);
        has_data = true;
      } else if (line == "data") {
        if (has_data) data += '\n';
        has_data = true;
      }
      line_start = line_end + 1;
    }
    if (!trim(data).empty()) return data;
    pos = end + 2;
  }
  return std::nullopt;
}

// The status line and the headers the probe reads; nullopt when the status line is not HTTP.
struct ResponseHead {
  int status = 0;
  std::string content_type;  // lowercased
  bool chunked = false;
  std::optional<std::size_t> content_length;
  std::string session_id;  // Mcp-Session-Id, when it is a plain token
};

std::optional<ResponseHead> parse_head(std::string_view head) {
  auto first_eol = head.find("\r\n");
  std::string_view status_line = head.substr(0, first_eol);
  auto sp = status_line.find(' ');
  if (sp == std::string_view::npos || status_line.size() < sp + 4) return std::nullopt;
  ResponseHead h;
  for (char c : status_line.substr(sp + 1, 3)) {
    if (c < '0' || c > '9') return std::nullopt;
    h.status = h.status * 10 + (c - '0');
  }
  std::size_t pos = first_eol == std::string_view::npos ? head.size() : first_eol + 2;
  while (pos < head.size()) {
    auto eol = std::min(head.find("\r\n", pos), head.size());
    std::string_view line = head.substr(pos, eol - pos);
    pos = eol + 2;
    auto colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    std::string name = lower(trim(line.substr(0, colon)));
    std::string_view value = trim(line.substr(colon + 1));
    if (name == "content-type") {
      h.content_type = lower(value);
    } else if (name == "transfer-encoding") {
      h.chunked = lower(value).find("chunked") != std::string::npos;
    } else if (name == "content-length") {
      bool digits =
          !value.empty() && value.size() < 12 &&
          std::all_of(value.begin(), value.end(), [](char c) { return c >= '0' && c <= '9'; });
      if (digits) h.content_length = std::stoull(std::string(value));
    } else if (name == "mcp-session-id" && value.size() <= kMaxSessionId && visible_ascii(value)) {
      h.session_id = std::string(value);
    }
  }
  return h;
}

ProbeAnswer judge_json(std::string_view text, int status) {
  ProbeAnswer a;
  a.http_status = status;
  a.outcome = ProbeOutcome::kNotMcp;
  auto j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return a;
  auto jsonrpc = j.find("jsonrpc");
  auto id = j.find("id");
  auto result = j.find("result");
  if (jsonrpc == j.end() || *jsonrpc != "2.0" || id == j.end() || *id != 1 || result == j.end() ||
      !result->is_object()) {
    return a;
  }
  auto version = result->find("protocolVersion");
  auto info = result->find("serverInfo");
  if (version == result->end() || !version->is_string() || info == result->end() ||
      !info->is_object() || !info->contains("name") || !(*info)["name"].is_string()) {
    return a;
  }
  a.outcome = ProbeOutcome::kMcpServer;
  a.protocol_version = identity(*version);
  a.server_name = identity((*info)["name"]);
  if (info->contains("version")) a.server_version = identity((*info)["version"]);
  return a;
}

}  // namespace

std::string_view probe_outcome_name(ProbeOutcome o) {
  switch (o) {
    case ProbeOutcome::kMcpServer:
      return "mcp-server";
    case ProbeOutcome::kNotMcp:
      return "not-mcp";
    case ProbeOutcome::kHttpError:
      return "http-error";
    case ProbeOutcome::kRedirect:
      return "redirect";
    case ProbeOutcome::kTooLarge:
      return "too-large";
    case ProbeOutcome::kTimeout:
      return "timeout";
    case ProbeOutcome::kConnectFailed:
      return "connect-failed";
    case ProbeOutcome::kNotLoopback:
      return "not-loopback";
    case ProbeOutcome::kBadPath:
      return "bad-path";
  }
  return "unknown";
}

bool is_loopback_address(std::string_view numeric) {
  sockaddr_storage addr{};
  socklen_t len = 0;
  return loopback_sockaddr(numeric, 1, addr, len);
}

std::optional<ProbeAnswer> interpret_response(std::string_view raw, bool eof,
                                              std::string& session_id) {
  ProbeAnswer not_mcp;
  not_mcp.outcome = ProbeOutcome::kNotMcp;
  // Not HTTP at all (an SSH banner, a database handshake): no need to wait for more.
  constexpr std::string_view kHttp = "HTTP/";
  if (raw.substr(0, std::min(raw.size(), kHttp.size())) != kHttp.substr(0, raw.size()))
    return not_mcp;
  auto head_end = raw.find("\r\n\r\n");
  if (head_end == std::string_view::npos) {
    if (eof) return not_mcp;
    return std::nullopt;
  }
  auto head = parse_head(raw.substr(0, head_end));
  if (!head) return not_mcp;
  if (!head->session_id.empty()) session_id = head->session_id;
  ProbeAnswer answer = not_mcp;
  answer.http_status = head->status;
  if (head->status >= 300 && head->status < 400) {
    answer.outcome = ProbeOutcome::kRedirect;
    return answer;
  }
  if (head->status < 200 || head->status >= 300) {
    answer.outcome = ProbeOutcome::kHttpError;
    return answer;
  }
  std::string_view body = raw.substr(head_end + 4);
  std::string decoded;
  bool complete = eof;
  if (head->chunked) {
    Chunked c = dechunk(body, decoded);
    if (c == Chunked::kBad) return answer;
    complete = complete || c == Chunked::kDone;
  } else {
    decoded.assign(body);
    if (head->content_length) {
      complete = complete || decoded.size() >= *head->content_length;
      if (decoded.size() > *head->content_length) decoded.resize(*head->content_length);
    }
  }
  if (head->content_type.rfind("text/event-stream", 0) == 0) {
    auto data = first_sse_data(decoded, complete);
    if (!data) return complete ? std::optional<ProbeAnswer>(answer) : std::nullopt;
    return judge_json(*data, head->status);
  }
  if (!complete) return std::nullopt;
  return judge_json(decoded, head->status);
}

namespace {

// Ends the session the server opened for us; the answer does not matter, only the bound.
bool delete_session(const ProbeRequest& r, const std::string& session_id,
                    const std::string& protocol_version, Clock::time_point deadline) {
  Connection c = open_connection(r.address, r.port, deadline);
  if (c.fd < 0) return false;
  Socket sock(c.fd);
  std::string req = "DELETE " + r.path + " HTTP/1.1\r\nHost: " + host_header(r.address, r.port) +
                    "\r\nUser-Agent: custody-agent/" + r.client_version +
                    "\r\nMcp-Session-Id: " + session_id + "\r\n";
  if (visible_ascii(protocol_version)) req += "MCP-Protocol-Version: " + protocol_version + "\r\n";
  req += "Content-Length: 0\r\nConnection: close\r\n\r\n";
  if (send_all(sock.fd(), req, deadline) != Io::kOk) return false;
  // Read the status line so that the server sees a complete exchange, then close.
  char buf[512];
  if (wait_for(sock.fd(), POLLIN, deadline)) (void)::recv(sock.fd(), buf, sizeof buf, 0);
  return true;
}

}  // namespace

ProbeAnswer probe_mcp(const ProbeRequest& r, Clock::time_point overall) {
  ProbeAnswer answer;
  if (r.path.empty() || r.path[0] != '/' || !visible_ascii(r.path) ||
      r.path.find_first_of("?#") != std::string::npos) {
    answer.outcome = ProbeOutcome::kBadPath;
    return answer;
  }
  Clock::time_point deadline = std::min(overall, Clock::now() + r.timeout);
  Connection c = open_connection(r.address, r.port, deadline);
  if (c.fd < 0) {
    answer.outcome = c.failure;
    return answer;
  }
  Socket sock(c.fd);
  std::string body = initialize_body(r.client_version);
  std::string req = "POST " + r.path + " HTTP/1.1\r\nHost: " + host_header(r.address, r.port) +
                    "\r\nUser-Agent: custody-agent/" + r.client_version +
                    "\r\nAccept: application/json, text/event-stream"
                    "\r\nContent-Type: application/json\r\nContent-Length: " +
                    std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body;
  switch (send_all(sock.fd(), req, deadline)) {
    case Io::kOk:
      break;
    case Io::kTimeout:
      answer.outcome = ProbeOutcome::kTimeout;
      return answer;
    case Io::kFailed:
      answer.outcome = ProbeOutcome::kConnectFailed;
      return answer;
  }
  std::string raw;
  std::string session_id;
  char buf[8192];
  for (;;) {
    if (!wait_for(sock.fd(), POLLIN, deadline)) {
      answer.outcome = ProbeOutcome::kTimeout;
      return answer;
    }
    std::size_t room = r.max_response_bytes + 1 - raw.size();
    ssize_t n = ::recv(sock.fd(), buf, std::min(sizeof buf, room), 0);
    if (n < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)) continue;
    bool eof = n <= 0;  // closed, or reset: judge what arrived
    if (n > 0) raw.append(buf, static_cast<std::size_t>(n));
    if (raw.size() > r.max_response_bytes) {
      answer.outcome = ProbeOutcome::kTooLarge;
      return answer;
    }
    auto verdict = interpret_response(raw, eof, session_id);
    if (!verdict) continue;
    answer = std::move(*verdict);
    break;
  }
  if (!session_id.empty() && answer.outcome == ProbeOutcome::kMcpServer) {
    // Its own short budget, still inside the overall one.
    answer.session_deleted = delete_session(r, session_id, answer.protocol_version,
                                            std::min(overall, Clock::now() + r.timeout));
  }
  return answer;
}

}  // namespace custody::discovery
