// The upstream client: a Call is one request's state machine, bound to one io_context (one
// thread), so its steps and callbacks never run concurrently and need no locks. The client
// round-robins new connections over its io_contexts; a pooled connection brings its call to the
// io_context it was opened on.
#include "gateway/upstream_client.h"

#include <array>
#include <atomic>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cctype>
#include <exception>
#include <limits>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

#include "common/thread_name.h"
#include "gateway/upstream_pool.h"
#include "net/tls.h"

namespace custody::gateway {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;

namespace {

constexpr std::uint32_t kHeaderLimit = 64 * 1024;
constexpr std::size_t kChunkBytes = 16 * 1024;
constexpr int kMaxInterimResponses = 8;

std::string lower_first(std::string text) {
  if (!text.empty()) text[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(text[0])));
  return text;
}

std::string timed_out(std::chrono::milliseconds timeout, std::string_view phase) {
  return "timed out after " + std::to_string(timeout.count()) + " ms " + std::string(phase);
}

// One pass: find_first_of("\r\n") searches the two-byte set once per byte of the text, which
// showed in the profile for the Authorization header's token on every call.
bool header_safe(std::string_view text) {
  for (char c : text)
    if (c == '\r' || c == '\n' || c == '\0') return false;
  return true;
}

// Framing and connection management are the client's: a caller's value could desynchronise the
// connection (and the request smuggled in its body would reach the upstream).
bool reserved_header(std::string_view name) {
  return beast::iequals(name, "host") || beast::iequals(name, "content-length") ||
         beast::iequals(name, "transfer-encoding") || beast::iequals(name, "connection") ||
         beast::iequals(name, "keep-alive") || beast::iequals(name, "upgrade") ||
         beast::iequals(name, "te") || beast::iequals(name, "trailer");
}

http::verb to_verb(net::Method method) {
  switch (method) {
    case net::Method::kGet:
      return http::verb::get;
    case net::Method::kPost:
      return http::verb::post;
    case net::Method::kPatch:
      return http::verb::patch;
    case net::Method::kPut:
      return http::verb::put;
    case net::Method::kDelete:
      return http::verb::delete_;
  }
  return http::verb::get;
}

bool is_event_stream(std::string_view content_type) {
  std::string_view media = content_type.substr(0, content_type.find(';'));
  while (!media.empty() && (media.back() == ' ' || media.back() == '\t')) media.remove_suffix(1);
  while (!media.empty() && (media.front() == ' ' || media.front() == '\t')) media.remove_prefix(1);
  return beast::iequals(media, "text/event-stream");
}

// What a peer that closed an idle keep-alive connection looks like to the next request.
bool stale_connection_error(const beast::error_code& ec) {
  return ec == http::error::end_of_stream || ec == asio::error::eof ||
         ec == asio::error::connection_reset || ec == asio::error::broken_pipe ||
         ec == asio::error::connection_aborted || ec == ssl::error::stream_truncated;
}

bool is_http_parse_error(const beast::error_code& ec) {
  return &ec.category() == &http::make_error_code(http::error::bad_version).category();
}

Error io_error(const beast::error_code& ec, std::string_view phase,
               std::chrono::milliseconds timeout) {
  if (ec == beast::error::timeout) return Error::unavailable(timed_out(timeout, phase));
  if (ec == asio::error::connection_refused) return Error::unavailable("connection refused");
  if (ec == asio::error::host_not_found || ec == asio::error::host_not_found_try_again) {
    return Error::unavailable("unknown host");
  }
  if (ec == http::error::end_of_stream || ec == asio::error::eof ||
      ec == http::error::partial_message || ec == ssl::error::stream_truncated) {
    return Error::unavailable("connection closed before the response was complete");
  }
  if (is_http_parse_error(ec)) {
    return Error::unavailable("malformed HTTP response: " + lower_first(ec.message()));
  }
  return Error::unavailable(lower_first(ec.message()));
}

Error too_large(std::size_t limit) {
  return Error::unavailable("response body exceeds " + std::to_string(limit) + " bytes");
}

Result<http::request<http::string_body>> build_request(const net::ServerUrl& server,
                                                       UpstreamRequest& request,
                                                       const UpstreamOptions& options) {
  if (request.target.empty() || request.target.front() != '/') {
    return Error::invalid("request target must start with '/'");
  }
  if (!header_safe(request.target) || request.target.find(' ') != std::string::npos) {
    return Error::invalid("request target contains a space, line break or NUL");
  }
  http::request<http::string_body> message{to_verb(request.method),
                                           server.base_path + request.target, 11};
  message.set(http::field::host, server.host_header());
  message.set(http::field::user_agent, options.user_agent);
  for (const auto& [name, value] : request.headers) {
    if (name.empty() || !header_safe(name) || !header_safe(value)) {
      return Error::invalid("header " + name + " contains a line break or NUL");
    }
    if (reserved_header(name)) continue;
    message.insert(name, value);
  }
  message.set(http::field::connection, "keep-alive");
  message.body() = std::move(request.body);
  message.prepare_payload();
  return message;
}

std::string pool_key(const net::ServerUrl& server) {
  return std::string(server.tls ? "https://" : "http://") + server.host + ":" +
         std::to_string(server.port);
}

}  // namespace

