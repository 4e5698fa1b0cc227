#include "ssf/push_client.h"

#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <boost/asio/error.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <cctype>
#include <charconv>
#include <exception>

namespace custody::ssf {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;

constexpr std::size_t kMaxBody = 64 * 1024;

// Beast's synchronous calls ignore tcp_stream's expiry, so each step runs asynchronously and the
// io_context is run until it completes (as in src/cli/http_client.cc).
template <class Start>
beast::error_code run_step(asio::io_context& ioc, Start&& start) {
  beast::error_code result = asio::error::operation_aborted;
  start([&result](beast::error_code ec, auto&&...) { result = ec; });
  ioc.restart();
  ioc.run();
  return result;
}

Error step_error(const beast::error_code& ec, std::string_view phase,
                 std::chrono::milliseconds timeout) {
  if (ec == beast::error::timeout)
    return Error::unavailable("timed out after " + std::to_string(timeout.count()) + "ms " +
                              std::string(phase));
  if (ec == asio::error::host_not_found || ec == asio::error::host_not_found_try_again)
    return Error::unavailable("unknown host");
  if (ec == asio::error::eof || ec == http::error::end_of_stream)
    return Error::unavailable("connection closed before a complete response arrived");
  return Error::unavailable(ec.message());
}

template <class Stream>
Result<PushResponse> exchange(asio::io_context& ioc, Stream& stream,
                              http::request<http::string_body>& request,
                              std::chrono::milliseconds timeout) {
  beast::get_lowest_layer(stream).expires_after(timeout);
  beast::error_code ec =
      run_step(ioc, [&](auto handler) { http::async_write(stream, request, std::move(handler)); });
  if (ec) return step_error(ec, "sending the SET", timeout);
  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.header_limit(16 * 1024);
  parser.body_limit(kMaxBody);
  ec = run_step(
      ioc, [&](auto handler) { http::async_read(stream, buffer, parser, std::move(handler)); });
  if (ec) return step_error(ec, "waiting for the response", timeout);
  PushResponse out;
  out.status = static_cast<int>(parser.get().result_int());
  out.body = std::move(parser.get().body());
  return out;
}

bool is_ip_literal(const std::string& host) {
  beast::error_code ec;
  asio::ip::make_address(host, ec);
  return !ec;
}

}  // namespace

Result<HttpUrl> parse_http_url(std::string_view text) {
  HttpUrl url;
  std::string_view rest;
  if (text.substr(0, 7) == "http://") {
    rest = text.substr(7);
  } else if (text.substr(0, 8) == "https://") {
    url.tls = true;
    rest = text.substr(8);
  } else {
    return Error::invalid("must be an http:// or https:// URL");
  }
  if (text.find('#') != std::string_view::npos) return Error::invalid("must have no fragment");
  auto slash = rest.find_first_of("/?");
  std::string_view authority = rest.substr(0, slash);
  url.target = slash == std::string_view::npos ? "/" : std::string(rest.substr(slash));
  if (url.target.front() == '?') url.target = "/" + url.target;
  if (authority.find('@') != std::string_view::npos)
    return Error::invalid("must have no user info");
  std::string_view port_text;
  if (!authority.empty() && authority.front() == '[') {
    auto close = authority.find(']');
    if (close == std::string_view::npos) return Error::invalid("has a malformed IPv6 address");
    url.host = std::string(authority.substr(1, close - 1));
    if (close + 1 < authority.size()) {
      if (authority[close + 1] != ':') return Error::invalid("has a malformed host");
      port_text = authority.substr(close + 2);
    }
  } else {
    auto colon = authority.find(':');
    url.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) port_text = authority.substr(colon + 1);
  }
  if (url.host.empty()) return Error::invalid("has no host");
  for (char c : url.host)
    if (std::isspace(static_cast<unsigned char>(c)) || c == '/' || c == '\\')
      return Error::invalid("has a malformed host");
  url.port = url.tls ? 443 : 80;
  if (!port_text.empty()) {
    unsigned value = 0;
    auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), value);
    if (ec != std::errc() || end != port_text.data() + port_text.size() || value == 0 ||
        value > 65535)
      return Error::invalid("has a malformed port");
    url.port = static_cast<std::uint16_t>(value);
  }
  for (char c : url.target)
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f)
      return Error::invalid("has spaces or control characters in its path");
  return url;
}

