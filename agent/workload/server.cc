#include "workload/server.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <thread>

#include "workload/credential_cache.h"
#include "workload/worker_pool.h"

namespace custody::workload {
namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using Local = net::local::stream_protocol;
using Json = nlohmann::json;

constexpr std::string_view kAssertionType =
    "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

// A response decided on a worker or on the io thread.
struct Reply {
  int status = 200;
  Json body;
};

Reply error_reply(int status, std::string_view code, std::string_view description) {
  return {status, Json{{"error", code}, {"error_description", description}}};
}

// Never throws: peer-controlled strings (an exe path) may not be valid UTF-8.
std::string dump(const Json& j) {
  return j.dump(-1, ' ', false, Json::error_handler_t::replace);
}

// The reply as HTTP/1.1 bytes; the connection closes after it.
std::string render(const Reply& reply) {
  const std::string body = dump(reply.body);
  std::string out = "HTTP/1.1 " + std::to_string(reply.status) + " ";
  out += http::obsolete_reason(static_cast<http::status>(reply.status));
  out +=
      "\r\nContent-Type: application/json\r\nCache-Control: no-store\r\nConnection: "
      "close\r\nContent-Length: " +
      std::to_string(body.size()) + "\r\n\r\n" + body;
  return out;
}

std::int64_t unix_seconds(std::chrono::system_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
}

// The request's fields, checked: only known members, all strings without NUL.
struct Fields {
  std::optional<std::string> identity;
  std::string audience, scope, resource;
  std::string dpop_jkt;  // assertion: a DPoP key the process holds, for custody to certify
};

Result<Fields> parse_fields(std::string_view body, bool token) {
  Fields f;
  if (body.find_first_not_of(" \t\r\n") == std::string_view::npos) return f;
  Json j = Json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return Error::invalid("the body is not JSON");
  if (!j.is_object()) return Error::invalid("the body is not a JSON object");
  for (const auto& [name, value] : j.items()) {
    std::string* target = nullptr;
    std::string identity;
    if (name == "identity") {
      target = &identity;
    } else if (name == "audience") {
      target = &f.audience;
    } else if (token && name == "scope") {
      target = &f.scope;
    } else if (token && name == "resource") {
      target = &f.resource;
    } else if (!token && name == "dpop_jkt") {
      target = &f.dpop_jkt;
    } else {
      return Error::invalid("unknown field \"" + name + "\"", name);
    }
    if (!value.is_string()) return Error::invalid("\"" + name + "\" must be a string", name);
    *target = value.get<std::string>();
    if (target->find('\0') != std::string::npos) {
      return Error::invalid("\"" + name + "\" contains NUL", name);
    }
    if (name == "identity") f.identity = identity;
  }
  // An RFC 7638 thumbprint: 43 base64url characters.
  if (!f.dpop_jkt.empty() &&
      (f.dpop_jkt.size() != 43 ||
       f.dpop_jkt.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                    "0123456789-_") != std::string::npos))
    return Error::invalid("\"dpop_jkt\" must be an RFC 7638 JWK thumbprint", "dpop_jkt");
  return f;
}

Reply broker_failure(const Error& e) {
  switch (e.code) {
    case Code::kUnavailable:
      return error_reply(503, "temporarily_unavailable", "custodyd unavailable: " + e.message);
    case Code::kPermissionDenied:
    case Code::kUnauthenticated:
      return error_reply(403, "access_denied", "custodyd refused: " + e.message);
    case Code::kInvalidArgument:
      return error_reply(400, "invalid_request", "custodyd refused the request: " + e.message);
    default:
      return error_reply(502, "upstream_error", "custodyd failed: " + e.message);
  }
}

}  // namespace

struct WorkloadServer::Impl {
  Impl(WorkloadServerOptions o, BindingSource& b, CredentialBroker& br, WorkloadAudit& a)
      : options(std::move(o)),
        bindings(b),
        broker(br),
        audit(a),
        clock(options.clock ? *options.clock : system_clock),
        reader(options.proc),
        cache(clock, options.cache_entries) {}

  Status bind();
  void accept();
  void serve_io();
  Reply credential(bool token, const Fields& fields, int fd, PeerInfo peer);
  Reply refuse(const PeerInfo& peer, Reply reply) {
    audit.refused(peer, reply.body.value("error_description", std::string()));
    return reply;
  }

