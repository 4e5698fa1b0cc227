// Keep-alive connections of the gateway's upstream client (see upstream_client.h): one
// connection (plain TCP or TLS) bound to the io_context it was opened on, and the idle pools,
// one per (scheme, host, port).
//
// Contract:
//  - A connection is used by one call at a time, on its io_context's thread only; the pool hands
//    it over whole (take() from any thread, put() on the connection's thread).
//  - An idle connection stays pooled for at most `idle_keepalive` (a timer on its io_context
//    closes it then); at most `max_idle_per_host` stay per key, the oldest are closed first.
//  - take() returns the most recently used connection of the key (others age out) or null.
//  - close_all() closes every idle connection and makes later put() close instead of pooling,
//    so that the io_contexts run out of work when the client shuts down.
//  - Connections are closed and destroyed on their own io_context: the pool posts that work.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

namespace custody::gateway {

class UpstreamConnection {
 public:
  using TlsStream = boost::asio::ssl::stream<boost::beast::tcp_stream>;

  // A TLS connection when `tls_context` is set; it must outlive the connection.
  UpstreamConnection(boost::asio::io_context& context, boost::asio::ssl::context* tls_context);

  boost::asio::io_context& context() { return context_; }
  boost::beast::tcp_stream& tcp();
  TlsStream* tls() { return tls_ ? &*tls_ : nullptr; }
  // Calls f with the stream that carries HTTP: the TLS stream or the TCP one.
  template <class F>
  decltype(auto) visit(F&& f) {
    return tls_ ? f(*tls_) : f(*plain_);
  }
  // Closes the socket, which also ends every pending operation with operation_aborted.
  void close();

  // Bytes read past the end of the last response; non-empty means the connection is not reusable.
  boost::beast::flat_buffer buffer;
  // True once the connection has carried a response: then a failure before any response byte
  // may mean the peer closed it while it was idle.
  bool reused = false;

 private:
  friend class UpstreamPool;
  boost::asio::io_context& context_;
  std::optional<boost::beast::tcp_stream> plain_;
  std::optional<TlsStream> tls_;
  boost::asio::steady_timer idle_timer_;
};

class UpstreamPool {
 public:
  UpstreamPool(std::chrono::milliseconds idle_keepalive, std::size_t max_idle_per_host)
      : idle_keepalive_(idle_keepalive), max_idle_(max_idle_per_host) {}

  std::shared_ptr<UpstreamConnection> take(const std::string& key);
  // Stops the idle timer of a connection that take() returned; on its io_context's thread.
  static void claim(UpstreamConnection& connection);
  void put(const std::string& key, std::shared_ptr<UpstreamConnection> connection);
  void close_all();

 private:
  using Clock = std::chrono::steady_clock;
  struct Idle {
    std::shared_ptr<UpstreamConnection> connection;
    std::uint64_t generation;
    Clock::time_point since;
  };
  static void close_on_its_thread(std::shared_ptr<UpstreamConnection> connection);
  void expire(const std::string& key, std::uint64_t generation);

  std::chrono::milliseconds idle_keepalive_;
  std::size_t max_idle_;
  std::mutex mu_;
  std::map<std::string, std::deque<Idle>> idle_;  // oldest first
  std::uint64_t next_generation_ = 0;
  bool closed_ = false;
};

}  // namespace custody::gateway
