// The opt-in loopback probe: /proc/net/tcp{,6} parsing and socket ownership on the fixture tree
// tests/discovery/fixtures/listeners, then real probes against small HTTP servers this test runs
// on 127.0.0.1 (an MCP server answering in JSON or SSE, garbage, silence, a trickle, a redirect,
// an oversized answer) — each must end in its outcome within the probe's bounds, never hang.
#include "discovery/loopback_probe.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "discovery/listening_sockets.h"
#include "discovery/mcp_probe.h"
#include "discovery/report_json.h"
#include "discovery/scanner.h"

namespace custody::discovery {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

const std::string kListenersRoot = std::string(DISCOVERY_FIXTURES_DIR) + "/listeners";

long long ms_since(Clock::time_point start) {
  return std::chrono::duration_cast<milliseconds>(Clock::now() - start).count();
}

// ---- /proc/net/tcp and socket owners (fixture tree) ----

TEST(ProcNetTcp, LoopbackListenersOnly) {
  std::ifstream tcp(kListenersRoot + "/proc/net/tcp");
  std::string text((std::istreambuf_iterator<char>(tcp)), {});
  auto v4 = parse_proc_net_tcp(text, false);
  ASSERT_EQ(v4.size(), 2u);  // not 0.0.0.0:22, 10.0.0.5:8080, an established socket, bad lines
  EXPECT_EQ(v4[0].address, "127.0.0.1");
  EXPECT_EQ(v4[0].port, 1234);
  EXPECT_EQ(v4[0].inode, 40001u);
  EXPECT_EQ(v4[0].source, "/proc/net/tcp");
  EXPECT_EQ(v4[1].address, "127.0.0.53");
  EXPECT_EQ(v4[1].port, 53);

  std::ifstream tcp6(kListenersRoot + "/proc/net/tcp6");
  text.assign((std::istreambuf_iterator<char>(tcp6)), {});
  auto v6 = parse_proc_net_tcp(text, true);
  ASSERT_EQ(v6.size(), 2u);  // not [::]:80 nor a link-local address
  EXPECT_EQ(v6[0].address, "::1");
  EXPECT_EQ(v6[0].port, 3845);
  EXPECT_EQ(v6[1].address, "127.0.0.1");  // ::ffff:127.0.0.1, reachable over IPv4
  EXPECT_EQ(v6[1].port, 7000);

  EXPECT_TRUE(parse_proc_net_tcp("", false).empty());
  EXPECT_TRUE(parse_proc_net_tcp("   0: 0100007F:04D2 00000000:0000 0A\n", false).empty());
}

TEST(ProcNetTcp, SocketInodesMapToPids) {
  RootView root(kListenersRoot);
  auto owners = socket_owners(root, {40001, 40002, 40003, 40007});
  EXPECT_EQ(owners.size(), 3u);
  EXPECT_EQ(owners[40001], 400);
  EXPECT_EQ(owners[40002], 401);
  EXPECT_EQ(owners[40007], 401);
  EXPECT_EQ(owners.count(40003), 0u);  // nobody visible holds it (another user's process)

  auto listeners = loopback_listeners(root);
  ASSERT_EQ(listeners.size(), 4u);
  EXPECT_EQ(listeners[0].pid, 400);
  EXPECT_EQ(listeners[0].process, "lms");
  EXPECT_EQ(listeners[1].pid, 0);
  EXPECT_EQ(listeners[2].address, "::1");
  EXPECT_EQ(listeners[2].process, "node");
  EXPECT_TRUE(loopback_listeners(RootView("/nonexistent-root")).empty());
}

// ---- A small HTTP server on the loopback interface ----

enum class Behaviour {
  kInitializeJson,  // 200 application/json initialize result, Mcp-Session-Id; DELETE answered
  kInitializeSse,   // 200 text/event-stream, chunked: a priming event, the result; stays open
  kRootOnly,        // 404 on /mcp, the JSON result on /
  kGarbage,         // an SSH banner, then silence
  kJsonRpcError,    // HTTP 200 with a JSON-RPC error: not an initialize result
  kSilent,          // reads the request, never answers
  kTrickle,         // the JSON result, one byte every 30 ms
  kLate,            // the JSON result after 100 ms
  kRedirect,        // 307 to a non-loopback address
  kHuge,            // a 1 MiB body
};

struct SeenRequest {
  std::string method, path, head, body;
};

std::string initialize_result(std::string_view name) {
  return nlohmann::json{{"jsonrpc", "2.0"},
                        {"id", 1},
                        {"result",
                         {{"protocolVersion", "2025-06-18"},
                          {"capabilities", {{"tools", nlohmann::json::object()}}},
                          {"serverInfo", {{"name", name}, {"version", "1.2.3"}}}}}}
      .dump();
}

std::string http_json(int status, const std::string& body, const std::string& extra = "") {
  return "HTTP/1.1 " + std::to_string(status) +
         " X\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
         "\r\n" + extra + "\r\n" + body;
}

std::string chunk(const std::string& data) {
  char size[16];
  std::snprintf(size, sizeof size, "%zx\r\n", data.size());
  return size + data + "\r\n";
}

class FakeMcpServer {
 public:
  // On 127.0.0.1, or on ::1 with `ipv6` (listening() is false where the host has no IPv6).
  explicit FakeMcpServer(Behaviour b, bool ipv6 = false) : behaviour_(b) {
    fd_ = ::socket(ipv6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    sockaddr_storage ss{};
    socklen_t len = 0;
    if (ipv6) {
      auto& a = reinterpret_cast<sockaddr_in6&>(ss);
      a.sin6_family = AF_INET6;
      a.sin6_addr = in6addr_loopback;
      len = sizeof a;
    } else {
      auto& a = reinterpret_cast<sockaddr_in&>(ss);
      a.sin_family = AF_INET;
      a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      len = sizeof a;
    }
    auto* sa = reinterpret_cast<sockaddr*>(&ss);
    listening_ =
        ::bind(fd_, sa, len) == 0 && ::listen(fd_, 16) == 0 && ::getsockname(fd_, sa, &len) == 0;
    if (!listening_ && !ipv6) ADD_FAILURE() << "cannot listen on 127.0.0.1";
    port_ = ntohs(ipv6 ? reinterpret_cast<sockaddr_in6&>(ss).sin6_port
                       : reinterpret_cast<sockaddr_in&>(ss).sin_port);
    acceptor_ = std::thread([this] { accept_loop(); });
  }
  FakeMcpServer(const FakeMcpServer&) = delete;
  FakeMcpServer& operator=(const FakeMcpServer&) = delete;
  ~FakeMcpServer() {
    stop_ = true;
    acceptor_.join();
    for (auto& t : connections_) t.join();
    ::close(fd_);
  }
  std::uint16_t port() const { return port_; }
  bool listening() const { return listening_; }
  std::vector<SeenRequest> requests() {
    std::lock_guard lock(mu_);
    return requests_;
  }

 private:
  void accept_loop() {
    while (!stop_) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 20) <= 0) continue;
      int c = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (c >= 0) connections_.emplace_back([this, c] { serve(c); });
    }
  }

  // Waits up to `ms` (or until stopped) for input; false when the peer closed or we stop.
  bool idle(int fd, int ms) {
    auto end = Clock::now() + milliseconds(ms);
    while (!stop_ && Clock::now() < end) {
      pollfd p{fd, POLLIN, 0};
      if (::poll(&p, 1, 10) > 0) {
        char b[256];
        if (::recv(fd, b, sizeof b, MSG_DONTWAIT) <= 0) return false;
      }
    }
    return !stop_;
  }

  bool read_request(int fd, SeenRequest& r) {
    std::string data;
    char buf[4096];
    while (!stop_) {
      auto head_end = data.find("\r\n\r\n");
      if (head_end != std::string::npos) {
        std::size_t length = 0;
        auto cl = data.find("Content-Length: ");
        if (cl != std::string::npos && cl < head_end) length = std::stoul(data.substr(cl + 16));
        if (data.size() >= head_end + 4 + length) {
          r.head = data.substr(0, head_end);
          r.body = data.substr(head_end + 4, length);
          r.method = r.head.substr(0, r.head.find(' '));
          auto p = r.head.find(' ') + 1;
          r.path = r.head.substr(p, r.head.find(' ', p) - p);
          std::lock_guard lock(mu_);
          requests_.push_back(r);
          return true;
        }
      }
      pollfd p{fd, POLLIN, 0};
      if (::poll(&p, 1, 20) <= 0) continue;
      ssize_t n = ::recv(fd, buf, sizeof buf, 0);
      if (n <= 0) return false;
      data.append(buf, static_cast<std::size_t>(n));
    }
    return false;
  }

  void send_text(int fd, const std::string& s) {
    (void)::send(fd, s.data(), s.size(), MSG_NOSIGNAL);
  }

  void serve(int fd) {
    SeenRequest r;
    while (read_request(fd, r)) {
      if (!respond(fd, r)) break;
    }
    ::close(fd);
  }

  // Answers one request; false when the connection is done.
  bool respond(int fd, const SeenRequest& r) {
    if (r.method == "DELETE") {
      send_text(fd, "HTTP/1.1 204 No Content\r\n\r\n");
      return false;
    }
    switch (behaviour_) {
      case Behaviour::kInitializeJson:
        send_text(fd,
                  http_json(200, initialize_result("fake-json"), "Mcp-Session-Id: sess-42\r\n"));
        return false;
      case Behaviour::kInitializeSse:
        send_text(
            fd,
            "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: "
            "chunked\r\n\r\n" +
                chunk("id: 0\r\ndata:\r\n\r\n") +
                chunk("event: message\r\ndata: " + initialize_result("fake-sse") + "\r\n\r\n"));
        idle(fd, 10000);  // keeps the stream open, as a server with more to say would
        return false;
      case Behaviour::kRootOnly:
        if (r.path != "/") {
          send_text(fd, http_json(404, "{}"));
        } else {
          send_text(fd, http_json(200, initialize_result("fake-root")));
        }
        return false;
      case Behaviour::kGarbage:
        send_text(fd, "SSH-2.0-OpenSSH_9.6\r\n");
        idle(fd, 10000);
        return false;
      case Behaviour::kJsonRpcError:
        send_text(
            fd,
            http_json(200, R"({"jsonrpc":"2.0","id":1,"error":{"code":-32601,"message":"no"}})"));
        return false;
      case Behaviour::kSilent:
        idle(fd, 10000);
        return false;
      case Behaviour::kTrickle:
        for (char c : http_json(200, initialize_result("fake-trickle"))) {
          send_text(fd, std::string(1, c));
          if (!idle(fd, 30)) break;
        }
        return false;
      case Behaviour::kLate:
        if (idle(fd, 100)) send_text(fd, http_json(200, initialize_result("fake-late")));
        return false;
      case Behaviour::kRedirect:
        send_text(fd,
                  "HTTP/1.1 307 Temporary Redirect\r\nLocation: http://192.0.2.1/mcp\r\n"
                  "Content-Length: 0\r\n\r\n");
        return true;
      case Behaviour::kHuge: {
        send_text(fd,
                  "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
                  "1048576\r\n\r\n");
        std::string block(16384, ' ');
        for (int i = 0; i < 64 && !stop_; ++i) {
          if (::send(fd, block.data(), block.size(), MSG_NOSIGNAL) < 0) break;
        }
        return false;
      }
    }
    return false;
  }

  Behaviour behaviour_;
  int fd_ = -1;
  std::uint16_t port_ = 0;
  bool listening_ = false;
  std::atomic<bool> stop_{false};
  std::thread acceptor_;
  std::vector<std::thread> connections_;  // touched by the acceptor thread only, joined after it
  std::mutex mu_;
  std::vector<SeenRequest> requests_;
};

