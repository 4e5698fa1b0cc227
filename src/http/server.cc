#include "http/server.h"

#include <algorithm>
#include <array>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <charconv>
#include <chrono>
#include <limits>
#include <list>
#include <mutex>
#include <optional>
#include <vector>

#include "common/encoding.h"
#include "common/log.h"
#include "common/random.h"
#include "common/thread_name.h"
#include "http/problem.h"

namespace custody::http {

namespace net = boost::asio;
namespace beast = boost::beast;
using tcp = net::ip::tcp;

namespace {

bool sane_request_id(std::string_view id) {
  if (id.empty() || id.size() > 128) return false;
  for (char c : id) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_' || c == '.' || c == ':';
    if (!ok) return false;
  }
  return true;
}

// 12 bytes from the CSPRNG, as base64url. One RAND_bytes call costs microseconds whatever its
// size (OpenSSL 3 takes the DRBG's lock and checks for a fork each time), which showed as 1.4 % of
// a gateway call's CPU: each io thread draws the bytes of 64 ids at once. The ids stay
// unpredictable; custodyd does not fork, so no two processes share a thread's unused bytes.
std::string new_request_id() {
  constexpr std::size_t kIdBytes = 12;
  thread_local std::array<char, kIdBytes * 64> pool;
  thread_local std::size_t next = pool.size();
  if (next == pool.size()) {
    random_bytes(pool.data(), pool.size());
    next = 0;
  }
  std::string_view id(pool.data() + next, kIdBytes);
  next += kIdBytes;
  return base64url_encode(id);
}

// The last chunk of a chunked body, with no trailer (RFC 9112 §7.1).
constexpr std::string_view kLastChunk = "0\r\n\r\n";

// The wire form of a response head: status line, fields and the empty line.
std::string head_text(const beast::http::response_header<>& head) {
  beast::http::fields::writer writer{head, head.version(), head.result_int()};
  const auto buffers = writer.get();  // views into `head`, and the status line in `writer`
  std::string out;
  out.reserve(beast::buffer_bytes(buffers));
  for (auto b : beast::buffers_range_ref(buffers))
    out.append(static_cast<const char*>(b.data()), b.size());
  return out;
}

// Appends `parts` as one chunk of a chunked body (RFC 9112 §7.1: hex size, CRLF, data, CRLF);
// nothing when they are empty (an empty chunk would end the body).
void append_chunk(const std::vector<std::string>& parts, std::string& out) {
  std::size_t size = 0;
  for (const auto& p : parts) size += p.size();
  if (size == 0) return;
  char hex[2 * sizeof(std::size_t) + 1];
  auto [end, ec] = std::to_chars(hex, hex + sizeof(hex), size, 16);
  (void)ec;  // the buffer holds any size_t in hex
  out.reserve(out.size() + static_cast<std::size_t>(end - hex) + size + 4);
  out.append(hex, end).append("\r\n");
  for (const auto& p : parts) out += p;
  out += "\r\n";
}

// Sessions live on their io_context; this list lets stop() reach the idle ones.
class SessionBase {
 public:
  virtual ~SessionBase() = default;
  virtual void close_if_idle() = 0;
};

}  // namespace

struct Server::Impl {
  ServerOptions options;
  const Router& router;
  Metrics& metrics;
  std::vector<std::unique_ptr<net::io_context>> contexts;
  std::vector<net::executor_work_guard<net::io_context::executor_type>> guards;
  std::vector<std::thread> threads;
  std::unique_ptr<tcp::acceptor> acceptor;
  std::atomic<size_t> next_context{0};
  std::atomic<std::int64_t> active{0};
  std::atomic<bool> draining{false};
  std::atomic<bool> stopped{false};
  std::mutex sessions_mu;
  std::list<std::pair<std::weak_ptr<SessionBase>, net::io_context*>> sessions;

  Impl(ServerOptions o, const Router& r, Metrics& m)
      : options(std::move(o)), router(r), metrics(m) {}

  void do_accept();
  void on_accepted(tcp::socket socket, net::io_context& ctx);
  std::list<std::pair<std::weak_ptr<SessionBase>, net::io_context*>>::iterator register_session(
      std::shared_ptr<SessionBase> s, net::io_context* ctx) {
    std::lock_guard lock(sessions_mu);
    sessions.emplace_front(s, ctx);
    return sessions.begin();
  }
  void unregister_session(
      std::list<std::pair<std::weak_ptr<SessionBase>, net::io_context*>>::iterator it) {
    std::lock_guard lock(sessions_mu);
    sessions.erase(it);
  }
};