struct UpstreamClient::Impl {
  explicit Impl(UpstreamOptions opts);
  asio::io_context& next_context();
  std::uint64_t adopt(const std::shared_ptr<UpstreamCall>& call);
  void forget(std::uint64_t id);

  UpstreamOptions options;
  std::optional<ssl::context> tls_context;  // empty when the trust store could not be loaded
  Status tls_status;
  std::vector<std::unique_ptr<asio::io_context>> contexts;
  // Declared after the contexts: pooled connections hold sockets and timers of those contexts.
  UpstreamPool pool;
  std::mutex calls_mu;
  std::map<std::uint64_t, std::weak_ptr<UpstreamCall>> calls;  // in flight, for shutdown
  std::uint64_t next_call_id = 0;
  std::atomic<std::size_t> round_robin{0};
  std::vector<asio::executor_work_guard<asio::io_context::executor_type>> guards;
  std::vector<std::thread> threads;
};

namespace {

class Call final : public UpstreamCall, public std::enable_shared_from_this<Call> {
 public:
  Call(UpstreamClient::Impl& impl, asio::io_context& context, net::ServerUrl server,
       std::string key, UpstreamCallbacks callbacks)
      : impl_(impl),
        options_(impl.options),
        context_(context),
        server_(std::move(server)),
        key_(std::move(key)),
        callbacks_(std::move(callbacks)) {}

  void set_id(std::uint64_t id) { id_ = id; }

  // Runs on the call's io_context from here on.
  void start(std::shared_ptr<UpstreamConnection> pooled, http::request<http::string_body> request) {
    request_ = std::move(request);
    if (cancel_requested_) return finish(Error::unavailable("cancelled"));
    if (pooled) {
      UpstreamPool::claim(*pooled);
      // Bytes nobody asked for (a "408 Request Timeout", a TLS close_notify) mean the server is
      // done with the connection, and would otherwise be read as this request's response.
      beast::error_code ec;
      if (pooled->tcp().socket().available(ec) > 0 || ec) {
        pooled->close();
        pooled.reset();
      }
    }
    if (!pooled) return connect();
    conn_ = std::move(pooled);
    write();
  }

  void finish(Status status) {
    if (ended_) return;
    ended_ = true;
    // Everything bound to the io_context goes now, on its thread: the caller may keep the call
    // (and destroy it elsewhere) after the client is gone.
    resolver_.reset();
    resolve_timer_.reset();
    if (conn_) {
      conn_->close();
      conn_.reset();
    }
    impl_.forget(id_);
    auto on_end = std::move(callbacks_.on_end);
    callbacks_ = {};  // drops what the callbacks captured, the call itself perhaps
    if (!on_end) return;
    try {
      on_end(std::move(status));
    } catch (...) {
      // The call has ended; there is nobody left to tell.
    }
  }

  void cancel() override {
    if (ended_ || cancel_requested_.exchange(true)) return;
    asio::post(context_,
               [self = shared_from_this()] { self->finish(Error::unavailable("cancelled")); });
  }

