// The MCP gateway's HTTP surface (docs/mcp-gateway.md):
//   POST|GET|DELETE /mcp/{route}                          the gateway itself (gateway/gateway.h)
//   GET  /.well-known/oauth-protected-resource/mcp/{route} RFC 9728 metadata of a route
// and its tool inventory (admin, auditor, or the owner of the MCP server):
//   GET  /api/v1/gateway/servers/{id}/tools
//   POST /api/v1/gateway/servers/{id}/tools/{name}/approve  (admin, or the server's owner)
#include "api/operation.h"
#include "api/routes.h"
#include "audit/events.h"
#include "directory/access.h"
#include "directory/identity_rows.h"
#include "gateway/gateway.h"
#include "gateway/inventory.h"
#include "http/problem.h"

namespace custody::api {
namespace {

using http::Request;
using http::Responder;

// The mcp_server identity `id`, visible to `who`.
Result<directory::Identity> mcp_server(store::Tx& tx, const directory::Principal& who,
                                       std::string_view id) {
  CUSTODY_ASSIGN(auto identity, directory::rows::find_identity(tx, id));
  if (!identity || identity->kind != directory::Kind::kMcpServer)
    return Error::not_found("no MCP server " + std::string(id));
  if (who.role == directory::Role::kOwner && !directory::access::can_manage(who, *identity))
    return Error::not_found("no MCP server " + std::string(id));
  return std::move(*identity);
}

void list_tools(ApiContext& api, Request& req, Responder respond) {
  std::string id(req.param("id"));
  read_operation(api, req, respond, "gateway.tools.list", id, nullptr,
                 [id](store::Tx& tx, const directory::OpContext& ctx) -> Result<http::Response> {
                   CUSTODY_TRY(mcp_server(tx, ctx.who, id));
                   CUSTODY_ASSIGN(auto tools, gateway::read_inventory(tx, id));
                   nlohmann::json items = nlohmann::json::array();
                   for (const auto& [name, tool] : tools) items.push_back(gateway::to_json(tool));
                   return http::json_response(200, {{"items", items}});
                 });
}

void approve_tool(ApiContext& api, Request& req, Responder respond) {
  std::string id(req.param("id"));
  std::string name(req.param("name"));
  write_operation(
      api, req, respond, "gateway.tool.approve", id, nullptr,
      [id, name](store::Tx& tx, const directory::OpContext& ctx) -> Result<http::Response> {
        if (!ctx.who.can_write()) return Error::denied("auditors cannot approve tools");
        CUSTODY_TRY(mcp_server(tx, ctx.who, id));
        CUSTODY_ASSIGN(auto before, gateway::find_tool(tx, id, name));
        if (!before)
          return Error::not_found("MCP server " + id + " has listed no tool \"" + name + "\"");
        CUSTODY_ASSIGN(auto tool, gateway::approve_tool(tx, id, name, ctx.who.actor(), ctx.now));
        audit::Event e;
        e.time = ctx.now;
        e.actor = ctx.who.actor();
        e.action = "gateway.tool.approve";
        e.target = id;
        e.outcome = "success";
        e.request_id = ctx.request_id;
        e.details = {{"name", name},
                     {"fingerprint", tool.fingerprint},
                     {"previous_status", gateway::tool_status_name(before->status())},
                     {"previous_approved_fingerprint", before->approved_fingerprint.value_or("")}};
        CUSTODY_TRY(audit::append(tx, e));
        return http::json_response(200, gateway::to_json(tool));
      });
}

}  // namespace

void add_gateway_routes(http::Router& router, ApiContext& api) {
  for (const char* method : {"POST", "GET", "DELETE"})
    router.add(method, "/mcp/{route}", [&api](Request& req, Responder respond) {
      if (api.gateway == nullptr)
        return respond(http::problem(req, Error::unavailable("the MCP gateway is not running")));
      api.gateway->handle(req, std::move(respond));
    });
  router.add(
      "GET", "/.well-known/oauth-protected-resource/mcp/{route}",
      [&api](Request& req, Responder respond) {
        if (api.gateway == nullptr)
          return respond(http::problem(req, Error::unavailable("the MCP gateway is not running")));
        api.gateway->metadata(req, std::move(respond));
      });
  router.add("GET", "/api/v1/gateway/servers/{id}/tools",
             [&api](Request& req, Responder respond) { list_tools(api, req, respond); });
  router.add("POST", "/api/v1/gateway/servers/{id}/tools/{name}/approve",
             [&api](Request& req, Responder respond) { approve_tool(api, req, respond); });
}

}  // namespace custody::api