namespace {

template <class Stream>
class Session : public SessionBase, public std::enable_shared_from_this<Session<Stream>> {
 public:
  Session(Server::Impl& server, Stream stream, net::io_context& ctx)
      : server_(server), stream_(std::move(stream)), ctx_(ctx) {}

  ~Session() override {
    if (body_stream_) body_stream_->cancel();
    server_.unregister_session(registration_);
    server_.active.fetch_sub(1);
    server_.metrics.connection_closed();
  }

  void start() {
    registration_ = server_.register_session(this->shared_from_this(), &ctx_);
    remote_ = endpoint_text();
    if constexpr (kTls) {
      beast::get_lowest_layer(stream_).expires_after(
          std::chrono::milliseconds(server_.options.limits.read_timeout_ms));
      stream_.async_handshake(net::ssl::stream_base::server,
                              [self = this->shared_from_this()](beast::error_code ec) {
                                if (ec) return self->close();
                                self->wait_for_request();
                              });
    } else {
      wait_for_request();
    }
  }

  void close_if_idle() override {
    net::post(ctx_, [self = this->shared_from_this()] {
      if (self->idle_) self->close();
    });
  }

 private:
  static constexpr bool kTls = !std::is_same_v<Stream, beast::tcp_stream>;

  std::string endpoint_text() {
    beast::error_code ec;
    auto ep = beast::get_lowest_layer(stream_).socket().remote_endpoint(ec);
    if (ec) return "";
    return ep.address().to_string() + ":" + std::to_string(ep.port());
  }

  // Waits for the first byte of the next request under the idle timeout.
  void wait_for_request() {
    if (server_.draining) return close();
    if (buffer_.size() > 0) return read_request();
    idle_ = true;
    beast::get_lowest_layer(stream_).expires_after(
        std::chrono::milliseconds(server_.options.limits.idle_timeout_ms));
    stream_.async_read_some(buffer_.prepare(4096),
                            [self = this->shared_from_this()](beast::error_code ec, size_t n) {
                              self->idle_ = false;
                              if (ec || n == 0) return self->close();
                              self->buffer_.commit(n);
                              self->read_request();
                            });
  }

  void read_request() {
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(server_.options.limits.max_header_bytes));
    // The body limit is applied once the head is in, so that a refusal can still name the
    // request (its id, method and path) and be audited.
    parser_->body_limit(std::numeric_limits<std::uint64_t>::max());
    beast::get_lowest_layer(stream_).expires_after(
        std::chrono::milliseconds(server_.options.limits.read_timeout_ms));
    beast::http::async_read_header(stream_, buffer_, *parser_,
                                   [self = this->shared_from_this()](beast::error_code ec, size_t) {
                                     if (ec) return self->on_read(ec);
                                     self->read_body();
                                   });
  }

  // limits.max_body_bytes, or a larger limit of the route (ServerOptions::larger_bodies).
  std::uint64_t body_limit() const {
    std::int64_t limit = server_.options.limits.max_body_bytes;
    std::string_view path = parser_->get().target();
    path = path.substr(0, path.find('?'));
    for (const auto& larger : server_.options.larger_bodies)
      if (path.size() >= larger.prefix.size() + larger.suffix.size() &&
          path.starts_with(larger.prefix) && path.ends_with(larger.suffix))
        limit = std::max(limit, larger.max_bytes);
    return static_cast<std::uint64_t>(limit);
  }

  void read_body() {
    const auto limit = body_limit();
    auto length = parser_->content_length();
    if (length && *length > limit) return on_read(beast::http::error::body_limit);
    parser_->body_limit(limit);
    // The read deadline set before the head still runs: head and body share one budget.
    beast::http::async_read(
        stream_, buffer_, *parser_,
        [self = this->shared_from_this()](beast::error_code ec, size_t) { self->on_read(ec); });
  }