 private:
  void connect() {
    if (server_.tls && !impl_.tls_context) return finish(impl_.tls_status.error());
    deadline_ = Clock::now() + options_.connect_timeout;
    resolver_.emplace(context_);
    resolve_timer_.emplace(context_, deadline_);
    resolve_timed_out_ = false;
    // Name resolution has no stream whose expiry could bound it, so a timer cancels it.
    resolve_timer_->async_wait([self = shared_from_this()](const beast::error_code& ec) {
      if (ec || self->ended_ || !self->resolver_) return;
      self->resolve_timed_out_ = true;
      self->resolver_->cancel();
    });
    resolver_->async_resolve(
        server_.host, std::to_string(server_.port),
        [self = shared_from_this()](const beast::error_code& ec, tcp::resolver::results_type r) {
          self->on_resolved(ec, std::move(r));
        });
  }

  void on_resolved(const beast::error_code& ec, const tcp::resolver::results_type& endpoints) {
    if (ended_) return;
    resolve_timer_->cancel();
    if (resolve_timed_out_) {
      return finish(Error::unavailable(timed_out(options_.connect_timeout, "connecting")));
    }
    if (ec) return finish(io_error(ec, "connecting", options_.connect_timeout));
    conn_ =
        std::make_shared<UpstreamConnection>(context_, server_.tls ? &*impl_.tls_context : nullptr);
    if (conn_->tls()) {
      if (Status s = net::prepare_tls_peer(conn_->tls()->native_handle(), server_); !s.ok()) {
        return finish(s.error());
      }
    }
    conn_->tcp().expires_at(deadline_);
    conn_->tcp().async_connect(endpoints, [self = shared_from_this(), conn = conn_](
                                              const beast::error_code& ec, const tcp::endpoint&) {
      self->on_connected(ec);
    });
  }

  void on_connected(const beast::error_code& ec) {
    if (ended_) return;
    if (ec) return finish(io_error(ec, "connecting", options_.connect_timeout));
    if (!conn_->tls()) return write();
    // The stream's expiry still bounds the handshake by the connect deadline.
    conn_->tls()->async_handshake(ssl::stream_base::client,
                                  [self = shared_from_this(), conn = conn_](
                                      const beast::error_code& ec) { self->on_handshake(ec); });
  }

  void on_handshake(const beast::error_code& ec) {
    if (ended_) return;
    if (!ec) return write();
    if (auto failure = net::certificate_failure(conn_->tls()->native_handle())) {
      return finish(Error::unavailable(std::move(*failure)));
    }
    if (ec == beast::error::timeout) {
      return finish(Error::unavailable(timed_out(options_.connect_timeout, "connecting")));
    }
    // "wrong version number" here usually means the upstream speaks plain http.
    finish(Error::unavailable("TLS handshake failed: " + lower_first(ec.message())));
  }

  void write() {
    conn_->tcp().expires_after(options_.response_timeout);
    conn_->visit([&](auto& stream) {
      http::async_write(stream, request_,
                        [self = shared_from_this(), conn = conn_](
                            const beast::error_code& ec, std::size_t) { self->on_written(ec); });
    });
  }

  void on_written(const beast::error_code& ec) {
    if (ended_) return;
    if (ec && may_retry(ec)) return retry();
    if (ec) return finish(io_error(ec, "waiting for the response", options_.response_timeout));
    read_head();
  }

  void read_head() {
    parser_.emplace();
    parser_->header_limit(kHeaderLimit);
    // Limits are counted here (Beast 1.74 skips its own check for a Content-Length when parsing
    // eagerly, and a stream has none).
    parser_->body_limit(std::numeric_limits<std::uint64_t>::max());
    conn_->visit([&](auto& stream) {
      http::async_read_header(stream, conn_->buffer, *parser_,
                              [self = shared_from_this(), conn = conn_](
                                  const beast::error_code& ec, std::size_t) { self->on_head(ec); });
    });
  }

  // A pooled connection that the peer closed while idle fails like this before any response
  // byte; only then is the request sent again (it cannot have been processed twice knowingly).
  bool may_retry(const beast::error_code& ec) const {
    return conn_->reused && !retried_ && interim_responses_ == 0 && conn_->buffer.size() == 0 &&
           (!parser_ || !parser_->got_some()) && stale_connection_error(ec);
  }

  void retry() {
    retried_ = true;
    conn_->close();
    conn_.reset();
    parser_.reset();
    connect();
  }

