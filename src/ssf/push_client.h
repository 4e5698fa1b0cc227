// The HTTP side of push delivery (RFC 8935): one POST of one SET to a receiver's endpoint over
// http:// or https://. A copy of the CLI's client reduced to that one request: custody_server
// cannot link the CLI library (which depends on it), and push needs only this.
//
// Contract:
//  - One request per connection (Connection: close); resolve, connect, TLS handshake (https:
//    peer verified against the system trust store, host name or IP checked, SNI sent), write,
//    read the whole response (at most 64 KiB of body), close.
//  - `timeout` bounds resolving + connecting + the handshake, and then again writing + reading.
//  - Any HTTP status is a successful post; kUnavailable means no complete response arrived, with
//    a short reason ("connection refused", "timed out after 5s connecting").
//  - Never throws; safe to call from any thread (each call has its own io_context).
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/result.h"

namespace custody::ssf {

struct HttpUrl {
  bool tls = false;
  std::string host;  // without IPv6 brackets
  std::uint16_t port = 0;
  std::string target;  // path and query, "/" when empty
};

// Parses "http[s]://host[:port][/path][?query]". Refused: other schemes, user info, fragments.
Result<HttpUrl> parse_http_url(std::string_view text);

struct PushResponse {
  int status = 0;
  std::string body;
};

// POSTs `set` with Content-Type application/secevent+jwt and Accept application/json, and the
// Authorization header when `authorization` is not empty.
Result<PushResponse> post_set(const HttpUrl& url, const std::string& set,
                              const std::string& authorization, std::chrono::milliseconds timeout);

}  // namespace custody::ssf