ProbeAnswer probe(const FakeMcpServer& s, const std::string& path = "/mcp",
                  milliseconds timeout = milliseconds(300)) {
  ProbeRequest r;
  r.address = "127.0.0.1";
  r.port = s.port();
  r.path = path;
  r.timeout = timeout;
  return probe_mcp(r, Clock::now() + std::chrono::seconds(10));
}

// ---- One probe ----

TEST(McpProbe, OnlyNumericLoopbackAddressesAreEverConnectedTo) {
  for (const char* a : {"127.0.0.1", "127.1.2.3", "::1", "::ffff:127.0.0.1"}) {
    EXPECT_TRUE(is_loopback_address(a)) << a;
  }
  for (const char* a : {"10.0.0.1", "192.0.2.1", "0.0.0.0", "::", "::ffff:10.0.0.1", "fe80::1",
                        "localhost", "example.com", "128.0.0.1", "", "127.0.0.1 "}) {
    EXPECT_FALSE(is_loopback_address(a)) << a;
    ProbeRequest r;
    r.address = a;
    r.port = 80;
    auto start = Clock::now();
    EXPECT_EQ(probe_mcp(r, Clock::now() + std::chrono::seconds(5)).outcome,
              ProbeOutcome::kNotLoopback)
        << a;
    EXPECT_LT(ms_since(start), 50) << a;
  }
}