  void on_head(const beast::error_code& ec) {
    if (ended_) return;
    if (ec && may_retry(ec)) return retry();
    if (ec) return finish(io_error(ec, "waiting for the response", options_.response_timeout));
    const auto& message = parser_->get();
    UpstreamHead head;
    head.status = static_cast<int>(message.result_int());
    if (head.status / 100 == 1) {
      // Interim responses (100 Continue, 103 Early Hints) precede the one that answers; the
      // response timeout keeps bounding the wait for it. 101 would hand the connection over.
      if (head.status == 101 || ++interim_responses_ > kMaxInterimResponses) {
        return finish(Error::unavailable("malformed HTTP response: unexpected status " +
                                         std::to_string(head.status)));
      }
      return read_head();
    }
    for (const auto& field : message) {
      head.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
    }
    head.event_stream =
        head.status / 100 == 2 && is_event_stream(message[http::field::content_type]);
    event_stream_ = head.event_stream;
    if (!event_stream_ && parser_->content_length() &&
        *parser_->content_length() > options_.max_message_bytes) {
      return finish(too_large(options_.max_message_bytes));
    }
    if (event_stream_) sse_.emplace(options_.max_message_bytes);
    if (!deliver([&] {
          if (callbacks_.on_head) callbacks_.on_head(head);
        })) {
      return;
    }
    if (parser_->is_done()) return complete();
    read_body();
  }

  void read_body() {
    conn_->tcp().expires_after(options_.response_timeout);
    auto& body = parser_->get().body();
    body.data = chunk_.data();
    body.size = chunk_.size();
    body.more = true;
    conn_->visit([&](auto& stream) {
      http::async_read_some(
          stream, conn_->buffer, *parser_,
          [self = shared_from_this(), conn = conn_](const beast::error_code& ec, std::size_t) {
            self->on_body_bytes(ec);
          });
    });
  }

  void on_body_bytes(beast::error_code ec) {
    if (ended_) return;
    if (ec == http::error::need_buffer) ec = {};  // the chunk buffer is full: not an error
    std::size_t n = chunk_.size() - parser_->get().body().size;
    if (n > 0) {
      consume(std::string_view(chunk_.data(), n));
      if (ended_) return;
    }
    if (ec) return finish(io_error(ec, "waiting for the response", options_.response_timeout));
    if (parser_->is_done()) return complete();
    read_body();
  }

  void consume(std::string_view bytes) {
    if (!event_stream_) {
      if (body_.size() + bytes.size() > options_.max_message_bytes) {
        return finish(too_large(options_.max_message_bytes));
      }
      body_.append(bytes);
      return;
    }
    Status status = sse_->feed(bytes, [this](SseEvent event) {
      deliver([&] {
        if (callbacks_.on_event) callbacks_.on_event(std::move(event));
      });
    });
    if (!ended_ && !status.ok()) finish(status.error());
  }

  void complete() {
    if (!event_stream_ && !deliver([&] {
          if (callbacks_.on_body) callbacks_.on_body(std::move(body_));
        })) {
      return;
    }
    if (ended_ || cancel_requested_) return;
    if (parser_->keep_alive() && conn_->buffer.size() == 0) {
      conn_->tcp().expires_never();
      conn_->reused = true;
      impl_.pool.put(key_, std::move(conn_));  // before on_end: the caller's next call finds it
    }
    finish(ok_status());
  }

  // Runs a caller's callback unless the call has ended or is being cancelled; an exception
  // ends the call. Returns whether the call goes on.
  template <class F>
  bool deliver(F&& f) {
    if (ended_ || cancel_requested_) return false;
    try {
      f();
    } catch (const std::exception& e) {
      finish(Error::internal(std::string("upstream call callback failed: ") + e.what()));
    } catch (...) {
      finish(Error::internal("upstream call callback failed"));
    }
    return !ended_ && !cancel_requested_;
  }

  UpstreamClient::Impl& impl_;
  const UpstreamOptions& options_;
  asio::io_context& context_;
  net::ServerUrl server_;
  std::string key_;
  UpstreamCallbacks callbacks_;
  std::uint64_t id_ = 0;
  http::request<http::string_body> request_;

