#include "oauth/redirect_uri.h"

#include <cctype>

#include "common/words.h"
#include "net/url.h"

namespace custody::oauth {
namespace {

constexpr std::size_t kMaxRedirectUri = 2048;

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// Host names of letters, digits, '-' and '.', or an IPv6 literal: nothing that could end a CSP
// source expression or smuggle in another directive.
bool plain_host(const std::string& host) {
  if (host.find(':') != std::string::npos)
    return host.find_first_not_of("0123456789abcdefABCDEF:.") == std::string::npos;
  for (unsigned char c : host)
    if (!std::isalnum(c) && c != '-' && c != '.') return false;
  return !host.empty();
}

}  // namespace

std::string redirect_uri_problem(std::string_view uri) {
  if (uri.empty()) return "it is empty";
  if (uri.size() > kMaxRedirectUri) return "it is longer than 2048 characters";
  if (uri.find('#') != std::string_view::npos) return "it has a fragment";
  auto url = net::parse_endpoint_url(uri);
  if (!url.ok()) return url.error().message;
  if (!plain_host(url->server.host)) return "its host is not a plain host name or IP address";
  if (url->server.tls) return {};
  std::string host = lower(url->server.host);
  if (host == "127.0.0.1" || host == "::1" || host == "localhost") return {};
  return "plain http is allowed only on 127.0.0.1, [::1] or localhost; use https";
}

Result<std::vector<std::string>> registered_redirect_uris(const directory::Identity& client) {
  auto it = client.labels.find(std::string(kRedirectUrisLabel));
  if (it == client.labels.end()) return std::vector<std::string>();
  std::vector<std::string> uris = split_words(it->second);
  for (const auto& uri : uris)
    if (auto why = redirect_uri_problem(uri); !why.empty())
      return Error::invalid(
          "registered redirect URI \"" + uri.substr(0, 200) + "\" is not usable: " + why,
          std::string(kRedirectUrisLabel));
  return uris;
}

bool is_public_client(const directory::Identity& client) {
  auto it = client.labels.find(std::string(kPublicClientLabel));
  return it != client.labels.end() && it->second == "true";
}

std::string with_query(const std::string& uri,
                       const std::vector<std::pair<std::string, std::string>>& params) {
  std::string out = uri;
  for (const auto& [k, v] : params) {
    if (out.find('?') == std::string::npos)
      out += '?';
    else if (out.back() != '?' && out.back() != '&')
      out += '&';
    out += net::percent_encode(k) + "=" + net::percent_encode(v);
  }
  return out;
}

std::string origin_of(std::string_view uri) {
  if (!redirect_uri_problem(uri).empty()) return {};
  auto url = net::parse_endpoint_url(uri);
  if (!url.ok()) return {};
  net::ServerUrl server = url->server;
  server.base_path.clear();
  return server.str();
}

}  // namespace custody::oauth
