#include "net/url.h"

#include <algorithm>
#include <cctype>
#include <charconv>

namespace custody::net {
namespace {

bool iequals_prefix(std::string_view text, std::string_view prefix) {
  if (text.size() < prefix.size()) return false;
  for (size_t i = 0; i < prefix.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(text[i])) != prefix[i]) return false;
  }
  return true;
}

std::uint16_t default_port(bool tls) {
  return tls ? 443 : 80;
}

// RFC 3986 unreserved characters; spelled out because <cctype> depends on the locale.
bool is_unreserved(unsigned char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.' || c == '_' || c == '~';
}

}  // namespace

std::string ServerUrl::host_header() const {
  std::string out = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  if (port != default_port(tls)) out += ":" + std::to_string(port);
  return out;
}

std::string ServerUrl::str() const {
  return std::string(tls ? "https://" : "http://") + host_header() + base_path;
}

bool ServerUrl::is_ip_literal() const {
  if (host.find(':') != std::string::npos) return true;  // only IPv6 literals contain ':'
  return !host.empty() && std::all_of(host.begin(), host.end(),
                                      [](char c) { return (c >= '0' && c <= '9') || c == '.'; });
}

bool ServerUrl::is_loopback() const {
  std::string lower = host;
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return lower == "localhost" || lower == "::1" || (is_ip_literal() && lower.rfind("127.", 0) == 0);
}

Result<ServerUrl> parse_server_url(std::string_view text) {
  ServerUrl url;
  std::string_view rest;
  if (iequals_prefix(text, "https://")) {
    url.tls = true;
    rest = text.substr(8);
  } else if (iequals_prefix(text, "http://")) {
    rest = text.substr(7);
  } else {
    return Error::invalid("server URL \"" + std::string(text) +
                          "\" must start with http:// or https://");
  }
  if (rest.find_first_of("?#") != std::string_view::npos) {
    return Error::invalid("server URL must not contain a query or fragment");
  }
  size_t slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  std::string_view path = slash == std::string_view::npos ? std::string_view() : rest.substr(slash);
  if (authority.find('@') != std::string_view::npos) {
    return Error::invalid("server URL must not contain user info; pass the token with --token");
  }

  std::string_view host = authority, port_text;
  if (!authority.empty() && authority.front() == '[') {
    size_t close = authority.find(']');
    if (close == std::string_view::npos) return Error::invalid("server URL: unclosed '[' in host");
    host = authority.substr(1, close - 1);
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return Error::invalid("server URL: unexpected text after ']'");
      port_text = after.substr(1);
    }
  } else if (size_t colon = authority.find(':'); colon != std::string_view::npos) {
    host = authority.substr(0, colon);
    port_text = authority.substr(colon + 1);
  }
  if (host.empty()) return Error::invalid("server URL \"" + std::string(text) + "\" has no host");
  url.host = std::string(host);

  url.port = default_port(url.tls);
  if (!port_text.empty()) {
    unsigned port = 0;
    auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
    if (ec != std::errc() || end != port_text.data() + port_text.size() || port == 0 ||
        port > 65535) {
      return Error::invalid("server URL: bad port \"" + std::string(port_text) + "\"");
    }
    url.port = static_cast<std::uint16_t>(port);
  }

  while (!path.empty() && path.back() == '/') path.remove_suffix(1);
  url.base_path = std::string(path);
  return url;
}

Result<EndpointUrl> parse_endpoint_url(std::string_view text) {
  if (text.find('#') != std::string_view::npos) return Error::invalid("must have no fragment");
  std::size_t scheme = iequals_prefix(text, "https://")  ? 8
                       : iequals_prefix(text, "http://") ? 7
                                                         : 0;
  if (scheme == 0) return Error::invalid("must be an http:// or https:// URL");
  std::size_t split = text.find_first_of("/?", scheme);
  std::string_view target =
      split == std::string_view::npos ? std::string_view() : text.substr(split);
  for (char c : text)
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f)
      return Error::invalid("must have no spaces or control characters");
  EndpointUrl url;
  CUSTODY_ASSIGN(url.server, parse_server_url(text.substr(0, split)));
  url.target = target.empty()          ? "/"
               : target.front() == '?' ? "/" + std::string(target)
                                       : std::string(target);
  return url;
}

std::string percent_encode(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size());
  for (char ch : text) {
    unsigned char c = static_cast<unsigned char>(ch);
    if (is_unreserved(c)) {
      out += ch;
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 0xF];
    }
  }
  return out;
}

std::string build_query(const Query& query) {
  std::string out;
  for (const auto& [key, value] : query) {
    out += out.empty() ? '?' : '&';
    out += percent_encode(key);
    out += '=';
    out += percent_encode(value);
  }
  return out;
}

std::string api_path(std::initializer_list<std::string_view> segments) {
  std::string out = "/api/v1";
  for (std::string_view segment : segments) {
    out += '/';
    // "." and ".." are unreserved yet would be dot-segments that proxies normalise away.
    if (segment == "." || segment == "..") {
      for (size_t i = 0; i < segment.size(); ++i) out += "%2E";
    } else {
      out += percent_encode(segment);
    }
  }
  return out;
}

}  // namespace custody::net