  std::atomic<bool> ended_{false};  // written on the io thread only; read by cancel()
  std::atomic<bool> cancel_requested_{false};
  bool retried_ = false;
  int interim_responses_ = 0;
  Clock::time_point deadline_;
  std::optional<tcp::resolver> resolver_;
  std::optional<asio::steady_timer> resolve_timer_;
  bool resolve_timed_out_ = false;

  // Each operation on the connection holds it too (the `conn` captures): Beast's operations use
  // the stream and buffer until they complete, even after finish() or retry() let go of it.
  std::shared_ptr<UpstreamConnection> conn_;
  std::optional<http::response_parser<http::buffer_body>> parser_;
  // Not zeroed (16 KiB per call): the parser fills it, and only what it filled is read.
  std::array<char, kChunkBytes> chunk_;
  bool event_stream_ = false;
  std::string body_;
  std::optional<SseParser> sse_;
};

}  // namespace

UpstreamClient::Impl::Impl(UpstreamOptions opts)
    : options(std::move(opts)), pool(options.idle_keepalive, options.max_idle_per_host) {
  try {
    tls_context.emplace(ssl::context::tls_client);
    tls_status = net::make_verifying_context(*tls_context);
  } catch (const std::exception& e) {
    tls_status = Error::unavailable(std::string("cannot set up TLS: ") + e.what());
  }
  if (!tls_status.ok()) tls_context.reset();
  const int n = options.threads > 0 ? options.threads : 1;
  for (int i = 0; i < n; ++i) {
    contexts.push_back(std::make_unique<asio::io_context>(1));
    guards.push_back(asio::make_work_guard(*contexts.back()));
  }
  for (auto& context : contexts) {
    threads.emplace_back([&context = *context] {
      // Handlers catch what they call; this keeps the thread serving should one still throw.
      for (;;) {
        try {
          context.run();
          return;
        } catch (...) {
        }
      }
    });
    set_thread_name(threads.back(), "gw-upstream");
  }
}

asio::io_context& UpstreamClient::Impl::next_context() {
  return *contexts[round_robin.fetch_add(1, std::memory_order_relaxed) % contexts.size()];
}

std::uint64_t UpstreamClient::Impl::adopt(const std::shared_ptr<UpstreamCall>& call) {
  std::lock_guard lock(calls_mu);
  std::uint64_t id = ++next_call_id;
  calls.emplace(id, call);
  return id;
}

void UpstreamClient::Impl::forget(std::uint64_t id) {
  std::lock_guard lock(calls_mu);
  calls.erase(id);
}

std::optional<std::string> UpstreamHead::header(std::string_view name) const {
  for (const auto& [key, value] : headers) {
    if (beast::iequals(key, name)) return value;
  }
  return std::nullopt;
}

UpstreamClient::UpstreamClient(UpstreamOptions options)
    : impl_(std::make_unique<Impl>(std::move(options))) {}

UpstreamClient::~UpstreamClient() {
  std::vector<std::shared_ptr<UpstreamCall>> live;
  {
    std::lock_guard lock(impl_->calls_mu);
    for (auto& [id, weak] : impl_->calls) {
      if (auto call = weak.lock()) live.push_back(std::move(call));
    }
  }
  for (auto& call : live) call->cancel();
  live.clear();
  impl_->pool.close_all();
  for (auto& guard : impl_->guards) guard.reset();
  for (auto& thread : impl_->threads) thread.join();
}

std::shared_ptr<UpstreamCall> UpstreamClient::send(const net::ServerUrl& server,
                                                   UpstreamRequest request,
                                                   UpstreamCallbacks callbacks) {
  Result<http::request<http::string_body>> message = build_request(server, request, impl_->options);
  std::string key = pool_key(server);
  std::shared_ptr<UpstreamConnection> pooled;
  if (message.ok()) pooled = impl_->pool.take(key);
  asio::io_context& context = pooled ? pooled->context() : impl_->next_context();
  auto call = std::make_shared<Call>(*impl_, context, server, std::move(key), std::move(callbacks));
  call->set_id(impl_->adopt(call));
  if (!message.ok()) {
    asio::post(context, [call, error = std::move(message).error()] { call->finish(error); });
    return call;
  }
  asio::post(context, [call, pooled = std::move(pooled), m = std::move(message).value()]() mutable {
    call->start(std::move(pooled), std::move(m));
  });
  return call;
}

}  // namespace custody::gateway