  void on_read(beast::error_code ec) {
    started_ = std::chrono::steady_clock::now();
    if (ec == beast::http::error::body_limit) {
      return refuse(
          413, "too_large", "Content Too Large",
          "the body exceeds " + std::to_string(body_limit()) + " bytes (limits.max_body_bytes)");
    }
    if (ec == beast::http::error::header_limit) {
      return refuse(431, "header_too_large", "Request Header Fields Too Large",
                    "the request head exceeds " +
                        std::to_string(server_.options.limits.max_header_bytes) +
                        " bytes (limits.max_header_bytes)");
    }
    if (ec == beast::error::timeout || ec == beast::http::error::end_of_stream ||
        ec == net::error::eof || ec == net::error::operation_aborted ||
        ec == net::error::connection_reset) {
      return close();
    }
    if (ec) return refuse(400, "invalid_argument", "Bad Request", "malformed HTTP request");
    dispatch();
  }

  // Answers a request that could not be read whole, then closes the connection.
  void refuse(int status, std::string_view suffix, std::string_view title, std::string detail) {
    static const BeastRequest empty;
    std::string request_id = new_request_id();
    method_ = "-";
    path_ = "-";
    if (parser_ && parser_->is_header_done()) {
      // The head was read whole (e.g. the body is too large): keep what identifies the request.
      const auto& head = parser_->get();
      method_ =
          head.method() == beast::http::verb::unknown ? "OTHER" : std::string(head.method_string());
      std::string_view target = head.target();
      path_ = std::string(target.substr(0, target.find('?')));
      auto rid = head.find("X-Request-Id");
      if (rid != head.end() && sane_request_id(rid->value()))
        request_id = std::string(rid->value());
    }
    Request req{empty, method_, path_, "", request_id, remote_, {}, 0};
    keep_alive_ = false;
    route_ = "(unparsed)";
    Response response = problem(req, status, suffix, title, detail);
    notify_refused(status, std::move(detail), std::move(response), req.request_id);
  }

  // Lets the application audit a refusal before the response goes out.
  void notify_refused(int status, std::string detail, Response response,
                      const std::string& request_id) {
    if (!server_.options.on_refused) return send(std::move(response), request_id);
    RefusedRequest info{request_id, method_, path_, remote_, status, std::move(detail)};
    auto self = this->shared_from_this();
    auto executor = ctx_.get_executor();
    server_.options.on_refused(
        info, [self, executor, response = std::move(response), request_id]() mutable {
          net::post(executor, [self, response = std::move(response), request_id]() mutable {
            self->send(std::move(response), request_id);
          });
        });
  }

  void dispatch() {
    const BeastRequest& raw = parser_->get();
    keep_alive_ = raw.keep_alive();
    std::string_view target = raw.target();
    size_t q = target.find('?');
    std::string_view path = target.substr(0, q);
    std::string_view query =
        q == std::string_view::npos ? std::string_view{} : target.substr(q + 1);
    auto rid_header = raw.find("X-Request-Id");
    std::string request_id = (rid_header != raw.end() && sane_request_id(rid_header->value()))
                                 ? std::string(rid_header->value())
                                 : new_request_id();
    request_.emplace(Request{
        raw, raw.method_string(), path, query, request_id, remote_, {}, SystemClock().now()});
    // Metrics label only the methods HTTP defines, so odd methods cannot mint new series.
    method_ =
        raw.method() == beast::http::verb::unknown ? "OTHER" : std::string(raw.method_string());
    path_ = std::string(path);
    auto match = server_.router.match(request_->method, path, &request_->path_params);
    auto self = this->shared_from_this();
    auto executor = ctx_.get_executor();
    Responder responder([self, executor, request_id](Response r) {
      // An answer from another thread (the store writer after a group commit) waits for this
      // connection's io thread: /metrics shows how long (custody_http_answer_wait_seconds).
      const bool off_thread = !executor.running_in_this_thread();
      net::post(executor, [self, r = std::move(r), request_id, off_thread,
                           made = std::chrono::steady_clock::now()]() mutable {
        if (off_thread) self->server_.metrics.record_answer_wait(made);
        self->send(std::move(r), request_id);
      });
    });
    if (match.handler) {
      route_ = std::string(match.pattern);
      try {
        (*match.handler)(*request_, responder);
      } catch (const std::exception& e) {
        log::error("handler threw", {{"request_id", request_id}, {"error", e.what()}});
        responder(problem(*request_, Error::internal("internal error")));
      }
      return;
    }
    if (!match.pattern.empty()) {
      route_ = std::string(match.pattern);
      std::string detail =
          std::string(request_->method) + " is not allowed here; use " + match.allowed;
      auto r = problem(*request_, 405, "method_not_allowed", "Method Not Allowed", detail);
      r.header("Allow", match.allowed);
      return notify_refused(405, detail, std::move(r), request_id);
    }
    route_ = "(unmatched)";
    std::string detail = "no such route: " + std::string(path);
    notify_refused(404, detail, problem(*request_, Error::not_found(detail)), request_id);
  }

