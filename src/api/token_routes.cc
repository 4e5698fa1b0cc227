// Admin tokens: create (the value is in this one response only), list, revoke.
#include "api/operation.h"
#include "api/routes.h"
#include "directory/admin_tokens.h"
#include "directory/json.h"
#include "http/json_body.h"
#include "http/problem.h"

namespace custody::api {
namespace {

using http::Request;
using http::Responder;
using http::Response;

Result<directory::NewAdminToken> parse_new_token(const nlohmann::json& body) {
  CUSTODY_TRY(http::check_members(body, {"role", "identity_id", "description", "ttl_seconds"}));
  directory::NewAdminToken in;
  CUSTODY_ASSIGN(std::string role, http::req_string(body, "role"));
  auto r = directory::parse_role(role);
  if (!r) return Error::invalid("role must be admin, auditor or owner", "role");
  in.role = *r;
  CUSTODY_ASSIGN(in.identity_id, http::opt_string(body, "identity_id"));
  CUSTODY_ASSIGN(auto description, http::opt_string(body, "description"));
  if (description) in.description = *description;
  CUSTODY_ASSIGN(in.ttl_seconds, http::opt_int(body, "ttl_seconds"));
  if (in.ttl_seconds && *in.ttl_seconds < 60)
    return Error::invalid("ttl_seconds must be at least 60", "ttl_seconds");
  return in;
}

}  // namespace

void add_token_routes(http::Router& router, ApiContext& api) {
  router.add("POST", "/api/v1/tokens", [&api](Request& req, Responder respond) {
    auto in = std::make_shared<directory::NewAdminToken>();
    auto validate = [&api, &req, in]() -> Status {
      CUSTODY_ASSIGN(auto body, json_body(api, req));
      CUSTODY_ASSIGN(*in, parse_new_token(body));
      if (!in->ttl_seconds && api.config.admin_token_default_ttl_seconds > 0)
        in->ttl_seconds = api.config.admin_token_default_ttl_seconds;
      return ok_status();
    };
    write_operation(api, req, respond, "token.create", "", validate,
                    [&api, in](store::Tx& tx, const directory::OpContext& ctx) -> Result<Response> {
                      CUSTODY_ASSIGN(auto created,
                                     directory::create_admin_token(tx, ctx, *in, api.hasher));
                      nlohmann::json j = directory::to_json(created.token);
                      j["token"] = created.value;
                      Response r = http::json_response(201, j);
                      r.header("Cache-Control", "no-store");
                      return r;
                    });
  });

  router.add("GET", "/api/v1/tokens", [&api](Request& req, Responder respond) {
    read_operation(api, req, respond, "token.list", "", nullptr,
                   [](store::Tx& tx, const directory::OpContext& ctx) -> Result<Response> {
                     CUSTODY_ASSIGN(auto list, directory::list_admin_tokens(tx, ctx));
                     nlohmann::json items = nlohmann::json::array();
                     for (const auto& t : list) items.push_back(directory::to_json(t));
                     return http::json_response(200, {{"items", std::move(items)}});
                   });
  });

  router.add("DELETE", "/api/v1/tokens/{id}", [&api](Request& req, Responder respond) {
    std::string id(req.param("id"));
    write_operation(api, req, respond, "token.revoke", id, nullptr,
                    [id](store::Tx& tx, const directory::OpContext& ctx) -> Result<Response> {
                      CUSTODY_ASSIGN(auto t, directory::revoke_admin_token(tx, ctx, id));
                      return http::json_response(200, directory::to_json(t));
                    });
  });
}

}  // namespace custody::api
