// The MCP gateway's client towards upstream MCP servers (Streamable HTTP): asynchronous HTTP/1.1
// over Boost.Beast with keep-alive connection pools, and incremental reading of
// `text/event-stream` responses so that each server-sent event reaches the caller as it arrives.
//
// Contract:
//  - The client owns its io threads (`threads`, default 1). Callbacks run on them, in order:
//    on_head once, then either on_body once (a non-SSE response, the whole body; "" when it has
//    none, as a 202 has) or on_event per SSE event, then on_end exactly once, last, whatever
//    happened (also after cancel()). A call that fails before a head arrived gets only on_end
//    with the error; one that fails later gets on_end with the error next. Interim 1xx responses
//    are skipped. Empty callbacks are allowed.
//  - Connections: one pool per (scheme, host, port); an idle keep-alive connection is reused, at
//    most `max_idle_per_host` stay idle (for up to `idle_keepalive`); a reused connection that
//    turns out closed by the peer before any response byte is retried once on a fresh one (only
//    then: a request is never sent twice after a byte of its response was read). A pooled
//    connection that received bytes while idle (a 408, a TLS close_notify) is closed, not reused.
//    A finished call's connection is back in the pool before its on_end runs.
//  - Timeouts (errors name them): `connect_timeout` bounds resolve + TCP connect + TLS handshake;
//    `response_timeout` bounds writing the request and waiting for the response head, and then
//    each wait for more body bytes (so a silent SSE stream ends after that long without bytes).
//  - Limits: a non-SSE body larger than `max_message_bytes`, or one SSE event (its data lines
//    together) larger than that, ends the call with an error; so does a malformed HTTP response
//    or a malformed event stream.
//  - https: the peer is verified against the system trust store (SSL_CERT_FILE / SSL_CERT_DIR
//    work), host name or IP literal checked, SNI sent. No way to turn it off.
//  - Errors are Code::kUnavailable ("connection refused", "timed out after 5000 ms connecting",
//    "timed out after 30000 ms waiting for the response", "response body exceeds 4194304 bytes",
//    "malformed HTTP response: …", "malformed event stream: …", "TLS certificate verification
//    failed: …"), and "cancelled" after cancel(). A request the client refuses to send (target
//    not starting with '/', a header name or value with CR, LF or NUL) ends with
//    kInvalidArgument. A callback that throws ends its call with kInternal ("upstream call
//    callback failed: …"). Never throws.
//  - Thread safety: send() and cancel() may be called from any thread; the callbacks of one call
//    never run concurrently. The destructor must not race with send(), nor run in a callback
//    (it joins the threads the callbacks run on).
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "common/result.h"
#include "net/http_client.h"
#include "net/url.h"

namespace custody::gateway {

// One server-sent event (WHATWG HTML "server-sent events"): the fields of one event block.
// `data` is the data lines joined with "\n"; blocks without data lines (comments, priming
// events with an empty data line are kept: data "" and has_data true) are delivered only when
// they carry an id or data.
struct SseEvent {
  std::string id;
  bool has_id = false;
  std::string event;  // "" means "message"
  std::string data;
  bool has_data = false;
  std::optional<long> retry_ms;
};

// Incremental parser of an event stream: feed() arbitrary slices of bytes; complete events are
// passed to `on_event`. Handles "\n", "\r\n" and "\r" line ends split across slices, a leading
// UTF-8 BOM, comments (":"), fields without a colon, and the optional single space after it.
// Unknown fields, `id` values containing NUL and `retry` values that are not all digits are
// ignored, as the WHATWG algorithm says. An event still open when the stream ends is not one
// (the caller simply stops feeding).
// feed() returns an error ("malformed event stream: event exceeds N bytes") when one event's
// data plus the line being read grow beyond `max_event_bytes`; after that every feed() returns
// the same error and delivers nothing.
class SseParser {
 public:
  explicit SseParser(std::size_t max_event_bytes) : max_event_bytes_(max_event_bytes) {}
  Status feed(std::string_view bytes, const std::function<void(SseEvent)>& on_event);

 private:
  void line(std::string_view text, const std::function<void(SseEvent)>& on_event);
  Status over_limit() const;
  std::size_t max_event_bytes_;
  std::string pending_;     // an incomplete line
  std::string bom_prefix_;  // the first bytes, until they show whether a BOM starts the stream
  bool bom_checked_ = false;
  bool last_was_cr_ = false;
  bool failed_ = false;
  SseEvent current_;
};

// Writes one event in wire form: "id: …\nevent: …\nretry: …\ndata: …\n" (fields only when
// present; one data line per line of `data`, whose "\r\n", "\r" and "\n" all end lines) and the
// blank line that ends it. CR and LF are dropped from `id` and `event`, which cannot hold them,
// so that no value can inject fields or events. SseParser reads the result back as `event`.
std::string format_sse_event(const SseEvent& event);

// The request line's target is `server.base_path + target`. Host, User-Agent, Content-Length and
// `Connection: keep-alive` are the client's; caller headers that would change the framing or the
// connection (Host, Content-Length, Transfer-Encoding, Connection, Keep-Alive, Upgrade, TE,
// Trailer) are dropped.
struct UpstreamRequest {
  net::Method method = net::Method::kPost;  // kPost, kGet or kDelete
  std::string target;                       // path and query, as the route's URL has them
  net::Headers headers;                     // Authorization, Mcp-Session-Id, Accept, ...
  std::string body;                         // sent with Content-Type from headers when non-empty
};

struct UpstreamHead {
  int status = 0;
  net::Headers headers;       // names as sent
  bool event_stream = false;  // Content-Type text/event-stream (a 2xx that streams)
  std::optional<std::string> header(std::string_view name) const;
};

struct UpstreamCallbacks {
  std::function<void(const UpstreamHead&)> on_head;
  std::function<void(std::string body)> on_body;
  std::function<void(SseEvent event)> on_event;
  std::function<void(Status end)> on_end;
};

struct UpstreamOptions {
  int threads = 1;
  std::chrono::milliseconds connect_timeout{5'000};
  std::chrono::milliseconds response_timeout{60'000};
  std::chrono::milliseconds idle_keepalive{30'000};
  std::size_t max_idle_per_host = 64;
  std::size_t max_message_bytes = 4 * 1024 * 1024;
  std::string user_agent = "custody-gateway";
};

// A call in flight; cancel() closes its connection (the connection is not reused) and ends the
// call with kUnavailable "cancelled" unless it has already ended. Once cancel() has returned, no
// callback but on_end starts. Calling it again, after the end, or after the client is gone does
// nothing.
class UpstreamCall {
 public:
  virtual ~UpstreamCall() = default;
  virtual void cancel() = 0;
};

class UpstreamClient {
 public:
  explicit UpstreamClient(UpstreamOptions options);
  ~UpstreamClient();  // cancels what is in flight (each gets on_end), joins the threads
  UpstreamClient(const UpstreamClient&) = delete;
  UpstreamClient& operator=(const UpstreamClient&) = delete;

  std::shared_ptr<UpstreamCall> send(const net::ServerUrl& server, UpstreamRequest request,
                                     UpstreamCallbacks callbacks);

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace custody::gateway