TEST(McpProbe, InitializeResultInJsonAndTheSessionIsEnded) {
  FakeMcpServer s(Behaviour::kInitializeJson);
  ProbeAnswer a = probe(s);
  EXPECT_EQ(a.outcome, ProbeOutcome::kMcpServer);
  EXPECT_EQ(a.http_status, 200);
  EXPECT_EQ(a.server_name, "fake-json");
  EXPECT_EQ(a.server_version, "1.2.3");
  EXPECT_EQ(a.protocol_version, "2025-06-18");
  EXPECT_TRUE(a.session_deleted);
  auto seen = s.requests();
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[0].method, "POST");
  EXPECT_EQ(seen[0].path, "/mcp");
  EXPECT_NE(seen[0].head.find("\r\nAccept: application/json, text/event-stream"),
            std::string::npos);
  EXPECT_NE(seen[0].head.find("\r\nContent-Type: application/json"), std::string::npos);
  EXPECT_NE(seen[0].head.find("\r\nHost: 127.0.0.1:" + std::to_string(s.port())),
            std::string::npos);
  auto body = nlohmann::json::parse(seen[0].body);
  EXPECT_EQ(body["jsonrpc"], "2.0");
  EXPECT_EQ(body["id"], 1);
  EXPECT_EQ(body["method"], "initialize");
  EXPECT_EQ(body["params"]["protocolVersion"], "2025-06-18");
  EXPECT_EQ(body["params"]["capabilities"], nlohmann::json::object());
  EXPECT_EQ(body["params"]["clientInfo"]["name"], "custody-agent");
  EXPECT_EQ(seen[1].method, "DELETE");
  EXPECT_EQ(seen[1].path, "/mcp");
  EXPECT_NE(seen[1].head.find("\r\nMcp-Session-Id: sess-42"), std::string::npos);
}

