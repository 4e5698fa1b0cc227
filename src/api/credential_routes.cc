// Credentials: create (the secret is in this one response only), list, revoke.
#include "api/operation.h"
#include "api/routes.h"
#include "directory/credentials.h"
#include "directory/json.h"
#include "http/json_body.h"
#include "http/problem.h"

namespace custody::api {
namespace {

using http::Request;
using http::Responder;
using http::Response;

Result<directory::NewCredential> parse_new_credential(const nlohmann::json& body) {
  CUSTODY_TRY(http::check_members(body, {"type", "public_jwk", "description", "max_age_seconds"}));
  directory::NewCredential in;
  CUSTODY_ASSIGN(std::string type, http::req_string(body, "type"));
  auto t = directory::parse_credential_type(type);
  if (!t) return Error::invalid("type must be client_secret or jwk", "type");
  in.type = *t;
  auto jwk = body.find("public_jwk");
  if (jwk != body.end() && !jwk->is_null()) {
    if (!jwk->is_object()) return Error::invalid("public_jwk must be a JSON object", "public_jwk");
    if (in.type != directory::CredentialType::kJwk)
      return Error::invalid("public_jwk is only for type jwk", "public_jwk");
    in.public_jwk = *jwk;
  } else if (in.type == directory::CredentialType::kJwk) {
    return Error::invalid("public_jwk is required for type jwk", "public_jwk");
  }
  CUSTODY_ASSIGN(auto description, http::opt_string(body, "description"));
  if (description) in.description = *description;
  CUSTODY_ASSIGN(in.max_age_seconds, http::opt_int(body, "max_age_seconds"));
  return in;
}

}  // namespace

void add_credential_routes(http::Router& router, ApiContext& api) {
  router.add(
      "POST", "/api/v1/identities/{id}/credentials", [&api](Request& req, Responder respond) {
        std::string id(req.param("id"));
        auto in = std::make_shared<directory::NewCredential>();
        auto validate = [&api, &req, in]() -> Status {
          CUSTODY_ASSIGN(auto body, json_body(api, req));
          CUSTODY_ASSIGN(*in, parse_new_credential(body));
          return ok_status();
        };
        directory::CredentialPolicy policy{api.config.credential_max_age_seconds};
        write_operation(api, req, respond, "credential.create", id, validate,
                        [&api, id, policy, in](
                            store::Tx& tx, const directory::OpContext& ctx) -> Result<Response> {
                          CUSTODY_ASSIGN(auto created, directory::create_credential(
                                                           tx, ctx, id, *in, api.hasher, policy));
                          nlohmann::json j = directory::to_json(created.credential, ctx.now);
                          if (created.secret) j["secret"] = *created.secret;
                          Response r = http::json_response(201, j);
                          r.header("Cache-Control", "no-store");
                          return r;
                        });
      });

  router.add("GET", "/api/v1/identities/{id}/credentials", [&api](Request& req, Responder respond) {
    std::string id(req.param("id"));
    read_operation(api, req, respond, "credential.list", id, nullptr,
                   [id](store::Tx& tx, const directory::OpContext& ctx) -> Result<Response> {
                     CUSTODY_ASSIGN(auto list, directory::list_credentials(tx, ctx, id));
                     nlohmann::json items = nlohmann::json::array();
                     for (const auto& c : list) items.push_back(directory::to_json(c, ctx.now));
                     return http::json_response(200, {{"items", std::move(items)}});
                   });
  });

  router.add("DELETE", "/api/v1/credentials/{id}", [&api](Request& req, Responder respond) {
    std::string id(req.param("id"));
    write_operation(api, req, respond, "credential.revoke", id, nullptr,
                    [id](store::Tx& tx, const directory::OpContext& ctx) -> Result<Response> {
                      CUSTODY_ASSIGN(auto c, directory::revoke_credential(tx, ctx, id));
                      return http::json_response(200, directory::to_json(c, ctx.now));
                    });
  });
}

}  // namespace custody::api
