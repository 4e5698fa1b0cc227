// Witness POST. See witness.h.
#include "audit/witness.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace custody::audit {

namespace beast = boost::beast;
namespace http = boost::beast::http;
using tcp = boost::asio::ip::tcp;

Status post_json(std::string_view url, const std::string& body, std::chrono::milliseconds timeout) {
  constexpr std::string_view kScheme = "http://";
  if (!url.starts_with(kScheme))
    return Error::invalid("witness URL must start with http://", "audit.witness_url");
  std::string_view rest = url.substr(kScheme.size());
  const auto slash = rest.find('/');
  const std::string authority(rest.substr(0, slash));
  const std::string target(slash == std::string_view::npos ? "/" : rest.substr(slash));
  std::string host = authority, port = "80";
  if (const auto colon = authority.rfind(':');
      colon != std::string::npos && authority.find(']') == std::string::npos) {
    host = authority.substr(0, colon);
    port = authority.substr(colon + 1);
  }
  try {
    boost::asio::io_context ioc;
    tcp::resolver resolver(ioc);
    beast::tcp_stream stream(ioc);
    stream.expires_after(timeout);
    stream.connect(resolver.resolve(host, port));
    http::request<http::string_body> req{http::verb::post, target, 11};
    req.set(http::field::host, authority);
    req.set(http::field::content_type, "application/json");
    req.set(http::field::user_agent, "custody-audit-witness");
    req.body() = body;
    req.prepare_payload();
    http::write(stream, req);
    beast::flat_buffer buffer;
    http::response<http::string_body> res;
    http::read(stream, buffer, res);
    beast::error_code ec;
    stream.socket().shutdown(tcp::socket::shutdown_both, ec);
    if (res.result_int() / 100 != 2)
      return Error::unavailable("witness answered " + std::to_string(res.result_int()));
  } catch (const std::exception& e) {
    return Error::unavailable(std::string("witness unreachable: ") + e.what());
  }
  return ok_status();
}

}  // namespace custody::audit
