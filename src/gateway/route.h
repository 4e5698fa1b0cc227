// Routes of the MCP gateway (docs/mcp-gateway.md, "Routes"): an active mcp_server identity with
// the labels custody.dev/mcp-route (the name) and custody.dev/mcp-url (the upstream) is served at
// <issuer>/mcp/<name>. Looked up in the store on every request, so that suspending or retiring the
// server takes effect at once.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "common/result.h"
#include "directory/model.h"
#include "net/url.h"
#include "store/store.h"

namespace custody::gateway {

inline constexpr std::string_view kRouteLabel = "custody.dev/mcp-route";
inline constexpr std::string_view kUrlLabel = "custody.dev/mcp-url";
inline constexpr std::string_view kScopeLabel = "custody.dev/mcp-scope";
inline constexpr std::string_view kDefaultScope = "mcp";
// The gateway's own identity, when gateway.identity does not name one: the active service
// identity with this label set to "mcp-gateway".
inline constexpr std::string_view kRoleLabel = "custody.dev/role";

struct Route {
  std::string name;
  directory::Identity server;  // the mcp_server identity
  std::string upstream_url;    // as labelled
  net::EndpointUrl upstream;   // parsed
  std::string public_url;      // <issuer>/mcp/<name>: the resource callers' tokens are for
  std::string scope;           // the scope a caller's token must carry
};

// The gateway's identity: `configured` (gateway.identity) when set and an active service, else
// the one active service labelled custody.dev/role=mcp-gateway; nullopt when there is none (also
// when the configured one is suspended, retired or no service). Two labelled ones are
// kUnprocessable (an admin's error, named).
Result<std::optional<std::string>> gateway_identity(store::Tx& tx, const std::string& configured);

// [a-z0-9][a-z0-9._-]{0,62}
bool valid_route_name(std::string_view name);

// The route's public URL and the URL of its protected resource metadata (RFC 9728 §3.1: the
// well-known path inserted between the issuer's origin and the route's path).
std::string route_url(std::string_view issuer, std::string_view name);
std::string metadata_url(std::string_view issuer, std::string_view name);

// The active route of this name; nullopt when no active mcp_server has it. A server with the
// route label but a malformed URL label is kUnprocessable naming the server (an admin's error).
Result<std::optional<Route>> find_route(store::Tx& tx, std::string_view issuer,
                                        std::string_view name);

// The gateway's per-request lookup: find_route and gateway_identity in one statement. An error of
// the route (as find_route's) is the result's; the gateway's identity is looked up only when the
// route exists, and an error of it (two labelled) is `gateway_error`.
struct RouteLookup {
  std::optional<Route> route;
  std::optional<std::string> gateway_id;  // nullopt: no active gateway identity (or an error)
  std::optional<Error> gateway_error;
};
Result<RouteLookup> find_gateway_route(store::Tx& tx, std::string_view issuer,
                                       std::string_view name, const std::string& configured);

}  // namespace custody::gateway
