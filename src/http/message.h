// What a handler sees of an HTTP exchange. The server owns the Request until the handler has
// called its Responder; handlers may finish asynchronously (e.g. after a group commit) by calling
// the Responder later from any thread, exactly once.
#pragma once

#include <atomic>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/clock.h"
#include "common/result.h"

namespace custody::http {

namespace beast_http = boost::beast::http;
using BeastRequest = beast_http::request<beast_http::string_body>;

struct Request {
  const BeastRequest& raw;
  std::string_view method;  // "GET", ...
  std::string_view path;    // without the query
  std::string_view query;   // without '?'
  std::string request_id;
  std::string remote_address;
  std::vector<std::pair<std::string, std::string>> path_params;  // from "{name}" segments
  Micros received_at = 0;

  std::string_view header(std::string_view name) const;
  std::string_view body() const { return raw.body(); }
  // The value of the "{name}" path segment; empty when absent.
  std::string_view param(std::string_view name) const;
};

// A response body produced over time (e.g. server-sent events): the handler responds with a
// Response whose `stream` is set, then writes chunks from any thread and closes it. The server
// sends the head at once (chunked transfer coding) and each chunk as it comes, each write under
// limits.write_timeout_ms; between chunks no timeout runs. When the client goes away (a write
// fails) or the server stops, the stream is cancelled: writes are dropped and the on_cancel
// callback runs once (on the writer's or the server's thread), so the producer can stop.
//
// Back-pressure is a limit, not a wait: when more than `max_queued_bytes` are written and not
// yet sent (a client that reads slower than the producer writes), the stream is cancelled as if
// the client had gone away, so a slow reader cannot make the server buffer without bound.
class BodyStream {
 public:
  explicit BodyStream(std::size_t max_queued_bytes = 16 * 1024 * 1024)
      : max_queued_bytes_(max_queued_bytes) {}
  // Producer side.
  void write(std::string chunk);
  void close();
  bool cancelled() const;
  // Runs at once when already cancelled.
  void on_cancel(std::function<void()> callback);

  // Server side. take() moves out what is queued; when nothing is and the stream is open,
  // `wake` is kept and called (once) when a write or close arrives.
  struct Taken {
    std::vector<std::string> chunks;
    bool closed = false;
  };
  Taken take(std::function<void()> wake);
  void cancel();

 private:
  mutable std::mutex mu_;
  std::size_t max_queued_bytes_;
  std::vector<std::string> queued_;
  std::size_t queued_bytes_ = 0;
  bool closed_ = false;
  bool cancelled_ = false;
  std::function<void()> wake_;
  std::function<void()> on_cancel_;
};

struct Response {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
  std::shared_ptr<BodyStream> stream;  // set: `body` is ignored and the body is streamed
  // With `stream`: also read from the connection while streaming, so that a client that goes
  // away cancels the stream at once (not only at the next write). The connection then closes
  // when the stream ends (a request sent meanwhile would be lost, so none is expected).
  bool watch_peer = false;

  Response& header(std::string name, std::string value) {
    headers.emplace_back(std::move(name), std::move(value));
    return *this;
  }
};

// Sends the response for one request. Copyable handle; the first call wins, later calls are
// ignored. Safe to call from any thread.
class Responder {
 public:
  using SendFn = std::function<void(Response)>;
  explicit Responder(SendFn send) : state_(std::make_shared<State>(std::move(send))) {}
  void operator()(Response response) const;

 private:
  struct State {
    explicit State(SendFn f) : send(std::move(f)) {}
    SendFn send;
    std::atomic<bool> done{false};
  };
  std::shared_ptr<State> state_;
};

using Handler = std::function<void(Request&, Responder)>;

// Parsed query string: name → values in order (repeatable parameters keep every value).
// A malformed percent-escape is kInvalidArgument naming the parameter.
Result<std::vector<std::pair<std::string, std::string>>> parse_query(std::string_view query);
// Percent-decoding ('+' → space); nullopt on a malformed escape.
std::optional<std::string> url_decode(std::string_view text);

}  // namespace custody::http