TEST(McpProbe, Ipv6Loopback) {
  FakeMcpServer s(Behaviour::kInitializeJson, true);
  if (!s.listening()) GTEST_SKIP() << "no IPv6 loopback on this host";
  ProbeRequest r;
  r.address = "::1";
  r.port = s.port();
  ProbeAnswer a = probe_mcp(r, Clock::now() + std::chrono::seconds(5));
  EXPECT_EQ(a.outcome, ProbeOutcome::kMcpServer);
  auto seen = s.requests();
  ASSERT_FALSE(seen.empty());
  EXPECT_NE(seen[0].head.find("\r\nHost: [::1]:" + std::to_string(s.port())), std::string::npos);
}

TEST(McpProbe, InitializeResultInTheFirstSseEventOfAStreamLeftOpen) {
  FakeMcpServer s(Behaviour::kInitializeSse);
  auto start = Clock::now();
  ProbeAnswer a = probe(s, "/mcp", milliseconds(2000));
  EXPECT_EQ(a.outcome, ProbeOutcome::kMcpServer);
  EXPECT_EQ(a.server_name, "fake-sse");
  EXPECT_LT(ms_since(start), 1000);  // decided on the event, not on the end of the stream
}

TEST(McpProbe, GarbageIsNotMcpAndNeedsNoTimeout) {
  FakeMcpServer s(Behaviour::kGarbage);
  auto start = Clock::now();
  EXPECT_EQ(probe(s, "/mcp", milliseconds(2000)).outcome, ProbeOutcome::kNotMcp);
  EXPECT_LT(ms_since(start), 1000);
  FakeMcpServer e(Behaviour::kJsonRpcError);
  EXPECT_EQ(probe(e).outcome, ProbeOutcome::kNotMcp);
}

TEST(McpProbe, SilentServerTimesOut) {
  FakeMcpServer s(Behaviour::kSilent);
  auto start = Clock::now();
  EXPECT_EQ(probe(s).outcome, ProbeOutcome::kTimeout);
  auto took = ms_since(start);
  EXPECT_GE(took, 250);
  EXPECT_LT(took, 1000);
}

