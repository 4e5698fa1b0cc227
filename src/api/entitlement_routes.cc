// Entitlements: grant on an identity, list, show, revoke.
#include "api/operation.h"
#include "api/query.h"
#include "api/routes.h"
#include "delegation/cascade.h"
#include "directory/access.h"
#include "directory/entitlements.h"
#include "directory/json.h"
#include "http/json_body.h"
#include "http/problem.h"
#include "ssf/emitter.h"

namespace custody::api {
namespace {

using http::Request;
using http::Responder;
using http::Response;

Result<directory::NewEntitlement> parse_new_entitlement(const nlohmann::json& body) {
  CUSTODY_TRY(
      http::check_members(body, {"scope", "resource", "tools", "expires_at", "justification"}));
  directory::NewEntitlement in;
  CUSTODY_ASSIGN(in.scope, http::req_string(body, "scope"));
  CUSTODY_ASSIGN(in.resource, http::req_string(body, "resource"));
  CUSTODY_ASSIGN(in.tools, http::opt_string_list(body, "tools"));
  CUSTODY_ASSIGN(in.expires_at, http::opt_time(body, "expires_at"));
  CUSTODY_ASSIGN(in.justification, http::req_string(body, "justification"));
  return in;
}

}  // namespace

void add_entitlement_routes(http::Router& router, ApiContext& api) {
  router.add("POST", "/api/v1/identities/{id}/entitlements",
             [&api](Request& req, Responder respond) {
               std::string id(req.param("id"));
               auto in = std::make_shared<directory::NewEntitlement>();
               auto validate = [&api, &req, in]() -> Status {
                 CUSTODY_ASSIGN(auto body, json_body(api, req));
                 CUSTODY_ASSIGN(*in, parse_new_entitlement(body));
                 return ok_status();
               };
               write_operation(
                   api, req, respond, "entitlement.grant", id, validate,
                   [id, in](store::Tx& tx, const directory::OpContext& ctx) -> Result<Response> {
                     CUSTODY_ASSIGN(auto e, directory::grant_entitlement(tx, ctx, id, *in));
                     Response r = http::json_response(201, directory::to_json(e, ctx.now));
                     r.header("Location", "/api/v1/entitlements/" + e.id);
                     return r;
                   });
             });

  router.add(
      "GET", "/api/v1/identities/{id}/entitlements", [&api](Request& req, Responder respond) {
        std::string id(req.param("id"));
        auto active_only = std::make_shared<bool>(false);
        auto validate = [&req, active_only]() -> Status {
          CUSTODY_ASSIGN(auto query, http::parse_query(req.query));
          for (const auto& [name, value] : query) {
            if (name != "active")
              return Error::invalid("unknown query parameter \"" + name + "\"", name);
            CUSTODY_ASSIGN(*active_only, parse_bool(value, "active"));
          }
          return ok_status();
        };
        read_operation(
            api, req, respond, "entitlement.list", id, validate,
            [id, active_only](store::Tx& tx, const directory::OpContext& ctx) -> Result<Response> {
              CUSTODY_ASSIGN(auto list, directory::list_entitlements(tx, ctx, id, *active_only));
              nlohmann::json items = nlohmann::json::array();
              for (const auto& e : list) items.push_back(directory::to_json(e, ctx.now));
              return http::json_response(200, {{"items", std::move(items)}});
            });
      });

  router.add("GET", "/api/v1/entitlements/{id}", [&api](Request& req, Responder respond) {
    std::string id(req.param("id"));
    read_operation(api, req, respond, "entitlement.read", id, nullptr,
                   [id](store::Tx& tx, const directory::OpContext& ctx) -> Result<Response> {
                     CUSTODY_ASSIGN(auto e, directory::get_entitlement(tx, ctx, id));
                     return http::json_response(200, directory::to_json(e, ctx.now));
                   });
  });

  router.add("DELETE", "/api/v1/entitlements/{id}", [&api](Request& req, Responder respond) {
    std::string id(req.param("id"));
    write_operation(
        api, req, respond, "entitlement.revoke", id, nullptr,
        [id](store::Tx& tx, const directory::OpContext& ctx) -> Result<Response> {
          CUSTODY_ASSIGN(auto e, directory::revoke_entitlement(tx, ctx, id));
          // Continuous revocation: tokens that may rely on it die with it.
          std::string reason = "entitlement " + id + " revoked";
          CUSTODY_ASSIGN(auto revoked,
                         delegation::revoke_for_entitlement(tx, e.identity_id, e.scope, e.resource,
                                                            ctx.now, ctx.who.actor(), reason));
          // CAEP token-claims-change: the identity's tokens lost this authority (once: a repeated
          // revocation changes nothing).
          if (e.revoked_at && *e.revoked_at == ctx.now)
            CUSTODY_TRY(ssf::enqueue(
                tx,
                {.type = "token-claims-change",
                 .subject = {{"format", "opaque"}, {"id", e.identity_id}},
                 .event_timestamp = ctx.now,
                 .initiating_entity = ctx.who.role == directory::Role::kOwner ? "user" : "admin",
                 .reason_admin = reason,
                 .extra = {{"claims",
                            {{"custody_entitlement_revoked",
                              {{"scope", e.scope}, {"resource", e.resource}}}}}},
                 .txn = ctx.request_id}));
          if (!revoked.empty()) {
            nlohmann::json listed = nlohmann::json::array();
            for (std::size_t i = 0; i < revoked.size() && i < 100; ++i)
              listed.push_back(revoked[i]);
            CUSTODY_TRY(directory::access::record(tx, ctx, "delegation.revoke", e.identity_id,
                                                  {{"cause", "entitlement.revoke"},
                                                   {"reason", reason},
                                                   {"revoked_count", revoked.size()},
                                                   {"revoked", listed}}));
          }
          nlohmann::json body = directory::to_json(e, ctx.now);
          body["revoked_tokens"] = revoked.size();
          return http::json_response(200, body);
        });
  });
}

}  // namespace custody::api
