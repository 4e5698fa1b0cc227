// A small synchronous HTTP/1.1 client for talking to custodyd over http:// or https://, shared by
// the CLI, custody-agent, tests and tools.
//
// Contract:
//  - One request per connection (`Connection: close`); each send() resolves, connects, optionally
//    does the TLS handshake, writes, reads the whole response and closes.
//  - https verifies the peer against the system's default trust store (OpenSSL's default paths,
//    so SSL_CERT_FILE / SSL_CERT_DIR work for private CAs), checks the certificate matches the
//    host name or IP literal, and sends SNI for host names. There is no way to turn this off.
//  - Timeouts: `connect_timeout` bounds name resolution plus TCP connect plus TLS handshake;
//    `io_timeout` bounds writing the request plus reading the response.
//  - Any HTTP status is a successful send(); an Error (Code::kUnavailable) means no complete
//    response arrived, with a short lower-case reason ("connection refused", "timed out after
//    30s connecting", "certificate verify failed") suitable for "cannot reach <url>: <reason>".
//  - Never throws.
#pragma once

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/result.h"
#include "net/url.h"

namespace custody::net {

enum class Method { kGet, kPost, kPatch, kPut, kDelete };
std::string_view method_name(Method method);

using Headers = std::vector<std::pair<std::string, std::string>>;

struct HttpRequest {
  Method method = Method::kGet;
  // Path and query relative to the server URL's base path; starts with '/'.
  std::string target;
  // Extra headers (Authorization, If-Match, ...). Host, User-Agent, Connection and
  // Content-Length are set by the client.
  Headers headers;
  // Sent with `content_type` when non-empty.
  std::string body;
  std::string content_type = "application/json";
};

struct HttpResponse {
  int status = 0;
  Headers headers;  // in arrival order, names as sent by the server
  std::string body;

  // The first header with this name, compared case-insensitively.
  std::optional<std::string> header(std::string_view name) const;
};

struct HttpClientOptions {
  std::chrono::milliseconds connect_timeout{30'000};
  std::chrono::milliseconds io_timeout{30'000};
  std::size_t max_body_bytes = 64 * 1024 * 1024;  // larger responses are an error
  std::string user_agent = "custody-cli";
};

class HttpClient {
 public:
  explicit HttpClient(ServerUrl server, HttpClientOptions options = {});

  Result<HttpResponse> send(const HttpRequest& request) const;

  const ServerUrl& server() const { return server_; }

 private:
  ServerUrl server_;
  HttpClientOptions options_;
};

// One POST from custodyd to a URL it was given (an SSF push receiver, an approver webhook, a CIBA
// client notification endpoint): `timeout` bounds connecting and again the exchange, and a
// response body over 64 KiB is an error. Same contract as HttpClient::send.
Result<HttpResponse> post_to(const EndpointUrl& url, std::string body, std::string content_type,
                             Headers headers, std::chrono::milliseconds timeout,
                             std::string user_agent);

}  // namespace custody::net
