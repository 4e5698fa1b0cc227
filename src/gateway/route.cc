#include "gateway/route.h"

#include <algorithm>
#include <vector>

#include "directory/identity_rows.h"

namespace custody::gateway {

bool valid_route_name(std::string_view name) {
  if (name.empty() || name.size() > 63) return false;
  for (std::size_t i = 0; i < name.size(); ++i) {
    char c = name[i];
    bool alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
    if (!alnum && (i == 0 || (c != '.' && c != '_' && c != '-'))) return false;
  }
  return true;
}

std::string route_url(std::string_view issuer, std::string_view name) {
  return std::string(issuer) + "/mcp/" + std::string(name);
}

std::string metadata_url(std::string_view issuer, std::string_view name) {
  // The issuer may have a path (behind a proxy): the well-known segment goes after the origin.
  std::string_view rest = issuer;
  std::size_t scheme = rest.find("://");
  std::size_t path =
      scheme == std::string_view::npos ? std::string_view::npos : rest.find('/', scheme + 3);
  std::string origin(path == std::string_view::npos ? rest : rest.substr(0, path));
  std::string issuer_path(path == std::string_view::npos ? "" : rest.substr(path));
  return origin + "/.well-known/oauth-protected-resource" + issuer_path + "/mcp/" +
         std::string(name);
}

Result<std::optional<std::string>> gateway_identity(store::Tx& tx, const std::string& configured) {
  if (!configured.empty()) {
    // Configured or labelled, the gateway must be an active service now: a suspended gateway
    // identity stops the gateway at once (its cached upstream tokens included).
    CUSTODY_ASSIGN(auto rows,
                   tx.query("SELECT kind, state FROM identities WHERE id = $1", {configured}));
    if (rows.empty() || rows[0].text(0) != "service" || rows[0].text(1) != "active")
      return std::optional<std::string>();
    return std::optional<std::string>(configured);
  }
  CUSTODY_ASSIGN(auto rows, tx.query("SELECT l.identity_id FROM identity_labels l "
                                     "JOIN identities i ON i.id = l.identity_id "
                                     "WHERE l.key = $1 AND l.value = 'mcp-gateway' AND "
                                     "i.kind = 'service' AND i.state = 'active' "
                                     "ORDER BY l.identity_id LIMIT 2",
                                     {std::string(kRoleLabel)}));
  if (rows.empty()) return std::optional<std::string>();
  if (rows.size() > 1)
    return Error::unprocessable("two active services are labelled " + std::string(kRoleLabel) +
                                "=mcp-gateway (" + rows[0].text(0) + ", " + rows[1].text(0) +
                                "); set gateway.identity");
  return std::optional<std::string>(rows[0].text(0));
}

namespace {

// kIdentityColumns with a table alias (the statements below join).
std::string identity_columns(std::string_view alias) {
  std::string out;
  std::string_view rest = directory::rows::kIdentityColumns;
  while (!rest.empty()) {
    std::size_t comma = rest.find(',');
    std::string_view column = rest.substr(0, comma);
    while (!column.empty() && column.front() == ' ') column.remove_prefix(1);
    if (!out.empty()) out += ", ";
    out.append(alias).append(".").append(column);
    if (comma == std::string_view::npos) break;
    rest.remove_prefix(comma + 1);
  }
  return out;
}

// The active mcp_server identities with the route label with their identity columns, in one
// statement; `extra` adds columns after them. Unordered and unlimited: ORDER BY identity_id made
// SQLite sort the one row of every gateway call in a temporary B-tree (the label index does not
// hold the id), while more than one row is an administrator's error whose message
// route_from_rows makes deterministic itself.
std::string route_sql(std::string_view extra) {
  return "SELECT " + identity_columns("i") + std::string(extra) +
         " FROM identity_labels l JOIN identities i ON i.id = l.identity_id "
         "WHERE l.key = $1 AND l.value = $2 AND i.kind = 'mcp_server' AND i.state = 'active'";
}

constexpr std::size_t kGatewayColumn = 10;  // after the identity's ten columns

Result<std::optional<Route>> route_from_rows(const store::Rows& rows, std::string_view issuer,
                                             std::string_view name) {
  if (rows.empty()) return std::optional<Route>();
  if (rows.size() > 1) {
    // The two least ids, whatever order the rows came in.
    std::vector<std::string> ids;
    for (const auto& row : rows) ids.push_back(row.text(0));
    std::partial_sort(ids.begin(), ids.begin() + 2, ids.end());
    return Error::unprocessable("two active MCP servers claim the route \"" + std::string(name) +
                                "\" (" + ids[0] + ", " + ids[1] + ")");
  }
  CUSTODY_ASSIGN(auto identity, directory::rows::identity_from_row(rows[0]));
  Route route;
  route.name = std::string(name);
  route.server = std::move(identity);
  auto url = route.server.labels.find(std::string(kUrlLabel));
  if (url == route.server.labels.end())
    return Error::unprocessable("MCP server " + route.server.id + " has no " +
                                std::string(kUrlLabel) + " label");
  route.upstream_url = url->second;
  auto parsed = net::parse_endpoint_url(url->second);
  if (!parsed.ok())
    return Error::unprocessable("MCP server " + route.server.id + " has a malformed " +
                                std::string(kUrlLabel) + ": " + parsed.error().message);
  route.upstream = std::move(parsed).value();
  route.public_url = route_url(issuer, name);
  auto scope = route.server.labels.find(std::string(kScopeLabel));
  route.scope = scope == route.server.labels.end() || scope->second.empty()
                    ? std::string(kDefaultScope)
                    : scope->second;
  return std::optional<Route>(std::move(route));
}

}  // namespace

Result<std::optional<Route>> find_route(store::Tx& tx, std::string_view issuer,
                                        std::string_view name) {
  if (!valid_route_name(name)) return std::optional<Route>();
  static const std::string sql = route_sql("");
  CUSTODY_ASSIGN(auto rows, tx.query(sql, {std::string(kRouteLabel), std::string(name)}));
  return route_from_rows(rows, issuer, name);
}

Result<RouteLookup> find_gateway_route(store::Tx& tx, std::string_view issuer,
                                       std::string_view name, const std::string& configured) {
  RouteLookup out;
  if (!valid_route_name(name)) return out;
  // The gateway's identity rides along as two uncorrelated scalar subqueries (evaluated once):
  // the configured identity when it is an active service, or the least and the greatest active
  // service labelled custody.dev/role=mcp-gateway (they differ when two are).
  static const std::string configured_sql = route_sql(
      ", (SELECT g.id FROM identities g WHERE g.id = $3 AND g.kind = 'service' AND "
      "g.state = 'active'), NULL");
  static const std::string labelled_sql = [] {
    std::string labelled =
        " FROM identity_labels gl JOIN identities g ON g.id = gl.identity_id WHERE gl.key = $3 "
        "AND gl.value = 'mcp-gateway' AND g.kind = 'service' AND g.state = 'active')";
    return route_sql(", (SELECT MIN(gl.identity_id)" + labelled + ", (SELECT MAX(gl.identity_id)" +
                     labelled);
  }();
  bool by_label = configured.empty();
  CUSTODY_ASSIGN(auto rows, tx.query(by_label ? labelled_sql : configured_sql,
                                     {std::string(kRouteLabel), std::string(name),
                                      by_label ? std::string(kRoleLabel) : configured}));
  CUSTODY_ASSIGN(out.route, route_from_rows(rows, issuer, name));
  if (!out.route) return out;
  const store::Row& row = rows[0];
  if (row.is_null(kGatewayColumn)) return out;
  if (by_label && row.text(kGatewayColumn) != row.text(kGatewayColumn + 1)) {
    out.gateway_error = Error::unprocessable(
        "two active services are labelled " + std::string(kRoleLabel) + "=mcp-gateway (" +
        row.text(kGatewayColumn) + ", " + row.text(kGatewayColumn + 1) + "); set gateway.identity");
    return out;
  }
  out.gateway_id = row.text(kGatewayColumn);
  return out;
}

}  // namespace custody::gateway