TEST(McpProbe, TrickleIsBoundedByOneDeadlineNotPerRead) {
  FakeMcpServer s(Behaviour::kTrickle);
  auto start = Clock::now();
  EXPECT_EQ(probe(s).outcome, ProbeOutcome::kTimeout);
  EXPECT_LT(ms_since(start), 1000);
}

TEST(McpProbe, SlowServerWithinTheTimeoutIsFound) {
  FakeMcpServer s(Behaviour::kLate);
  ProbeAnswer a = probe(s);
  EXPECT_EQ(a.outcome, ProbeOutcome::kMcpServer);
  EXPECT_EQ(a.server_name, "fake-late");
}

TEST(McpProbe, RedirectIsNotFollowed) {
  FakeMcpServer s(Behaviour::kRedirect);
  ProbeAnswer a = probe(s);
  EXPECT_EQ(a.outcome, ProbeOutcome::kRedirect);
  EXPECT_EQ(a.http_status, 307);
  EXPECT_EQ(s.requests().size(), 1u);
}

TEST(McpProbe, ResponseSizeIsCapped) {
  FakeMcpServer s(Behaviour::kHuge);
  EXPECT_EQ(probe(s, "/mcp", milliseconds(2000)).outcome, ProbeOutcome::kTooLarge);
}

TEST(McpProbe, NothingListening) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&a), len), 0);
  ASSERT_EQ(::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len), 0);
  ::close(fd);  // bound, never listened: the port is closed
  ProbeRequest r;
  r.address = "127.0.0.1";
  r.port = ntohs(a.sin_port);
  EXPECT_EQ(probe_mcp(r, Clock::now() + std::chrono::seconds(5)).outcome,
            ProbeOutcome::kConnectFailed);
}

TEST(McpProbe, OverallDeadlineCutsALongerTimeout) {
  FakeMcpServer s(Behaviour::kSilent);
  ProbeRequest r;
  r.address = "127.0.0.1";
  r.port = s.port();
  r.timeout = std::chrono::seconds(10);
  auto start = Clock::now();
  EXPECT_EQ(probe_mcp(r, Clock::now() + milliseconds(100)).outcome, ProbeOutcome::kTimeout);
  EXPECT_LT(ms_since(start), 600);
}

TEST(McpProbe, PathsThatCouldInjectAreRefused) {
  FakeMcpServer s(Behaviour::kInitializeJson);
  for (const char* p : {"mcp", "/a b", "/x\r\nHost: evil", "/mcp?token=1", ""}) {
    EXPECT_EQ(probe(s, p).outcome, ProbeOutcome::kBadPath) << p;
  }
  EXPECT_TRUE(s.requests().empty());
}