  WorkloadServerOptions options;
  BindingSource& bindings;
  CredentialBroker& broker;
  WorkloadAudit& audit;
  SystemClock system_clock;
  const Clock& clock;
  ProcReader reader;
  CredentialCache cache;
  net::io_context io{1};
  Local::acceptor acceptor{io};
  std::unique_ptr<WorkerPool> pool;
  std::thread thread;
  std::atomic<std::size_t> active{0};
  std::atomic<bool> started{false};
  std::atomic<bool> stopped{false};
  bool own_socket_file = false;
  // run() serves on the caller's thread: stop() waits for it to leave the io loop.
  std::mutex io_mu;
  std::condition_variable io_cv;
  bool io_running = false;
};

namespace {

// One connection: read one request under the read deadline, answer, close.
class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(WorkloadServer::Impl& server, Local::socket socket)
      : server_(server), socket_(std::move(socket)), timer_(server.io) {
    server_.active.fetch_add(1);
  }
  ~Session() { server_.active.fetch_sub(1); }

  void start() {
    auto creds = peer_credentials(socket_.native_handle());
    if (creds.ok()) {
      peer_.pid = creds->pid;
      peer_.uid = creds->uid;
      peer_.gid = creds->gid;
    }
    arm_timer(server_.options.read_timeout, "no whole request within the read timeout");
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(server_.options.max_header_bytes));
    parser_->body_limit(server_.options.max_body_bytes);
    http::async_read(
        socket_, buffer_, *parser_,
        [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_read(ec); });
  }

 private:
  // A timer whose handler is already queued cannot be cancelled: each arming has a generation,
  // and a handler of an older one does nothing.
  void arm_timer(std::chrono::milliseconds after, std::string reason) {
    const std::uint64_t generation = ++timer_generation_;
    timer_.expires_after(after);
    timer_.async_wait([self = shared_from_this(), reason, generation](beast::error_code ec) {
      if (ec || self->done_ || generation != self->timer_generation_) return;
      self->done_ = true;
      self->server_.audit.refused(self->peer_, reason);
      beast::error_code ignored;
      self->socket_.close(ignored);
    });
  }

  void disarm_timer() {
    ++timer_generation_;
    timer_.cancel();
  }

  void on_read(beast::error_code ec) {
    if (done_) return;
    disarm_timer();
    const auto& o = server_.options;
    if (ec == http::error::body_limit) {
      return answer(server_.refuse(
          peer_, error_reply(413, "request_too_large",
                             "the body exceeds " + std::to_string(o.max_body_bytes) + " bytes")));
    }
    if (ec == http::error::header_limit) {
      return answer(server_.refuse(
          peer_, error_reply(431, "request_header_too_large",
                             "the head exceeds " + std::to_string(o.max_header_bytes) + " bytes")));
    }
    if (ec == http::error::end_of_stream || ec == net::error::eof ||
        ec == net::error::connection_reset || ec == net::error::operation_aborted) {
      return close();
    }
    if (ec) {
      return answer(server_.refuse(
          peer_, error_reply(400, "invalid_request", "malformed HTTP request: " + ec.message())));
    }
    dispatch();
  }

  void dispatch() {
    const auto& req = parser_->get();
    std::string_view target = req.target();
    target = target.substr(0, target.find('?'));
    const bool get = req.method() == http::verb::get;
    const bool post = req.method() == http::verb::post;
    if (target == "/v1/health") {
      if (!get) return answer(server_.refuse(peer_, method_not_allowed("GET")));
      return answer({200, Json{{"status", "ok"}}});
    }
    const bool token = target == "/v1/token";
    if (!token && target != "/v1/assertion") {
      return answer(server_.refuse(
          peer_, error_reply(404, "not_found", "no such endpoint: " + std::string(target))));
    }
    if (!post) return answer(server_.refuse(peer_, method_not_allowed("POST")));
    auto fields = parse_fields(req.body(), token);
    if (!fields.ok()) {
      return answer(
          server_.refuse(peer_, error_reply(400, "invalid_request", fields.error().message)));
    }
    // Attestation and the broker run on a worker. The io thread has no operation pending on
    // the socket meanwhile, so the worker may send the reply itself: replies are small and the
    // socket's buffer empty, so a non-blocking send normally takes it whole and the client is
    // answered without another hop through the io thread. Whatever was not sent, and the close,
    // are left to the io thread.
    auto self = shared_from_this();
    bool queued = server_.pool->submit([self, token, f = std::move(fields).value()] {
      Reply reply;
      const int fd = self->socket_.native_handle();
      try {
        reply = self->server_.credential(token, f, fd, self->peer_);
      } catch (...) {
        reply =
            self->server_.refuse(self->peer_, error_reply(500, "server_error", "internal error"));
      }
      std::string wire = render(reply);
      ssize_t n = ::send(fd, wire.data(), wire.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
      const std::size_t sent = n > 0 ? static_cast<std::size_t>(n) : 0;
      if (sent == wire.size()) ::shutdown(fd, SHUT_WR);
      net::post(self->server_.io, [self, w = std::move(wire), sent]() mutable {
        self->send_from(std::move(w), sent);
      });
    });
    if (!queued) {
      answer(server_.refuse(peer_, error_reply(503, "temporarily_unavailable",
                                               "too many requests in progress; retry")));
    }
  }

  static Reply method_not_allowed(std::string_view allowed) {
    return error_reply(405, "method_not_allowed", "use " + std::string(allowed));
  }

  void answer(const Reply& reply) { send_from(render(reply), 0); }

  // Sends wire[offset..] under the write timeout, then closes.
  void send_from(std::string wire, std::size_t offset) {
    if (done_) return;
    if (offset >= wire.size()) return close();
    wire_ = wire.substr(offset);
    arm_timer(server_.options.write_timeout, "the response was not taken within the timeout");
    net::async_write(socket_, net::buffer(wire_),
                     [self = shared_from_this()](beast::error_code, std::size_t) {
                       self->disarm_timer();
                       self->close();
                     });
  }

  void close() {
    done_ = true;
    beast::error_code ignored;
    socket_.shutdown(Local::socket::shutdown_both, ignored);
    socket_.close(ignored);
  }

  WorkloadServer::Impl& server_;
  Local::socket socket_;
  net::steady_timer timer_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::string wire_;  // the reply bytes not yet sent
  PeerInfo peer_;     // the kernel's credentials, read at accept
  bool done_ = false;
  std::uint64_t timer_generation_ = 0;
};

}  // namespace

