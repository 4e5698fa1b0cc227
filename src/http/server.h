// The HTTP/1.1 server: Boost.Beast on Asio with one io_context (and thread) per core, keep-alive,
// optional TLS, and explicit limits. A connection first waits for data (idle timeout), then must
// deliver a whole request within the read timeout (so a slow-loris client is cut off), and must
// take the response within the write timeout. Requests beyond the header or body limits get
// 431/413 and the connection is closed. Connections beyond max_connections are closed at accept.
//
// stop() is graceful: it stops accepting, closes idle connections, lets in-flight requests finish
// (up to drain_ms), then stops the threads. Handlers run on the io threads and must not block for
// long; work that waits (group commit) answers later through the Responder.
#pragma once

#include <atomic>
#include <boost/asio/ssl/context.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "common/config.h"
#include "common/result.h"
#include "http/metrics.h"
#include "http/router.h"

namespace custody::http {

struct RefusedRequest {
  std::string request_id;
  std::string method;
  std::string path;
  std::string remote_address;
  int status = 0;
  std::string detail;
};

struct ServerOptions {
  std::string host = "127.0.0.1";
  std::uint16_t port = 8080;  // 0: any free port
  int threads = 1;
  Limits limits;
  // Routes whose bodies may be larger than limits.max_body_bytes: a path that starts with
  // `prefix` and ends with `suffix` may carry up to `max_bytes` (e.g. device discovery reports,
  // device.max_report_bytes).
  struct LargerBody {
    std::string prefix;
    std::string suffix;
    std::int64_t max_bytes = 0;
  };
  std::vector<LargerBody> larger_bodies;
  std::shared_ptr<boost::asio::ssl::context> tls;  // null: plain HTTP
  bool access_log = true;
  std::int64_t drain_ms = 10'000;
  // Called for requests refused before routing (413, 431, unparsable: 400) and for unknown
  // routes and methods (404, 405), so they can be audited; the response is sent when `then` runs.
  std::function<void(const RefusedRequest&, std::function<void()> then)> on_refused;
  // Called once by start() with the bound port, before any request is served (e.g. to derive a
  // default issuer URL when port 0 picked a free port). An error stops start().
  std::function<Status(std::uint16_t port)> on_bound;
};

class Server {
 public:
  Server(ServerOptions options, const Router& router, Metrics& metrics);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds and starts the io threads. Returns the bound port.
  Result<std::uint16_t> start();
  // Graceful stop (see above). Blocks until the threads have exited. Idempotent.
  void stop();

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

// Parses "HOST:PORT" (IPv6 hosts in brackets) into host and port.
Result<std::pair<std::string, std::uint16_t>> parse_listen(const std::string& listen);

}  // namespace custody::http