TEST(McpProbe, InterpretResponse) {
  std::string sid;
  const std::string ok = initialize_result("x");
  EXPECT_FALSE(interpret_response("", false, sid));
  EXPECT_FALSE(interpret_response("HTTP/1.1 200 OK\r\nContent-Le", false, sid));
  EXPECT_EQ(interpret_response("HTTP/1.1 200 OK\r\nContent-Le", true, sid)->outcome,
            ProbeOutcome::kNotMcp);
  EXPECT_EQ(interpret_response("SSH-2.0-x", false, sid)->outcome, ProbeOutcome::kNotMcp);
  // Content-Length: incomplete until the whole body is there.
  std::string full = http_json(200, ok);
  EXPECT_FALSE(interpret_response(full.substr(0, full.size() - 3), false, sid));
  EXPECT_EQ(interpret_response(full, false, sid)->outcome, ProbeOutcome::kMcpServer);
  // Chunked JSON.
  std::string chunked =
      "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
      "Transfer-Encoding: chunked\r\n\r\n" +
      chunk(ok.substr(0, 10)) + chunk(ok.substr(10)) + "0\r\n\r\n";
  EXPECT_EQ(interpret_response(chunked, false, sid)->outcome, ProbeOutcome::kMcpServer);
  // Not an initialize result: no serverInfo, another id, a batch, a 404, a 500.
  auto judge = [&](const std::string& body, int status = 200) {
    return interpret_response(http_json(status, body), true, sid)->outcome;
  };
  EXPECT_EQ(judge(R"({"jsonrpc":"2.0","id":1,"result":{"protocolVersion":"2025-06-18"}})"),
            ProbeOutcome::kNotMcp);
  EXPECT_EQ(
      judge(
          R"({"jsonrpc":"2.0","id":2,"result":{"protocolVersion":"1","serverInfo":{"name":"a"}}})"),
      ProbeOutcome::kNotMcp);
  EXPECT_EQ(judge("[" + ok + "]"), ProbeOutcome::kNotMcp);
  EXPECT_EQ(judge(ok, 404), ProbeOutcome::kHttpError);
  EXPECT_EQ(judge(ok, 500), ProbeOutcome::kHttpError);
  // serverInfo strings are cleaned before they reach a report.
  std::string odd =
      R"({"jsonrpc":"2.0","id":1,"result":{"protocolVersion":"v","serverInfo":{"name":"a\u0007b\n)" +
      std::string(300, 'n') + R"("}}})";
  auto a = interpret_response(http_json(200, odd), true, sid);
  EXPECT_EQ(a->outcome, ProbeOutcome::kMcpServer);
  EXPECT_EQ(a->server_name.substr(0, 4), "a?b?");
  EXPECT_EQ(a->server_name.size(), 128u);
  // The session id is taken only when it is a plain token.
  sid.clear();
  interpret_response(http_json(200, ok, "mcp-session-id: abc-123\r\n"), true, sid);
  EXPECT_EQ(sid, "abc-123");
  sid.clear();
  interpret_response(http_json(200, ok, "Mcp-Session-Id: a b\r\n"), true, sid);
  EXPECT_EQ(sid, "");
}

// ---- The scan step ----

TEST(LoopbackProbe, ParseLoopbackUrl) {
  auto u = parse_loopback_url("http://localhost:3845/mcp?key=<redacted>");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->address, "127.0.0.1");
  EXPECT_TRUE(u->localhost);
  EXPECT_EQ(u->port, 3845);
  EXPECT_EQ(u->path, "/mcp");
  u = parse_loopback_url("HTTP://[::1]:8080");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->address, "::1");
  EXPECT_EQ(u->path, "/");
  u = parse_loopback_url("http://127.0.0.2/");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->port, 80);
  for (const char* bad :
       {"https://localhost:1/mcp", "http://example.com/mcp", "http://10.0.0.1/",
        "http://localhost:0/", "http://localhost:99999/", "http://u@localhost/", "http://[::1/",
        "unix:///tmp/x.sock#/mcp", "http://localhost.evil.com/"}) {
    EXPECT_FALSE(parse_loopback_url(bad)) << bad;
  }
}

// A scratch root whose /proc/net/tcp lists the fake servers' ports, as the kernel would.
class ProbeRoot : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() /
            ("custody-probe-" + std::to_string(::getpid()) + "-" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(root_);
    fs::create_directories(root_ / "proc/net");
    fs::create_directories(root_ / "home/u");
  }
  void TearDown() override { fs::remove_all(root_); }

  // A LISTEN line for 127.0.0.1:port owned by `pid` (named `name`) through socket `inode`.
  void listen_line(std::uint16_t port, std::uint64_t inode, int pid, const std::string& name) {
    in_addr a{};
    ::inet_pton(AF_INET, "127.0.0.1", &a);
    std::uint32_t word = 0;
    std::memcpy(&word, &a, 4);
    char line[256];
    std::snprintf(line, sizeof line,
                  "%4zu: %08X:%04X 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000 "
                  "       0 %llu 1 0000000000000000 100 0 0 10 0\n",
                  lines_++, word, port, static_cast<unsigned long long>(inode));
    tcp_ += line;
    std::ofstream(root_ / "proc/net/tcp") << "  sl  local_address rem_address   st\n" << tcp_;
    fs::path fd = root_ / "proc" / std::to_string(pid) / "fd";
    fs::create_directories(fd);
    fs::create_symlink("socket:[" + std::to_string(inode) + "]", fd / std::to_string(inode));
    std::ofstream(root_ / "proc" / std::to_string(pid) / "status") << "Name:\t" << name << "\n";
  }
  void write(const std::string& rel, const std::string& text) {
    fs::create_directories((root_ / rel).parent_path());
    std::ofstream(root_ / rel) << text;
  }
  ScanOptions options() {
    ScanOptions o;
    o.root = root_.string();
    o.device_id = "d";
    o.processes = false;
    o.probe_loopback = true;
    return o;
  }

  fs::path root_;
  std::string tcp_;
  std::size_t lines_ = 0;
};

