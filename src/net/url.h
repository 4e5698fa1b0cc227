// Server URLs and request targets for the custody CLI: parsing the `--server` value, and building
// request paths and query strings with RFC 3986 percent-encoding. Pure functions, no I/O.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/result.h"

namespace custody::net {

// A parsed `http://` or `https://` server URL. custodyd may sit behind a reverse proxy under a
// path, so a base path is kept and prefixed to every request target.
struct ServerUrl {
  bool tls = false;        // https
  std::string host;        // host name or IP literal, without IPv6 brackets
  std::uint16_t port = 0;  // explicit port, or 80/443 by scheme
  std::string base_path;   // "" or "/prefix" without a trailing slash

  // "http://host:port/prefix" in canonical form (lower-case scheme, brackets for IPv6, the port
  // only when it is not the scheme's default); used in messages.
  std::string str() const;
  // The Host header value: host (bracketed for IPv6) plus ":port" when not the default.
  std::string host_header() const;
  // True for "localhost", 127.0.0.0/8 and ::1, where plain http does not cross a network.
  bool is_loopback() const;
  bool is_ip_literal() const;
};

// Parses "http[s]://host[:port][/path]". Refused: other schemes, user info (tokens belong in
// --token, not in URLs that end up in shell history and logs), query strings and fragments.
Result<ServerUrl> parse_server_url(std::string_view text);

// A URL that custody sends requests to (an SSF push receiver, an approver webhook, a CIBA client
// notification endpoint): where to connect, and the request target exactly as given.
struct EndpointUrl {
  ServerUrl server;    // base_path is always empty
  std::string target;  // path and query, "/" when empty
};

// Parses "http[s]://host[:port][/path][?query]". Refused: other schemes, user info, fragments,
// spaces and control characters.
Result<EndpointUrl> parse_endpoint_url(std::string_view text);

// Percent-encodes everything except RFC 3986 unreserved characters (ALPHA DIGIT - . _ ~), so the
// result is safe both as a path segment and as a query key or value.
std::string percent_encode(std::string_view text);

using Query = std::vector<std::pair<std::string, std::string>>;

// "?k=v&k2=v2" with keys and values percent-encoded, in the given order (repeated keys allowed);
// "" for an empty query.
std::string build_query(const Query& query);

// Joins a path template's segments: api_path({"identities", id, "suspend"}) →
// "/api/v1/identities/<escaped id>/suspend". Each segment is percent-encoded so that an id typed
// by the user ("../tokens") can never address another route.
std::string api_path(std::initializer_list<std::string_view> segments);

}  // namespace custody::net