  void send(Response r, const std::string& request_id) {
    if (server_.draining) keep_alive_ = false;
    if (r.stream) return send_stream(std::move(r), request_id);
    response_.emplace();
    response_->result(static_cast<unsigned>(r.status));
    response_->version(11);
    response_->set(beast::http::field::server, "custody");
    response_->set(beast::http::field::content_type, r.content_type);
    response_->set("X-Request-Id", request_id);
    for (auto& [k, v] : r.headers) response_->set(k, v);
    response_->body() = std::move(r.body);
    response_->keep_alive(keep_alive_);
    response_->prepare_payload();
    status_ = r.status;
    request_id_ = request_id;
    beast::get_lowest_layer(stream_).expires_after(
        std::chrono::milliseconds(server_.options.limits.write_timeout_ms));
    beast::http::async_write(stream_, *response_,
                             [self = this->shared_from_this()](beast::error_code ec, size_t n) {
                               self->on_written(ec, n);
                             });
  }

  // A streamed body (Response::stream): the head with chunked transfer coding, then each chunk as
  // the producer writes it, then the last chunk once it closes. What the producer has written by
  // the time the head goes out (often all of it, and the close: a gateway call's answer is held
  // until its audit event is durable) goes out with the head in one write, instead of one write
  // (one send, one packet to the peer) for the head, one for the chunk and one for the end.
  void send_stream(Response r, const std::string& request_id) {
    body_stream_ = std::move(r.stream);
    stream_head_.emplace();
    stream_head_->result(static_cast<unsigned>(r.status));
    stream_head_->version(11);
    stream_head_->set(beast::http::field::server, "custody");
    stream_head_->set(beast::http::field::content_type, r.content_type);
    stream_head_->set("X-Request-Id", request_id);
    for (auto& [k, v] : r.headers) stream_head_->set(k, v);
    stream_head_->keep_alive(keep_alive_);
    stream_head_->chunked(true);
    status_ = r.status;
    request_id_ = request_id;
    streamed_bytes_ = 0;
    // No wake: pump_stream, after this write, takes what arrives meanwhile (a wake here could
    // start a second write while this one runs).
    auto taken = body_stream_->take(nullptr);
    chunk_ = head_text(*stream_head_);
    append_chunk(taken.chunks, chunk_);
    if (taken.closed) chunk_ += kLastChunk;
    beast::get_lowest_layer(stream_).expires_after(
        std::chrono::milliseconds(server_.options.limits.write_timeout_ms));
    net::async_write(
        stream_, net::buffer(chunk_),
        [self = this->shared_from_this(), last = taken.closed](beast::error_code ec, size_t n) {
          self->streamed_bytes_ += n;
          if (ec || last) return self->end_stream(ec);
          self->pump_stream();
        });
    if (r.watch_peer) {
      keep_alive_ = false;
      watch_peer();
    }
  }

  // Reads (and drops) what the client sends while its stream runs; an error or EOF means it went
  // away: cancel the stream and close.
  void watch_peer() {
    stream_.async_read_some(net::buffer(peer_bytes_),
                            [self = this->shared_from_this()](beast::error_code ec, size_t) {
                              if (self->closed_ || !self->body_stream_) return;
                              if (ec) {
                                self->body_stream_->cancel();
                                return self->close();
                              }
                              self->watch_peer();
                            });
  }