Result<PushResponse> post_set(const HttpUrl& url, const std::string& set,
                              const std::string& authorization,
                              std::chrono::milliseconds timeout) try {
  http::request<http::string_body> message{http::verb::post, url.target, 11};
  std::string host = url.host.find(':') != std::string::npos ? "[" + url.host + "]" : url.host;
  if (url.port != (url.tls ? 443 : 80)) host += ":" + std::to_string(url.port);
  message.set(http::field::host, host);
  message.set(http::field::user_agent, "custody-ssf");
  message.set(http::field::accept, "application/json");
  message.set(http::field::connection, "close");
  message.set(http::field::content_type, "application/secevent+jwt");
  if (!authorization.empty()) message.set(http::field::authorization, authorization);
  message.body() = set;
  message.prepare_payload();

  asio::io_context ioc;
  tcp::resolver resolver(ioc);
  asio::steady_timer timer(ioc, timeout);
  bool timed_out = false;
  beast::error_code ec = asio::error::operation_aborted;
  tcp::resolver::results_type endpoints;
  timer.async_wait([&](beast::error_code timer_ec) {
    if (!timer_ec) {
      timed_out = true;
      resolver.cancel();
    }
  });
  resolver.async_resolve(url.host, std::to_string(url.port),
                         [&](beast::error_code resolve_ec, tcp::resolver::results_type results) {
                           timer.cancel();
                           ec = resolve_ec;
                           endpoints = std::move(results);
                         });
  ioc.restart();
  ioc.run();
  if (timed_out) return Error::unavailable("timed out resolving " + url.host);
  if (ec) return step_error(ec, "resolving the host", timeout);

  auto connect = [&](beast::tcp_stream& tcp_stream) {
    tcp_stream.expires_after(timeout);
    return run_step(ioc,
                    [&](auto handler) { tcp_stream.async_connect(endpoints, std::move(handler)); });
  };
  if (!url.tls) {
    beast::tcp_stream stream(ioc);
    ec = connect(stream);
    if (ec) return step_error(ec, "connecting", timeout);
    return exchange(ioc, stream, message, timeout);
  }
  ssl::context context(ssl::context::tls_client);
  context.set_default_verify_paths(ec);
  if (ec) return Error::unavailable("cannot load the system's trusted certificates");
  SSL_CTX_set_min_proto_version(context.native_handle(), TLS1_2_VERSION);
  ssl::stream<beast::tcp_stream> stream(ioc, context);
  SSL* handle = stream.native_handle();
  if (is_ip_literal(url.host)) {
    if (X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(handle), url.host.c_str()) != 1)
      return Error::unavailable("cannot verify IP address " + url.host);
  } else if (SSL_set1_host(handle, url.host.c_str()) != 1 ||
             SSL_set_tlsext_host_name(handle, url.host.c_str()) != 1) {
    return Error::unavailable("cannot set up TLS for host " + url.host);
  }
  stream.set_verify_mode(ssl::verify_peer);
  ec = connect(beast::get_lowest_layer(stream));
  if (ec) return step_error(ec, "connecting", timeout);
  ec = run_step(ioc, [&](auto handler) {
    stream.async_handshake(ssl::stream_base::client, std::move(handler));
  });
  if (ec) {
    long verify = SSL_get_verify_result(handle);
    if (verify != X509_V_OK)
      return Error::unavailable(std::string("TLS certificate verification failed: ") +
                                X509_verify_cert_error_string(verify));
    return step_error(ec, "in the TLS handshake", timeout);
  }
  return exchange(ioc, stream, message, timeout);
} catch (const std::exception& e) {
  return Error::unavailable(e.what());
}

}  // namespace custody::ssf
