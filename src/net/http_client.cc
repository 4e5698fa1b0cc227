#include "net/http_client.h"

#include <boost/asio/error.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <cctype>
#include <exception>

#include "net/tls.h"

namespace custody::net {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;

// Beast's synchronous calls ignore tcp_stream's expiry, so every step is started asynchronously
// and the io_context is run until that step completes: the code reads sequentially while the
// stream's timer still bounds each step.
template <class Start>
beast::error_code run_step(asio::io_context& ioc, Start&& start) {
  beast::error_code result = asio::error::operation_aborted;
  start([&result](beast::error_code ec, auto&&...) { result = ec; });
  ioc.restart();
  ioc.run();
  return result;
}

std::string seconds_text(std::chrono::milliseconds d) {
  auto ms = d.count();
  return ms % 1000 == 0 ? std::to_string(ms / 1000) + "s" : std::to_string(ms) + "ms";
}

std::string lower_first(std::string text) {
  if (!text.empty()) text[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(text[0])));
  return text;
}

Error unavailable(std::string reason) {
  return Error::unavailable(std::move(reason));
}

// Names the limit, so that whoever configured it knows which one to raise.
Error too_large(std::size_t limit) {
  return unavailable("response body larger than " + std::to_string(limit) + " bytes");
}

// A reason for a failed step; `phase` names what was being waited for in timeout messages.
Error step_error(const beast::error_code& ec, std::string_view phase,
                 std::chrono::milliseconds timeout) {
  if (ec == beast::error::timeout) {
    return unavailable("timed out after " + seconds_text(timeout) + " " + std::string(phase));
  }
  if (ec == asio::error::host_not_found || ec == asio::error::host_not_found_try_again) {
    return unavailable("unknown host");
  }
  if (ec == asio::error::eof || ec == http::error::end_of_stream) {
    return unavailable("connection closed before a complete response arrived");
  }
  return unavailable(lower_first(ec.message()));
}

bool header_safe(std::string_view text) {
  return text.find_first_of("\r\n") == std::string_view::npos && text.find('\0') == text.npos;
}

http::verb to_verb(Method method) {
  switch (method) {
    case Method::kGet:
      return http::verb::get;
    case Method::kPost:
      return http::verb::post;
    case Method::kPatch:
      return http::verb::patch;
    case Method::kPut:
      return http::verb::put;
    case Method::kDelete:
      return http::verb::delete_;
  }
  return http::verb::get;
}

// Writes the request and reads the whole response over an established stream.
template <class Stream>
Result<HttpResponse> exchange(asio::io_context& ioc, Stream& stream,
                              http::request<http::string_body>& request,
                              const HttpClientOptions& options) {
  beast::get_lowest_layer(stream).expires_after(options.io_timeout);
  beast::error_code ec =
      run_step(ioc, [&](auto handler) { http::async_write(stream, request, std::move(handler)); });
  if (ec) return step_error(ec, "sending the request", options.io_timeout);

  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.header_limit(64 * 1024);
  parser.body_limit(options.max_body_bytes);
  auto read_failed = [&](const beast::error_code& e) {
    return e == http::error::body_limit
               ? too_large(options.max_body_bytes)
               : step_error(e, "waiting for the response", options.io_timeout);
  };
  // The body limit can fail the header read already, when the body arrived with the header.
  ec = run_step(ioc, [&](auto handler) {
    http::async_read_header(stream, buffer, parser, std::move(handler));
  });
  if (ec) return read_failed(ec);
  // Beast 1.74 may also drop the body_limit error for a too-large Content-Length when parsing
  // eagerly, so that case is checked here; chunked and close-delimited bodies are limited by the
  // parser.
  if (parser.content_length() && *parser.content_length() > options.max_body_bytes) {
    return too_large(options.max_body_bytes);
  }
  ec = run_step(
      ioc, [&](auto handler) { http::async_read(stream, buffer, parser, std::move(handler)); });
  if (ec) return read_failed(ec);

  auto& message = parser.get();
  HttpResponse response;
  response.status = static_cast<int>(message.result_int());
  for (const auto& field : message) {
    response.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
  }
  response.body = std::move(message.body());
  return response;
}

// Name resolution has no stream to time it out, so a timer cancels it instead.
Result<tcp::resolver::results_type> resolve(asio::io_context& ioc, const ServerUrl& server,
                                            Clock::time_point deadline,
                                            std::chrono::milliseconds timeout) {
  tcp::resolver resolver(ioc);
  asio::steady_timer timer(ioc, deadline);
  bool timed_out = false;
  beast::error_code ec = asio::error::operation_aborted;
  tcp::resolver::results_type endpoints;
  timer.async_wait([&](beast::error_code timer_ec) {
    if (!timer_ec) {
      timed_out = true;
      resolver.cancel();
    }
  });
  resolver.async_resolve(server.host, std::to_string(server.port),
                         [&](beast::error_code resolve_ec, tcp::resolver::results_type results) {
                           timer.cancel();
                           ec = resolve_ec;
                           endpoints = std::move(results);
                         });
  ioc.restart();
  ioc.run();
  if (timed_out) {
    return unavailable("timed out after " + seconds_text(timeout) + " resolving " + server.host);
  }
  if (ec) return step_error(ec, "resolving the host", timeout);
  return endpoints;
}

}  // namespace