const Finding* named(const Report& r, std::string_view name) {
  for (const auto& f : r.findings) {
    if (f.server_name == name) return &f;
  }
  return nullptr;
}

TEST_F(ProbeRoot, ListenersAndConfiguredUrlsAreProbedAndMerged) {
  FakeMcpServer json(Behaviour::kInitializeJson);
  FakeMcpServer sse(Behaviour::kInitializeSse);
  FakeMcpServer root_only(Behaviour::kRootOnly);
  FakeMcpServer garbage(Behaviour::kGarbage);
  FakeMcpServer silent(Behaviour::kSilent);
  listen_line(json.port(), 50001, 501, "mcp-dev");
  listen_line(sse.port(), 50002, 502, "node");
  listen_line(root_only.port(), 50003, 503, "lms");
  listen_line(garbage.port(), 50004, 504, "sshd");
  listen_line(silent.port(), 50005, 505, "stuck");
  // The SSE server is configured in Cursor (by localhost); a configured port with nothing on it.
  write("home/u/.cursor/mcp.json",
        R"({"mcpServers": {"dev": {"url": "http://localhost:)" + std::to_string(sse.port()) +
            R"(/mcp?token=abc"}, "gone": {"url": "http://127.0.0.1:1/mcp"}}})");
  auto start = Clock::now();
  Report r = scan(options());
  EXPECT_LT(ms_since(start), 3000);
  EXPECT_EQ(r.stats.loopback_listeners, 5u);

  const Finding* dev = named(r, "dev");
  ASSERT_NE(dev, nullptr);
  ASSERT_TRUE(dev->probe);  // confirmed running
  EXPECT_EQ(dev->probe->url, "http://127.0.0.1:" + std::to_string(sse.port()) + "/mcp");
  EXPECT_EQ(dev->probe->server_name, "fake-sse");
  EXPECT_EQ(dev->probe->pid, 502);
  EXPECT_EQ(dev->running_pids, std::vector<int>{502});
  EXPECT_EQ(dev->scope, Scope::kUser);
  EXPECT_FALSE(named(r, "fake-sse"));  // merged, not a second finding
  const Finding* gone = named(r, "gone");
  ASSERT_NE(gone, nullptr);
  EXPECT_FALSE(gone->probe);

  const Finding* unconfigured = named(r, "fake-json");
  ASSERT_NE(unconfigured, nullptr);
  EXPECT_EQ(unconfigured->scope, Scope::kProcess);
  EXPECT_EQ(unconfigured->client, "unknown");
  EXPECT_EQ(unconfigured->transport, Transport::kStreamableHttp);
  EXPECT_EQ(unconfigured->url, "http://127.0.0.1:" + std::to_string(json.port()) + "/mcp");
  EXPECT_EQ(unconfigured->config_file, "/proc/501");
  ASSERT_TRUE(unconfigured->probe);
  EXPECT_EQ(unconfigured->probe->process, "mcp-dev");
  EXPECT_EQ(unconfigured->probe->server_version, "1.2.3");
  EXPECT_FALSE(unconfigured->fingerprint.empty());

  const Finding* lms = named(r, "fake-root");  // found at the second path, "/"
  ASSERT_NE(lms, nullptr);
  EXPECT_EQ(lms->client, "lm-studio");  // the owning process is a known client
  EXPECT_EQ(lms->url, "http://127.0.0.1:" + std::to_string(root_only.port()) + "/");

  EXPECT_EQ(r.findings.size(), 4u);         // dev, gone, fake-json, fake-root; garbage/silent: none
  EXPECT_EQ(json.requests().size(), 2u);    // initialize + DELETE
  EXPECT_EQ(silent.requests().size(), 1u);  // timed out on /mcp: "/" would only wait again
  EXPECT_EQ(garbage.requests().size(), 2u);

  nlohmann::json j = report_to_json(r);
  std::string dumped = j.dump();
  EXPECT_EQ(dumped.find("token=abc"), std::string::npos);
  EXPECT_EQ(dumped.find("sess-42"), std::string::npos);
  bool has_probe = false;
  for (const auto& f : j["findings"]) {
    if (f["server_name"] == "fake-json") {
      has_probe = true;
      EXPECT_EQ(f["probe"]["server_info"]["name"], "fake-json");
      EXPECT_EQ(f["probe"]["pid"], 501);
      EXPECT_EQ(f["probe"]["process"], "mcp-dev");
    }
  }
  EXPECT_TRUE(has_probe);
  EXPECT_NE(report_to_text(r).find("answers as MCP server \"fake-json\""), std::string::npos);
}

