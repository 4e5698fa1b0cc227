#include "custody/workload_client.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <nlohmann/json.hpp>

namespace custody {
namespace {

using Json = nlohmann::json;
using Clock = std::chrono::steady_clock;

constexpr std::size_t kMaxResponseBytes = 1 << 20;

WorkloadError unreachable(const std::string& why) {
  return {0, "agent_unreachable", why};
}
WorkloadError bad_response(const std::string& why) {
  return {0, "bad_response", why};
}

struct HttpReply {
  int status = 0;
  std::string body;
};

class Socket {
 public:
  Socket() : fd_(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) {}
  ~Socket() {
    if (fd_ >= 0) ::close(fd_);
  }
  Socket(const Socket&) = delete;
  Socket& operator=(const Socket&) = delete;
  int fd() const { return fd_; }

 private:
  int fd_;
};

int remaining_ms(Clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
  return left.count() > 0 ? static_cast<int>(left.count()) : 0;
}

bool wait_for(int fd, short events, Clock::time_point deadline) {
  pollfd p{fd, events, 0};
  while (true) {
    int r = ::poll(&p, 1, remaining_ms(deadline));
    if (r < 0 && errno == EINTR) continue;
    return r > 0;
  }
}

// One request on a fresh connection; the agent closes after answering.
std::variant<HttpReply, WorkloadError> exchange(const std::string& path,
                                                std::chrono::milliseconds timeout,
                                                const std::string& method,
                                                const std::string& target,
                                                const std::string& body) {
  const auto deadline = Clock::now() + timeout;
  Socket s;
  if (s.fd() < 0) return unreachable(std::string("socket: ") + std::strerror(errno));
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof addr.sun_path) return unreachable("socket path too long: " + path);
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  if (::connect(s.fd(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    return unreachable("cannot connect to " + path + ": " + std::strerror(errno));
  }
  std::string request = method + " " + target +
                        " HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
                        "Content-Type: application/json\r\nContent-Length: " +
                        std::to_string(body.size()) + "\r\n\r\n" + body;
  std::size_t sent = 0;
  while (sent < request.size()) {
    if (!wait_for(s.fd(), POLLOUT, deadline)) return unreachable("timed out sending");
    ssize_t n = ::send(s.fd(), request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      return unreachable(std::string("send: ") + std::strerror(errno));
    }
    sent += static_cast<std::size_t>(n);
  }
  std::string raw;
  char buf[8192];
  while (true) {
    if (!wait_for(s.fd(), POLLIN, deadline)) return unreachable("timed out waiting for the reply");
    ssize_t n = ::recv(s.fd(), buf, sizeof buf, 0);
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      return unreachable(std::string("recv: ") + std::strerror(errno));
    }
    if (n == 0) break;
    raw.append(buf, static_cast<std::size_t>(n));
    if (raw.size() > kMaxResponseBytes) return bad_response("reply larger than 1 MiB");
  }
  // "HTTP/1.1 200 OK\r\n...\r\n\r\nbody"; Content-Length is implied by the close.
  auto head_end = raw.find("\r\n\r\n");
  if (raw.compare(0, 5, "HTTP/") != 0 || head_end == std::string::npos) {
    return bad_response("not an HTTP reply");
  }
  auto space = raw.find(' ');
  HttpReply reply;
  if (space == std::string::npos || space + 4 > head_end) return bad_response("no status");
  reply.status = std::atoi(raw.substr(space + 1, 3).c_str());
  if (reply.status < 100 || reply.status > 599) return bad_response("bad status");
  reply.body = raw.substr(head_end + 4);
  return reply;
}

// The JSON body of a 200, or the agent's error.
std::variant<Json, WorkloadError> call(const std::string& path, std::chrono::milliseconds timeout,
                                       const std::string& target, const Json& request) {
  auto r = exchange(path, timeout, "POST", target, request.dump());
  if (auto* e = std::get_if<WorkloadError>(&r)) return *e;
  const auto& reply = std::get<HttpReply>(r);
  Json body = Json::parse(reply.body, nullptr, false);
  if (reply.status != 200) {
    WorkloadError e{reply.status, "bad_response", "HTTP " + std::to_string(reply.status)};
    if (body.is_object()) {
      if (body.contains("error") && body["error"].is_string()) e.code = body["error"];
      if (body.contains("error_description") && body["error_description"].is_string()) {
        e.description = body["error_description"];
      }
    }
    return e;
  }
  if (!body.is_object()) return bad_response("the reply is not a JSON object");
  return body;
}

std::string string_member(const Json& j, const char* name) {
  auto it = j.find(name);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

std::chrono::system_clock::time_point time_member(const Json& j, const char* name) {
  auto it = j.find(name);
  std::int64_t s = it != j.end() && it->is_number_integer() ? it->get<std::int64_t>() : 0;
  return std::chrono::system_clock::time_point(std::chrono::seconds(s));
}

}  // namespace

WorkloadClient::WorkloadClient(WorkloadClientOptions options) : timeout_(options.timeout) {
  socket_path_ = std::move(options.socket_path);
  if (socket_path_.empty()) {
    const char* env = std::getenv("CUSTODY_AGENT_SOCKET");
    socket_path_ = env && *env ? env : kDefaultWorkloadSocket;
  }
}

WorkloadResult<AccessToken> WorkloadClient::access_token(const AccessTokenRequest& request) const {
  Json body = Json::object();
  if (!request.scope.empty()) body["scope"] = request.scope;
  if (!request.resource.empty()) body["resource"] = request.resource;
  if (!request.audience.empty()) body["audience"] = request.audience;
  if (!request.identity.empty()) body["identity"] = request.identity;
  auto r = call(socket_path_, timeout_, "/v1/token", body);
  if (auto* e = std::get_if<WorkloadError>(&r)) return *e;
  const Json& j = std::get<Json>(r);
  AccessToken t{string_member(j, "access_token"), string_member(j, "token_type"),
                time_member(j, "expires_at"), string_member(j, "identity"),
                string_member(j, "client_id")};
  if (t.access_token.empty()) return bad_response("no access_token in the reply");
  return t;
}

WorkloadResult<ClientAssertion> WorkloadClient::client_assertion(
    const AssertionRequest& request) const {
  Json body = Json::object();
  if (!request.audience.empty()) body["audience"] = request.audience;
  if (!request.identity.empty()) body["identity"] = request.identity;
  if (!request.dpop_jkt.empty()) body["dpop_jkt"] = request.dpop_jkt;
  auto r = call(socket_path_, timeout_, "/v1/assertion", body);
  if (auto* e = std::get_if<WorkloadError>(&r)) return *e;
  const Json& j = std::get<Json>(r);
  ClientAssertion a{string_member(j, "assertion"), string_member(j, "client_assertion_type"),
                    time_member(j, "expires_at"), string_member(j, "identity"),
                    string_member(j, "client_id")};
  if (a.assertion.empty()) return bad_response("no assertion in the reply");
  return a;
}

bool WorkloadClient::healthy() const {
  auto r = exchange(socket_path_, timeout_, "GET", "/v1/health", "");
  auto* reply = std::get_if<HttpReply>(&r);
  return reply && reply->status == 200;
}

}  // namespace custody