std::string_view method_name(Method method) {
  switch (method) {
    case Method::kGet:
      return "GET";
    case Method::kPost:
      return "POST";
    case Method::kPatch:
      return "PATCH";
    case Method::kPut:
      return "PUT";
    case Method::kDelete:
      return "DELETE";
  }
  return "GET";
}

std::optional<std::string> HttpResponse::header(std::string_view name) const {
  for (const auto& [key, value] : headers) {
    if (beast::iequals(key, name)) return value;
  }
  return std::nullopt;
}

HttpClient::HttpClient(ServerUrl server, HttpClientOptions options)
    : server_(std::move(server)), options_(std::move(options)) {}

Result<HttpResponse> HttpClient::send(const HttpRequest& request) const try {
  if (request.target.empty() || request.target.front() != '/') {
    return Error::invalid("request target must start with '/'");
  }
  http::request<http::string_body> message{to_verb(request.method),
                                           server_.base_path + request.target, 11};
  message.set(http::field::host, server_.host_header());
  message.set(http::field::user_agent, options_.user_agent);
  message.set(http::field::accept, "application/json, application/problem+json");
  message.set(http::field::connection, "close");
  for (const auto& [name, value] : request.headers) {
    // A CR or LF would let a value (say, a token pasted with a newline) forge extra headers.
    if (name.empty() || !header_safe(name) || !header_safe(value)) {
      return Error::invalid("header " + name + " contains a line break or NUL");
    }
    message.set(name, value);
  }
  if (!request.body.empty()) {
    message.set(http::field::content_type, request.content_type);
    message.body() = request.body;
  }
  message.prepare_payload();

  asio::io_context ioc;
  const auto deadline = Clock::now() + options_.connect_timeout;

  CUSTODY_ASSIGN(auto endpoints, resolve(ioc, server_, deadline, options_.connect_timeout));
  beast::error_code ec;

  auto connect = [&](beast::tcp_stream& tcp_stream) {
    tcp_stream.expires_at(deadline);
    return run_step(ioc,
                    [&](auto handler) { tcp_stream.async_connect(endpoints, std::move(handler)); });
  };

  if (!server_.tls) {
    beast::tcp_stream stream(ioc);
    ec = connect(stream);
    if (ec) return step_error(ec, "connecting", options_.connect_timeout);
    return exchange(ioc, stream, message, options_);
  }

  ssl::context context(ssl::context::tls_client);
  CUSTODY_TRY(make_verifying_context(context));

  ssl::stream<beast::tcp_stream> stream(ioc, context);
  CUSTODY_TRY(prepare_tls_peer(stream.native_handle(), server_));
  ec = connect(beast::get_lowest_layer(stream));
  if (ec) return step_error(ec, "connecting", options_.connect_timeout);
  ec = run_step(ioc, [&](auto handler) {
    stream.async_handshake(ssl::stream_base::client, std::move(handler));
  });
  if (ec) {
    if (auto failure = certificate_failure(stream.native_handle())) {
      return unavailable(std::move(*failure));
    }
    if (ec == beast::error::timeout) {
      return step_error(ec, "in the TLS handshake", options_.connect_timeout);
    }
    // "wrong version number" here usually means the server speaks plain http.
    return unavailable("TLS handshake failed: " + lower_first(ec.message()));
  }
  return exchange(ioc, stream, message, options_);
} catch (const std::exception& e) {
  // Asio and Beast report through error codes above; this only catches allocation failures and
  // the like, so that no exception leaves the client.
  return unavailable(e.what());
}

Result<HttpResponse> post_to(const EndpointUrl& url, std::string body, std::string content_type,
                             Headers headers, std::chrono::milliseconds timeout,
                             std::string user_agent) {
  HttpClientOptions options;
  options.connect_timeout = timeout;
  options.io_timeout = timeout;
  options.max_body_bytes = 64 * 1024;
  options.user_agent = std::move(user_agent);
  HttpRequest request;
  request.method = Method::kPost;
  request.target = url.target;
  request.headers = std::move(headers);
  request.body = std::move(body);
  request.content_type = std::move(content_type);
  return HttpClient(url.server, std::move(options)).send(request);
}

}  // namespace custody::net