Reply WorkloadServer::Impl::credential(bool token, const Fields& fields, int fd, PeerInfo peer) {
  if (options.before_attestation) options.before_attestation(peer.pid);
  auto process = attest_peer(fd, reader, peer);
  if (!process.ok()) {
    return refuse(peer, error_reply(403, kNotAttested, process.error().message));
  }
  auto all = bindings.bindings();
  if (!all.ok()) {
    return refuse(
        peer, error_reply(503, "temporarily_unavailable",
                          "the identities of this device are unavailable: " + all.error().message));
  }
  std::optional<std::string_view> requested;
  if (fields.identity) requested = *fields.identity;
  auto binding = select_binding(all.value(), *process, requested);
  if (!binding.ok()) {
    const auto& e = binding.error();
    auto code = e.details.count("error") ? e.details.at("error") : std::string(kNoMatch);
    return refuse(peer, error_reply(403, code, e.message));
  }

  const std::string_view kind = token ? "token" : "assertion";
  const Json params = token ? Json{{"scope", fields.scope},
                                   {"resource", fields.resource},
                                   {"audience", fields.audience}}
                            : Json{{"audience", fields.audience}, {"dpop_jkt", fields.dpop_jkt}};
  const std::string key = cache_key(kind, *binding, *process, dump(params));
  bool from_cache = true;
  std::optional<Credential> credential = cache.get(key);
  if (!credential) {
    from_cache = false;
    auto fresh = token ? broker.access_token(*binding, *process,
                                             TokenParams{.scope = fields.scope,
                                                         .resource = fields.resource,
                                                         .audience = fields.audience})
                       : broker.client_assertion(*binding, *process,
                                                 AssertionParams{.audience = fields.audience,
                                                                 .dpop_jkt = fields.dpop_jkt});
    if (!fresh.ok()) return refuse(peer, broker_failure(fresh.error()));
    credential = std::move(fresh).value();
    cache.put(key, *credential);
  }
  audit.issued(*process, *binding, kind, *credential, from_cache);
  Json body;
  if (token) {
    body = {{"access_token", credential->value}, {"token_type", credential->token_type}};
  } else {
    body = {{"assertion", credential->value}, {"client_assertion_type", kAssertionType}};
  }
  body["expires_at"] = unix_seconds(credential->expires_at);
  body["identity"] = credential->identity;
  body["client_id"] = credential->client_id;
  return {200, std::move(body)};
}

