// The workload server on a temporary socket, with fakes of custodyd's side. The test process
// itself is the workload: its own uid and executable hash are the selectors.
#include "workload/server.h"

#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <future>
#include <mutex>
#include <thread>

#include "custody/workload_client.h"

namespace custody::workload {
namespace {

using namespace std::chrono_literals;

class FakeBindings final : public BindingSource {
 public:
  Result<std::vector<WorkloadBinding>> bindings() override {
    std::lock_guard lock(mu);
    if (failure) return *failure;
    return list;
  }
  std::mutex mu;
  std::vector<WorkloadBinding> list;
  std::optional<Error> failure;
};

class FakeBroker final : public CredentialBroker {
 public:
  Result<Credential> client_assertion(const WorkloadBinding& b, const AttestedProcess&,
                                      const AssertionParams& params) override {
    ++assertions;
    if (failure) return *failure;
    return Credential{"jwt-" + b.identity + "-" + params.audience, "client-assertion",
                      std::chrono::system_clock::now() + 300s, b.identity, b.client_id};
  }
  Result<Credential> access_token(const WorkloadBinding& b, const AttestedProcess&,
                                  const TokenParams& params) override {
    ++tokens;
    if (gate.valid()) gate.wait();
    if (failure) return *failure;
    return Credential{"at-" + b.identity + "-" + params.scope, "Bearer",
                      std::chrono::system_clock::now() + 300s, b.identity, b.client_id};
  }
  std::atomic<int> assertions{0}, tokens{0};
  std::optional<Error> failure;
  std::shared_future<void> gate;  // when set, access_token waits on it
};

class RecordingAudit final : public WorkloadAudit {
 public:
  void refused(const PeerInfo& peer, std::string_view reason) override {
    std::lock_guard lock(mu);
    refusals.emplace_back(reason);
    peers.push_back(peer);
    cv.notify_all();
  }
  void issued(const AttestedProcess&, const WorkloadBinding&, std::string_view, const Credential&,
              bool from_cache) override {
    std::lock_guard lock(mu);
    (from_cache ? cached : fresh)++;
  }
  // Waits (bounded) until n refusals were reported; returns the last one.
  std::string wait_refusal(std::size_t n) {
    std::unique_lock lock(mu);
    cv.wait_for(lock, 5s, [&] { return refusals.size() >= n; });
    return refusals.size() >= n ? refusals[n - 1] : "<none>";
  }
  std::mutex mu;
  std::condition_variable cv;
  std::vector<std::string> refusals;
  std::vector<PeerInfo> peers;
  int fresh = 0, cached = 0;
};

// This process as the agent sees it.
PeerInfo self() {
  ProcReader reader;
  PeerInfo p;
  EXPECT_TRUE(reader.read(::getpid(), p).ok());
  p.uid = ::getuid();
  return p;
}

WorkloadBinding binding_for_self(std::string identity) {
  PeerInfo me = self();
  auto selectors =
      parse_selectors({"uid:" + std::to_string(me.uid), "exe_sha256:" + me.exe_sha256});
  EXPECT_TRUE(selectors.ok());
  return {identity, "client-" + identity, selectors.value()};
}

struct Reply {
  int status = 0;
  std::string body;
};

int connect_to(const std::string& path) {
  int s = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
  EXPECT_EQ(::connect(s, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  return s;
}

// Reads until the server closes (bounded by 5 s).
std::string read_all(int s) {
  std::string out;
  char buf[4096];
  pollfd p{s, POLLIN, 0};
  while (::poll(&p, 1, 5000) > 0) {
    ssize_t n = ::recv(s, buf, sizeof buf, 0);
    if (n <= 0) break;
    out.append(buf, static_cast<std::size_t>(n));
  }
  return out;
}

Reply raw_exchange(const std::string& path, const std::string& request) {
  int s = connect_to(path);
  ::send(s, request.data(), request.size(), MSG_NOSIGNAL);
  std::string raw = read_all(s);
  ::close(s);
  Reply r;
  if (raw.size() > 12) r.status = std::atoi(raw.substr(9, 3).c_str());
  auto body = raw.find("\r\n\r\n");
  if (body != std::string::npos) r.body = raw.substr(body + 4);
  return r;
}

std::string post(std::string_view target, std::string_view body) {
  return "POST " + std::string(target) +
         " HTTP/1.1\r\nHost: x\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" +
         std::string(body);
}

class WorkloadServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/custody-wl-XXXXXX";
    dir = ::mkdtemp(tmpl);
    options.socket_path = dir + "/workload.sock";
    options.read_timeout = 300ms;
    bindings.list = {binding_for_self("tickets-agent")};
  }
  void TearDown() override {
    server.reset();
    std::filesystem::remove_all(dir);
  }
  void start() {
    server = std::make_unique<WorkloadServer>(options, bindings, broker, audit);
    Status s = server->start();
    ASSERT_TRUE(s.ok()) << s.error().message;
  }
  WorkloadClient client() const {
    return WorkloadClient(WorkloadClientOptions{.socket_path = options.socket_path});
  }

  std::string dir;
  WorkloadServerOptions options;
  FakeBindings bindings;
  FakeBroker broker;
  RecordingAudit audit;
  std::unique_ptr<WorkloadServer> server;
};

TEST_F(WorkloadServerTest, AssertionAndTokenThroughTheClientLibrary) {
  start();
  auto c = client();
  EXPECT_TRUE(c.healthy());
  auto assertion = c.client_assertion({.audience = "https://custody.example/token"});
  ASSERT_TRUE(assertion.ok()) << assertion.error().code << ": " << assertion.error().description;
  EXPECT_EQ(assertion.value().assertion, "jwt-tickets-agent-https://custody.example/token");
  EXPECT_EQ(assertion.value().client_assertion_type,
            "urn:ietf:params:oauth:client-assertion-type:jwt-bearer");
  EXPECT_EQ(assertion.value().identity, "tickets-agent");
  EXPECT_EQ(assertion.value().client_id, "client-tickets-agent");
  EXPECT_GT(assertion.value().expires_at, std::chrono::system_clock::now());

  auto token = c.access_token({.scope = "tickets:read"});
  ASSERT_TRUE(token.ok()) << token.error().code << ": " << token.error().description;
  EXPECT_EQ(token.value().access_token, "at-tickets-agent-tickets:read");
  EXPECT_EQ(token.value().token_type, "Bearer");
  EXPECT_TRUE(audit.refusals.empty());
}

TEST_F(WorkloadServerTest, SocketModeAndEnvironmentDefault) {
  start();
  struct stat st {};
  ASSERT_EQ(::stat(options.socket_path.c_str(), &st), 0);
  EXPECT_TRUE(S_ISSOCK(st.st_mode));
  EXPECT_EQ(st.st_mode & 0777, 0666u);
  ::setenv("CUSTODY_AGENT_SOCKET", options.socket_path.c_str(), 1);
  WorkloadClient from_env;
  ::unsetenv("CUSTODY_AGENT_SOCKET");
  EXPECT_EQ(from_env.socket_path(), options.socket_path);
  EXPECT_TRUE(from_env.access_token().ok());
  EXPECT_EQ(WorkloadClient().socket_path(), kDefaultWorkloadSocket);
}

TEST_F(WorkloadServerTest, CachedCredentialIsReused) {
  start();
  auto c = client();
  auto first = c.access_token({.scope = "tickets:read"});
  auto second = c.access_token({.scope = "tickets:read"});
  ASSERT_TRUE(first.ok() && second.ok());
  EXPECT_EQ(first.value().access_token, second.value().access_token);
  EXPECT_EQ(broker.tokens.load(), 1);
  EXPECT_EQ(audit.fresh, 1);
  EXPECT_EQ(audit.cached, 1);
  ASSERT_TRUE(c.access_token({.scope = "tickets:write"}).ok());  // other params: other entry
  EXPECT_EQ(broker.tokens.load(), 2);
}

TEST_F(WorkloadServerTest, GarbageIsA400AndAudited) {
  start();
  Reply r = raw_exchange(options.socket_path, "garbage\r\n\r\n");
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(r.body.find("\"invalid_request\""), std::string::npos) << r.body;
  EXPECT_NE(audit.wait_refusal(1).find("malformed HTTP request"), std::string::npos);
  std::lock_guard lock(audit.mu);
  EXPECT_EQ(audit.peers[0].pid, ::getpid());  // what the kernel said is in the audit
  EXPECT_EQ(audit.peers[0].uid, static_cast<std::int64_t>(::getuid()));
}

TEST_F(WorkloadServerTest, BadBodiesAre400) {
  start();
  const std::string deep = std::string(8000, '[') + std::string(8000, ']');
  for (std::string body : {std::string("{"), std::string("[1]"), std::string("{\"scope\": 3}"),
                           std::string("{\"color\": \"red\"}"), std::string(16000, '['), deep,
                           std::string("{\"scope\": \"\\u0000\"}"), std::string("\xff\xfe")}) {
    Reply r = raw_exchange(options.socket_path, post("/v1/token", body));
    EXPECT_EQ(r.status, 400) << body;
  }
  // scope belongs to /v1/token only.
  EXPECT_EQ(raw_exchange(options.socket_path, post("/v1/assertion", "{\"scope\":\"x\"}")).status,
            400);
  audit.wait_refusal(9);
  EXPECT_EQ(broker.tokens.load(), 0);
}

TEST_F(WorkloadServerTest, OversizedBodyIs413) {
  start();
  Reply r = raw_exchange(options.socket_path, post("/v1/token", std::string(17 * 1024, ' ')));
  EXPECT_EQ(r.status, 413);
  EXPECT_NE(r.body.find("request_too_large"), std::string::npos);
  EXPECT_NE(audit.wait_refusal(1).find("16384"), std::string::npos);
}

TEST_F(WorkloadServerTest, OversizedHeadIs431) {
  start();
  Reply r =
      raw_exchange(options.socket_path,
                   "GET /v1/health HTTP/1.1\r\nX-Pad: " + std::string(9000, 'x') + "\r\n\r\n");
  EXPECT_EQ(r.status, 431);
  EXPECT_NE(audit.wait_refusal(1).find("8192"), std::string::npos);
}

TEST_F(WorkloadServerTest, ConnectionsBeyondTheLimitAreClosedAndAudited) {
  options.max_connections = 1;
  options.read_timeout = 5s;
  start();
  int holder = connect_to(options.socket_path);
  // The holder counts once the server has accepted it: wait for its session (bounded).
  Reply extra;
  for (int i = 0; i < 200; ++i) {
    extra = raw_exchange(options.socket_path, "GET /v1/health HTTP/1.1\r\n\r\n");
    if (extra.status == 0) break;
  }
  EXPECT_EQ(extra.status, 0);  // closed without an answer
  EXPECT_NE(audit.wait_refusal(1).find("too many connections"), std::string::npos);
  ::close(holder);
}

TEST_F(WorkloadServerTest, SaturatedWorkersAnswer503AtOnce) {
  options.worker_threads = 1;
  options.max_queued = 1;
  std::promise<void> release;
  broker.gate = release.get_future().share();
  start();
  auto c = client();
  auto first = std::async(std::launch::async, [&] { return c.access_token(); });
  while (broker.tokens.load() == 0) std::this_thread::sleep_for(1ms);  // the worker is taken
  // Of two more, one waits in the queue and the other is refused at once.
  auto second = std::async(std::launch::async, [&] { return c.access_token(); });
  auto third = std::async(std::launch::async, [&] { return c.access_token(); });
  std::string reason = audit.wait_refusal(1);
  EXPECT_NE(reason.find("too many requests in progress"), std::string::npos) << reason;
  release.set_value();
  auto r2 = second.get();
  auto r3 = third.get();
  EXPECT_TRUE(first.get().ok());
  EXPECT_NE(r2.ok(), r3.ok());
  const auto& refused = r2.ok() ? r3 : r2;
  EXPECT_EQ(refused.error().status, 503);
}

TEST_F(WorkloadServerTest, RoutesAndMethods) {
  start();
  EXPECT_EQ(raw_exchange(options.socket_path, "GET /v1/health HTTP/1.1\r\n\r\n").status, 200);
  EXPECT_EQ(raw_exchange(options.socket_path, "GET /v1/nothing HTTP/1.1\r\n\r\n").status, 404);
  EXPECT_EQ(raw_exchange(options.socket_path, "GET /v1/token HTTP/1.1\r\n\r\n").status, 405);
  Reply empty_body = raw_exchange(options.socket_path, post("/v1/token", ""));
  EXPECT_EQ(empty_body.status, 200) << empty_body.body;
}

TEST_F(WorkloadServerTest, SilentPeerIsClosedWhileOthersAreServed) {
  start();
  int silent = connect_to(options.socket_path);
  const auto began = std::chrono::steady_clock::now();
  auto c = client();
  ASSERT_TRUE(c.access_token().ok());  // served while the silent peer holds its connection
  EXPECT_LT(std::chrono::steady_clock::now() - began, options.read_timeout);
  std::string rest = read_all(silent);  // returns when the server closes
  const auto waited = std::chrono::steady_clock::now() - began;
  ::close(silent);
  EXPECT_TRUE(rest.empty());
  EXPECT_GE(waited, 250ms);
  EXPECT_LT(waited, 3s);
  EXPECT_NE(audit.wait_refusal(1).find("read timeout"), std::string::npos);
}

TEST_F(WorkloadServerTest, SlowBrokerDoesNotStallOthers) {
  std::promise<void> release;
  broker.gate = release.get_future().share();
  start();
  auto c = client();
  auto slow = std::async(std::launch::async, [&] { return c.access_token(); });
  while (broker.tokens.load() == 0) std::this_thread::sleep_for(1ms);
  EXPECT_TRUE(c.healthy());
  EXPECT_TRUE(c.client_assertion().ok());
  release.set_value();
  EXPECT_TRUE(slow.get().ok());
}

TEST_F(WorkloadServerTest, VanishedPeerIsRefused) {
  // The child sends a whole request and exits; the worker attests only once it is reaped.
  std::promise<void> reaped;
  auto reaped_future = reaped.get_future().share();
  options.before_attestation = [reaped_future](pid_t pid) {
    if (pid != ::getpid()) reaped_future.wait_for(5s);
  };
  start();
  const std::string request = post("/v1/token", "{}");
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, options.socket_path.c_str(), sizeof addr.sun_path - 1);
  pid_t child = ::fork();
  if (child == 0) {
    int s = ::socket(AF_UNIX, SOCK_STREAM, 0);
    if (::connect(s, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) {
      (void)!::write(s, request.data(), request.size());
    }
    ::_exit(0);
  }
  ASSERT_GT(child, 0);
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  reaped.set_value();
  EXPECT_NE(audit.wait_refusal(1).find("process exited or pid reused during attestation"),
            std::string::npos);
  std::lock_guard lock(audit.mu);
  EXPECT_EQ(audit.peers[0].pid, child);
  EXPECT_EQ(broker.tokens.load(), 0);
}

TEST_F(WorkloadServerTest, WrongSelectorIs403AndAudited) {
  auto selectors = parse_selectors({"uid:" + std::to_string(::getuid() + 1)});
  bindings.list = {{"someone-else", "client-x", selectors.value()}};
  start();
  auto token = client().access_token();
  ASSERT_FALSE(token.ok());
  EXPECT_EQ(token.error().status, 403);
  EXPECT_EQ(token.error().code, "no_matching_identity");
  EXPECT_NE(token.error().description.find("no identity on this device matches the process"),
            std::string::npos);
  EXPECT_NE(audit.wait_refusal(1).find("uid " + std::to_string(::getuid())), std::string::npos);
  EXPECT_EQ(broker.tokens.load(), 0);
}

TEST_F(WorkloadServerTest, AmbiguousUnlessTheIdentityIsNamed) {
  bindings.list = {binding_for_self("a"), binding_for_self("b")};
  start();
  auto c = client();
  auto ambiguous = c.access_token();
  ASSERT_FALSE(ambiguous.ok());
  EXPECT_EQ(ambiguous.error().status, 403);
  EXPECT_EQ(ambiguous.error().code, "ambiguous_identity");
  auto named = c.access_token({.identity = "b"});
  ASSERT_TRUE(named.ok());
  EXPECT_EQ(named.value().identity, "b");
  auto stranger = c.access_token({.identity = "c"});
  ASSERT_FALSE(stranger.ok());
  EXPECT_EQ(stranger.error().code, "no_matching_identity");
  audit.wait_refusal(2);
}

TEST_F(WorkloadServerTest, BrokerFailuresMapTo503And502) {
  start();
  broker.failure = Error::unavailable("custodyd down");
  auto down = client().access_token();
  ASSERT_FALSE(down.ok());
  EXPECT_EQ(down.error().status, 503);
  broker.failure = Error::internal("bad gateway");
  auto broken = client().access_token();
  ASSERT_FALSE(broken.ok());
  EXPECT_EQ(broken.error().status, 502);
  EXPECT_EQ(broken.error().code, "upstream_error");
  bindings.failure = Error::unavailable("no bindings");
  EXPECT_EQ(client().client_assertion().error().status, 503);
  audit.wait_refusal(3);
}

TEST_F(WorkloadServerTest, StaleSocketFileIsReplaced) {
  {
    int s = ::socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, options.socket_path.c_str(), sizeof addr.sun_path - 1);
    ASSERT_EQ(::bind(s, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    ::close(s);  // the file stays, nobody listens
  }
  start();
  EXPECT_TRUE(client().healthy());
}

TEST_F(WorkloadServerTest, LiveServerIsNotReplaced) {
  start();
  WorkloadServer second(options, bindings, broker, audit);
  Status s = second.start();
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, Code::kConflict);
  EXPECT_TRUE(client().healthy());
}

TEST_F(WorkloadServerTest, NonSocketFileIsRefused) {
  std::ofstream(options.socket_path) << "not a socket";
  WorkloadServer s(options, bindings, broker, audit);
  Status st = s.start();
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code, Code::kConflict);
  EXPECT_NE(st.error().message.find("not a socket"), std::string::npos);
  std::ifstream in(options.socket_path);
  std::string content((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(content, "not a socket");
}

TEST_F(WorkloadServerTest, CredentialRefreshedAfterEightyPercentOfItsLifetime) {
  const auto now = std::chrono::system_clock::now();
  FixedClock clock(
      std::chrono::duration_cast<std::chrono::microseconds>(now.time_since_epoch()).count());
  options.clock = &clock;
  start();
  auto c = client();
  ASSERT_TRUE(c.client_assertion().ok());  // the fake's credentials live 300 s
  clock.advance(239 * kMicrosPerSecond);
  ASSERT_TRUE(c.client_assertion().ok());
  EXPECT_EQ(broker.assertions.load(), 1);
  clock.advance(2 * kMicrosPerSecond);  // 241 s: past 80%
  ASSERT_TRUE(c.client_assertion().ok());
  EXPECT_EQ(broker.assertions.load(), 2);
}

TEST_F(WorkloadServerTest, RunBlocksUntilStop) {
  WorkloadServer blocking(options, bindings, broker, audit);
  std::promise<Status> ran;
  std::thread runner([&] { ran.set_value(blocking.run()); });
  auto c = client();
  for (int i = 0; i < 500 && !c.healthy(); ++i) std::this_thread::sleep_for(2ms);
  EXPECT_TRUE(c.access_token().ok());
  blocking.stop();
  runner.join();
  EXPECT_TRUE(ran.get_future().get().ok());
  EXPECT_FALSE(std::filesystem::exists(options.socket_path));
}

// `custody-agent token` through the real binary; its executable differs from this test's, so
// the binding selects on the uid alone.
std::string run_cli(const std::string& args, int* exit_code) {
  std::string out;
  FILE* p = ::popen((std::string(CUSTODY_AGENT_BIN) + " token " + args + " 2>&1").c_str(), "r");
  char buf[512];
  while (p && std::fgets(buf, sizeof buf, p)) out += buf;
  int status = p ? ::pclose(p) : -1;
  *exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return out;
}

TEST_F(WorkloadServerTest, TokenCommandPrintsTheCredential) {
  bindings.list = {
      {"cli-agent", "client-cli", parse_selectors({"uid:" + std::to_string(::getuid())}).value()}};
  start();
  int code = -1;
  EXPECT_EQ(run_cli("--socket " + options.socket_path + " --scope tickets:read", &code),
            "at-cli-agent-tickets:read\n");
  EXPECT_EQ(code, 0);
  EXPECT_EQ(run_cli("--socket " + options.socket_path + " --assertion --audience aud", &code),
            "jwt-cli-agent-aud\n");
  EXPECT_EQ(code, 0);
  std::string refused = run_cli("--socket " + options.socket_path + " --identity nobody", &code);
  EXPECT_EQ(code, 1);
  EXPECT_NE(refused.find("no_matching_identity (HTTP 403)"), std::string::npos) << refused;
  std::string unreachable = run_cli("--socket " + dir + "/missing.sock", &code);
  EXPECT_EQ(code, 1);
  EXPECT_NE(unreachable.find("agent_unreachable"), std::string::npos) << unreachable;
}

TEST_F(WorkloadServerTest, CurlOverTheUnixSocket) {
  if (!std::filesystem::exists("/usr/bin/curl")) GTEST_SKIP() << "no /usr/bin/curl";
  bindings.list = {{"curl-agent", "client-curl",
                    parse_selectors({"uid:" + std::to_string(::getuid())}).value()}};
  start();
  std::string out;
  FILE* p = ::popen(("/usr/bin/curl -s --max-time 5 --unix-socket " + options.socket_path +
                     " -X POST -d '{\"scope\":\"s\"}' http://localhost/v1/token")
                        .c_str(),
                    "r");
  ASSERT_NE(p, nullptr);
  char buf[512];
  while (std::fgets(buf, sizeof buf, p)) out += buf;
  ::pclose(p);
  EXPECT_NE(out.find("\"access_token\":\"at-curl-agent-s\""), std::string::npos) << out;
}

TEST_F(WorkloadServerTest, StopRemovesTheSocket) {
  start();
  server->stop();
  EXPECT_FALSE(std::filesystem::exists(options.socket_path));
  server->stop();  // idempotent
}

}  // namespace
}  // namespace custody::workload
