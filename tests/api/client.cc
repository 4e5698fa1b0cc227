// The tests' HTTP client (Beast, asynchronous operations run to completion so that every step
// has a timeout) and the raw-socket helper for bytes no well-behaved client would send.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cerrno>

#include "harness.h"

namespace custody::apitest {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;

namespace {

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && strncasecmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace

std::string Response::header(std::string_view name) const {
  for (const auto& [k, v] : headers)
    if (iequals(k, name)) return v;
  return {};
}

bool Response::has_header(std::string_view name) const {
  for (const auto& [k, v] : headers)
    if (iequals(k, name)) return true;
  return false;
}

nlohmann::json Response::json() const {
  return nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
}

std::string Response::problem_type() const {
  auto j = json();
  if (!j.is_object() || !j.contains("type") || !j["type"].is_string()) return {};
  std::string type = j["type"];
  if (type.rfind(kProblemPrefix, 0) != 0) return type;
  return type.substr(kProblemPrefix.size());
}

std::string Response::describe() const {
  std::string out = "HTTP " + std::to_string(status);
  for (const auto& [k, v] : headers) out += "\n  " + k + ": " + v;
  out += "\n  body: " + body.substr(0, 2000);
  return out;
}

struct Client::Conn {
  net::io_context ioc;
  beast::tcp_stream stream{ioc};
  beast::flat_buffer buffer;
  int requests = 0;

  // Runs the queued asynchronous operation to completion.
  void run() {
    ioc.restart();
    ioc.run();
  }
};

Client::Client(std::uint16_t port, std::string token, bool keep_alive)
    : port_(port), token_(std::move(token)), keep_alive_(keep_alive) {}

Client::~Client() = default;

void Client::disconnect() {
  conn_.reset();
}

Response Client::request(std::string_view method, std::string_view target,
                         const std::optional<nlohmann::json>& body, const Headers& headers) {
  Headers all = headers;
  std::string text;
  if (body) {
    text = body->dump();
    bool has_type = false;
    for (const auto& [k, v] : headers) has_type = has_type || iequals(k, "Content-Type");
    if (!has_type) all.emplace_back("Content-Type", "application/json");
  }
  return request_raw(method, target, std::move(text), all);
}

Response Client::request_raw(std::string_view method, std::string_view target, std::string body,
                             const Headers& headers) {
  bool retryable = false;
  Response r = send_once(method, target, body, headers, &retryable);
  // A kept-alive connection the server has closed meanwhile: the request never got there.
  if (r.status == 0 && retryable) r = send_once(method, target, body, headers, &retryable);
  return r;
}

Response Client::send_once(std::string_view method, std::string_view target,
                           const std::string& body, const Headers& headers, bool* retryable) {
  *retryable = false;
  Response out;
  beast::error_code ec;
  if (!conn_) {
    conn_ = std::make_unique<Conn>();
    ++connects_;
    tcp::endpoint endpoint(net::ip::make_address("127.0.0.1"), port_);
    conn_->stream.expires_after(timeout_);
    conn_->stream.async_connect(endpoint, [&](beast::error_code e) { ec = e; });
    conn_->run();
    if (ec) {
      conn_.reset();
      out.body = "connect: " + ec.message();
      return out;
    }
    conn_->stream.socket().set_option(tcp::no_delay(true), ec);
  }
  bool reused = conn_->requests > 0;
  ++conn_->requests;

  http::request<http::string_body> req;
  req.method_string(method);
  req.target(target);
  req.version(11);
  req.set(http::field::host, "127.0.0.1:" + std::to_string(port_));
  if (!token_.empty()) req.set(http::field::authorization, "Bearer " + token_);
  for (const auto& [k, v] : headers) req.insert(k, v);
  req.keep_alive(keep_alive_);
  if (!body.empty() || method == "POST" || method == "PATCH" || method == "PUT") {
    req.body() = body;
    req.prepare_payload();
  }

  conn_->stream.expires_after(timeout_);
  http::async_write(conn_->stream, req, [&](beast::error_code e, std::size_t) { ec = e; });
  conn_->run();
  if (ec) {
    *retryable = reused;
    conn_.reset();
    out.body = "write: " + ec.message();
    return out;
  }

  http::response_parser<http::string_body> parser;
  parser.body_limit(std::uint64_t{256} << 20);
  parser.header_limit(1 << 20);
  std::size_t read = 0;
  conn_->stream.expires_after(timeout_);
  http::async_read(conn_->stream, conn_->buffer, parser, [&](beast::error_code e, std::size_t n) {
    ec = e;
    read = n;
  });
  conn_->run();
  if (ec) {
    *retryable = reused && read == 0 &&
                 (ec == http::error::end_of_stream || ec == net::error::connection_reset ||
                  ec == net::error::eof);
    conn_.reset();
    out.body = "read: " + ec.message();
    return out;
  }
  auto& res = parser.get();
  out.status = static_cast<int>(res.result_int());
  for (const auto& field : res) out.headers.emplace_back(field.name_string(), field.value());
  out.body = std::move(res.body());
  if (!keep_alive_ || !res.keep_alive()) conn_.reset();
  return out;
}

RawConnection::RawConnection(std::uint16_t port) {
  fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd_ < 0) return;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd_);
    fd_ = -1;
    return;
  }
  int one = 1;
  ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

RawConnection::~RawConnection() {
  close();
}

void RawConnection::close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

bool RawConnection::send(std::string_view bytes) {
  while (!bytes.empty()) {
    if (fd_ < 0) return false;
    ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      peer_closed_ = true;
      return false;
    }
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

bool RawConnection::read_step(Millis timeout) {
  if (fd_ < 0 || peer_closed_) return false;
  pollfd p{fd_, POLLIN, 0};
  int ready = ::poll(&p, 1, static_cast<int>(std::max<Millis::rep>(0, timeout.count())));
  if (ready <= 0) return false;
  char buf[16384];
  ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
  if (n < 0 && errno == EINTR) return true;
  if (n <= 0) {
    peer_closed_ = true;  // EOF, or a reset
    return true;
  }
  received_.append(buf, static_cast<std::size_t>(n));
  return true;
}

std::string RawConnection::read_for(Millis timeout) {
  std::size_t before = received_.size();
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!peer_closed_ && fd_ >= 0) {
    auto left = std::chrono::duration_cast<Millis>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) break;
    read_step(left);
  }
  return received_.substr(before);
}

std::string RawConnection::read_response(Millis timeout) {
  std::size_t start = received_.size();
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!peer_closed_ && fd_ >= 0) {
    std::string_view got = std::string_view(received_).substr(start);
    auto head_end = got.find("\r\n\r\n");
    if (head_end != std::string_view::npos) {
      std::size_t length = 0;
      std::string head(got.substr(0, head_end));
      for (auto& c : head) c = static_cast<char>(std::tolower(c));
      auto cl = head.find("\r\ncontent-length:");
      if (cl != std::string::npos) length = std::stoul(head.substr(cl + 17));
      if (got.size() >= head_end + 4 + length) {
        std::string out(got.substr(0, head_end + 4 + length));
        received_.erase(start, out.size());
        return out;
      }
    }
    auto left = std::chrono::duration_cast<Millis>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) break;
    read_step(left);
  }
  std::string out = received_.substr(start);
  received_.erase(start);
  return out;
}

bool RawConnection::wait_closed(Millis timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!peer_closed_ && fd_ >= 0) {
    auto left = std::chrono::duration_cast<Millis>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) break;
    read_step(left);
  }
  return peer_closed_;
}

}  // namespace custody::apitest