Status WorkloadServer::Impl::bind() {
  namespace fs = std::filesystem;
  const std::string& path = options.socket_path;
  if (path.empty() || path.size() >= sizeof(sockaddr_un{}.sun_path)) {
    return Error::invalid("socket path empty or longer than " +
                          std::to_string(sizeof(sockaddr_un{}.sun_path) - 1) + " bytes");
  }
  std::error_code fec;
  fs::path parent = fs::path(path).parent_path();
  if (!parent.empty() && !fs::exists(parent, fec)) {
    fs::create_directories(parent, fec);
    if (fec) return Error::internal("cannot create " + parent.string() + ": " + fec.message());
  }
  struct stat st {};
  if (::lstat(path.c_str(), &st) == 0) {
    if (!S_ISSOCK(st.st_mode)) {
      return Error::conflict(path + " exists and is not a socket; refusing to replace it");
    }
    // A socket file: stale unless a server still answers on it.
    Local::socket probe(io);
    beast::error_code ec;
    probe.connect(Local::endpoint(path), ec);
    if (!ec) return Error::conflict("another server is listening on " + path);
    if (::unlink(path.c_str()) != 0) {
      return Error::internal("cannot remove the stale socket " + path + ": " +
                             std::strerror(errno));
    }
  }
  beast::error_code ec;
  acceptor.open(Local(), ec);
  if (!ec) acceptor.bind(Local::endpoint(path), ec);
  if (ec) return Error::internal("cannot bind " + path + ": " + ec.message());
  own_socket_file = true;
  if (::chmod(path.c_str(), options.socket_mode) != 0) {
    return Error::internal("cannot chmod " + path + ": " + std::strerror(errno));
  }
  acceptor.listen(net::socket_base::max_listen_connections, ec);
  if (ec) return Error::internal("cannot listen on " + path + ": " + ec.message());
  pool = std::make_unique<WorkerPool>(options.worker_threads, options.max_queued);
  accept();
  return ok_status();
}

void WorkloadServer::Impl::accept() {
  acceptor.async_accept([this](beast::error_code ec, Local::socket socket) {
    if (ec == net::error::operation_aborted || !acceptor.is_open()) return;
    if (!ec) {
      if (active.load() >= options.max_connections) {
        PeerInfo peer;
        auto creds = peer_credentials(socket.native_handle());
        if (creds.ok()) {
          peer.pid = creds->pid;
          peer.uid = creds->uid;
          peer.gid = creds->gid;
        }
        audit.refused(peer, "too many connections (max_connections " +
                                std::to_string(options.max_connections) + ")");
        beast::error_code ignored;
        socket.close(ignored);
      } else {
        std::make_shared<Session>(*this, std::move(socket))->start();
      }
    }
    accept();
  });
}

void WorkloadServer::Impl::serve_io() {
  {
    std::lock_guard lock(io_mu);
    io_running = true;
  }
  // An exception escaping a handler must not end the server: the loop is entered again.
  while (true) {
    try {
      io.run();
      break;
    } catch (...) {
      if (stopped.load()) break;
    }
  }
  std::lock_guard lock(io_mu);
  io_running = false;
  io_cv.notify_all();
}

WorkloadServer::WorkloadServer(WorkloadServerOptions options, BindingSource& bindings,
                               CredentialBroker& broker, WorkloadAudit& audit)
    : impl_(std::make_unique<Impl>(std::move(options), bindings, broker, audit)) {}

WorkloadServer::~WorkloadServer() {
  stop();
}

Status WorkloadServer::start() {
  if (impl_->started.exchange(true)) return Error::conflict("the server was already started");
  CUSTODY_TRY(impl_->bind());
  impl_->thread = std::thread([this] { impl_->serve_io(); });
  return ok_status();
}

Status WorkloadServer::run() {
  if (impl_->started.exchange(true)) return Error::conflict("the server was already started");
  CUSTODY_TRY(impl_->bind());
  impl_->serve_io();
  return ok_status();
}

void WorkloadServer::forget_credentials() {
  impl_->cache.clear();
}

void WorkloadServer::stop() {
  if (!impl_->started.load() || impl_->stopped.exchange(true)) return;
  // The io thread first: afterwards nothing else touches the sessions and the acceptor. Answers
  // that workers still post are dropped with the io_context; running custodyd calls are waited
  // for by the pool.
  impl_->io.stop();
  if (impl_->thread.joinable()) impl_->thread.join();
  {
    std::unique_lock lock(impl_->io_mu);
    impl_->io_cv.wait(lock, [this] { return !impl_->io_running; });
  }
  beast::error_code ignored;
  impl_->acceptor.close(ignored);
  if (impl_->pool) impl_->pool->stop();
  if (impl_->own_socket_file) ::unlink(impl_->options.socket_path.c_str());
}

}  // namespace custody::workload