TEST_F(ProbeRoot, ListenerLimitAndTimeCapAreWarnings) {
  FakeMcpServer a(Behaviour::kSilent);
  FakeMcpServer b(Behaviour::kSilent);
  FakeMcpServer c(Behaviour::kSilent);
  listen_line(a.port(), 1, 601, "a");
  listen_line(b.port(), 2, 602, "b");
  listen_line(c.port(), 3, 603, "c");
  ScanOptions o = options();
  o.probe.max_listeners = 2;
  o.probe.total = milliseconds(450);
  auto start = Clock::now();
  Report r = scan(o);
  EXPECT_LT(ms_since(start), 1500);
  auto warned = [&](std::string_view part) {
    return std::any_of(r.warnings.begin(), r.warnings.end(), [&](const ScanWarning& w) {
      return w.path == "(loopback probe)" && w.reason.find(part) != std::string::npos;
    });
  };
  EXPECT_TRUE(warned("1 listener(s) over the limit of 2"));
  EXPECT_TRUE(warned("time cap of 450 ms reached"));
  EXPECT_EQ(c.requests().size(), 0u);
}

TEST_F(ProbeRoot, OffByDefault) {
  FakeMcpServer json(Behaviour::kInitializeJson);
  listen_line(json.port(), 1, 701, "mcp-dev");
  ScanOptions o = options();
  o.probe_loopback = ScanOptions{}.probe_loopback;
  Report r = scan(o);
  EXPECT_TRUE(r.findings.empty());
  EXPECT_EQ(r.stats.loopback_probes, 0u);
  EXPECT_TRUE(json.requests().empty());
}

// The live /proc/net/tcp of this machine lists a server this test opens, owned by this process.
TEST(ProcNetTcp, LiveListenerOfThisProcess) {
  if (!fs::exists("/proc/net/tcp")) GTEST_SKIP() << "no /proc/net/tcp";
  FakeMcpServer s(Behaviour::kInitializeJson);
  auto listeners = loopback_listeners(RootView("/"));
  auto it = std::find_if(listeners.begin(), listeners.end(), [&](const LoopbackListener& l) {
    return l.address == "127.0.0.1" && l.port == s.port();
  });
  ASSERT_NE(it, listeners.end());
  EXPECT_EQ(it->pid, ::getpid());
}

// The command, as a user runs it.
TEST_F(ProbeRoot, CommandLineFlags) {
  FakeMcpServer root_only(Behaviour::kRootOnly);
  listen_line(root_only.port(), 9, 801, "srv");
  auto run = [&](const std::string& flags) {
    std::string cmd = std::string(CUSTODY_AGENT_BIN) + " scan --no-processes --json --root " +
                      root_.string() + " " + flags;
    std::string out;
    FILE* p = ::popen(cmd.c_str(), "r");
    char buf[4096];
    std::size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
    EXPECT_EQ(::pclose(p), 0);
    return nlohmann::json::parse(out);
  };
  EXPECT_EQ(run("")["stats"]["loopback_probes"], 0);
  auto j = run("--probe-loopback --probe-timeout-ms 200 --probe-total-ms 2000");
  ASSERT_EQ(j["findings"].size(), 1u);
  EXPECT_EQ(j["findings"][0]["probe"]["server_info"]["name"], "fake-root");
  // --probe-path replaces the default paths: only /mcp (a 404 here) is tried.
  j = run("--probe-loopback --probe-path /mcp");
  EXPECT_TRUE(j["findings"].empty());
  EXPECT_EQ(j["stats"]["loopback_probes"], 1);
}

}  // namespace
}  // namespace custody::discovery