  void pump_stream() {
    auto self = this->shared_from_this();
    auto executor = ctx_.get_executor();
    auto taken = body_stream_->take(
        [self, executor] { net::post(executor, [self] { self->pump_stream(); }); });
    if (!taken.chunks.empty()) {
      // The chunk, and the end with it when the stream has closed meanwhile: one write.
      chunk_.clear();
      append_chunk(taken.chunks, chunk_);
      bool last = taken.closed;
      if (last) chunk_ += kLastChunk;
      beast::get_lowest_layer(stream_).expires_after(
          std::chrono::milliseconds(server_.options.limits.write_timeout_ms));
      net::async_write(stream_, net::buffer(chunk_), [self, last](beast::error_code ec, size_t n) {
        self->streamed_bytes_ += n;
        if (ec || last) return self->end_stream(ec);
        self->pump_stream();
      });
      return;
    }
    if (taken.closed) return finish_stream();
    // Waiting for the producer: no deadline while nothing is being written.
    beast::get_lowest_layer(stream_).expires_never();
  }

  void finish_stream() {
    beast::get_lowest_layer(stream_).expires_after(
        std::chrono::milliseconds(server_.options.limits.write_timeout_ms));
    net::async_write(stream_, net::buffer(kLastChunk),
                     [self = this->shared_from_this()](beast::error_code ec, size_t n) {
                       self->streamed_bytes_ += n;
                       self->end_stream(ec);
                     });
  }

  void end_stream(beast::error_code ec) {
    if (ec) body_stream_->cancel();
    body_stream_.reset();
    stream_head_.reset();
    chunk_.clear();
    on_written(ec, streamed_bytes_);
  }

  void on_written(beast::error_code ec, size_t bytes) {
    double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
    server_.metrics.record(route_, method_, status_, seconds);
    if (server_.options.access_log) {
      log::info("request", {{"request_id", request_id_},
                            {"method", method_},
                            {"path", path_},
                            {"route", route_},
                            {"status", status_},
                            {"duration_ms", seconds * 1000.0},
                            {"bytes", bytes},
                            {"remote", remote_}});
    }
    bool keep = keep_alive_ && !ec;
    response_.reset();
    request_.reset();
    parser_.reset();
    if (!keep) return close();
    wait_for_request();
  }

  void close() {
    if (closed_) return;
    closed_ = true;
    beast::error_code ec;
    if constexpr (kTls) {
      // Best effort; a TLS close_notify must not hold a draining server.
      beast::get_lowest_layer(stream_).socket().shutdown(tcp::socket::shutdown_both, ec);
    } else {
      stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    }
    beast::get_lowest_layer(stream_).close();
  }

  Server::Impl& server_;
  Stream stream_;
  net::io_context& ctx_;
  beast::flat_buffer buffer_;
  std::optional<beast::http::request_parser<beast::http::string_body>> parser_;
  std::optional<Request> request_;
  std::optional<beast::http::response<beast::http::string_body>> response_;
  std::shared_ptr<BodyStream> body_stream_;
  std::optional<beast::http::response<beast::http::empty_body>> stream_head_;
  std::string chunk_;
  size_t streamed_bytes_ = 0;
  std::array<char, 512> peer_bytes_{};
  std::list<std::pair<std::weak_ptr<SessionBase>, net::io_context*>>::iterator registration_;
  std::chrono::steady_clock::time_point started_;
  std::string remote_, route_, method_, path_, request_id_;
  int status_ = 0;
  bool keep_alive_ = false;
  bool idle_ = false;
  bool closed_ = false;
};

}  // namespace

void Server::Impl::do_accept() {
  size_t i = next_context.fetch_add(1) % contexts.size();
  net::io_context& ctx = *contexts[i];
  acceptor->async_accept(ctx, [this, &ctx](beast::error_code ec, tcp::socket socket) {
    if (ec == net::error::operation_aborted || !acceptor->is_open()) return;
    if (!ec) on_accepted(std::move(socket), ctx);
    do_accept();
  });
}

void Server::Impl::on_accepted(tcp::socket socket, net::io_context& ctx) {
  if (draining || active.load() >= options.limits.max_connections) {
    metrics.connection_refused();
    beast::error_code ec;
    socket.close(ec);
    return;
  }
  active.fetch_add(1);
  metrics.connection_opened();
  beast::error_code ec;
  socket.set_option(tcp::no_delay(true), ec);
  // The session runs on the socket's io_context; start it there.
  net::post(ctx, [this, &ctx, s = std::make_shared<tcp::socket>(std::move(socket))]() mutable {
    if (options.tls) {
      using TlsStream = beast::ssl_stream<beast::tcp_stream>;
      std::make_shared<Session<TlsStream>>(
          *this, TlsStream(beast::tcp_stream(std::move(*s)), *options.tls), ctx)
          ->start();
    } else {
      std::make_shared<Session<beast::tcp_stream>>(*this, beast::tcp_stream(std::move(*s)), ctx)
          ->start();
    }
  });
}

Server::Server(ServerOptions options, const Router& router, Metrics& metrics)
    : impl_(std::make_unique<Impl>(std::move(options), router, metrics)) {}

Server::~Server() {
  stop();
}

Result<std::uint16_t> Server::start() {
  int n = std::max(1, impl_->options.threads);
  for (int i = 0; i < n; ++i) {
    impl_->contexts.push_back(std::make_unique<net::io_context>(1));
    impl_->guards.push_back(net::make_work_guard(*impl_->contexts.back()));
  }
  beast::error_code ec;
  auto address = net::ip::make_address(impl_->options.host, ec);
  if (ec)
    return Error::invalid("listen: \"" + impl_->options.host + "\" is not an IP address", "listen");
  tcp::endpoint endpoint(address, impl_->options.port);
  auto acceptor = std::make_unique<tcp::acceptor>(*impl_->contexts[0]);
  acceptor->open(endpoint.protocol(), ec);
  if (!ec) acceptor->set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) acceptor->bind(endpoint, ec);
  if (!ec) acceptor->listen(net::socket_base::max_listen_connections, ec);
  if (ec)
    return Error::unavailable("cannot listen on " + impl_->options.host + ":" +
                              std::to_string(impl_->options.port) + ": " + ec.message());
  std::uint16_t port = acceptor->local_endpoint().port();
  if (impl_->options.on_bound) CUSTODY_TRY(impl_->options.on_bound(port));
  impl_->acceptor = std::move(acceptor);
  impl_->do_accept();
  for (auto& ctx : impl_->contexts) {
    impl_->threads.emplace_back([c = ctx.get()] {
      for (;;) {
        try {
          c->run();
          return;
        } catch (const std::exception& e) {
          log::error("io thread caught an exception; continuing", {{"error", e.what()}});
        }
      }
    });
    set_thread_name(impl_->threads.back(), "http-io");
  }
  return port;
}

void Server::stop() {
  if (impl_->stopped.exchange(true)) return;
  if (impl_->threads.empty()) return;
  impl_->draining = true;
  net::post(*impl_->contexts[0], [this] {
    beast::error_code ec;
    if (impl_->acceptor) impl_->acceptor->close(ec);
  });
  // Take the references under the lock but use and drop them outside it: when a session finishes
  // meanwhile, our reference is its last one, and ~Session unregisters under sessions_mu.
  std::vector<std::shared_ptr<SessionBase>> live;
  {
    std::lock_guard lock(impl_->sessions_mu);
    for (auto& [weak, ctx] : impl_->sessions)
      if (auto s = weak.lock()) live.push_back(std::move(s));
  }
  for (auto& s : live) s->close_if_idle();
  live.clear();
  auto deadline =
      std::chrono::steady_clock::now() + std::chrono::milliseconds(impl_->options.drain_ms);
  while (impl_->active.load() > 0 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  impl_->guards.clear();
  for (auto& ctx : impl_->contexts) ctx->stop();
  for (auto& t : impl_->threads) t.join();
  impl_->threads.clear();
  // Sessions still alive hold sockets on stopped contexts; destroying the contexts frees them.
  impl_->acceptor.reset();
  impl_->contexts.clear();
}

Result<std::pair<std::string, std::uint16_t>> parse_listen(const std::string& listen) {
  auto colon = listen.rfind(':');
  if (colon == std::string::npos) return Error::invalid("listen must be HOST:PORT", "listen");
  std::string host = listen.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  if (host == "localhost") host = "127.0.0.1";
  int port = 0;
  try {
    port = std::stoi(listen.substr(colon + 1));
  } catch (...) {
    return Error::invalid("listen must be HOST:PORT", "listen");
  }
  if (port < 0 || port > 65535) return Error::invalid("listen port out of range", "listen");
  return std::make_pair(host, static_cast<std::uint16_t>(port));
}

}  // namespace custody::http
