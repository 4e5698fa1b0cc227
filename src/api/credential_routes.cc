// Credentials: create (the secret is in this one response only), list, revoke. Creating and
// revoking one emits a CAEP credential-change event (docs/ssf.md) in the same transaction.
#include "api/operation.h"
#include "api/routes.h"
#include "directory/credentials.h"
#include "directory/json.h"
#include "http/json_body.h"
#include "http/problem.h"
#include "ssf/emitter.h"

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

// CAEP 1.0 §3.3 credential-change for `c`. CAEP's closest credential types: a client secret is a
// shared secret presented as is ("password"); a registered public key is an asymmetric key
// credential ("x509", without x509_* members since it carries no certificate).
Status emit_credential_change(store::Tx& tx, const directory::OpContext& ctx,
                              const directory::Credential& c, const std::string& change_type) {
  bool secret = c.type == directory::CredentialType::kClientSecret;
  nlohmann::json extra = {
      {"credential_type", secret ? "password" : "x509"},
      {"change_type", change_type},
      {"friendly_name", std::string(directory::credential_type_name(c.type)) + " " + c.id +
                            (c.description.empty() ? std::string() : ": " + c.description)}};
  return ssf::enqueue(
      tx, {.type = "credential-change",
           .subject = {{"format", "opaque"}, {"id", c.identity_id}},
           .event_timestamp = ctx.now,
           .initiating_entity = ctx.who.role == directory::Role::kOwner ? "user" : "admin",
           .reason_admin = "credential " + c.id + " " + change_type + "d by " + ctx.who.actor(),
           .extra = std::move(extra),
           .txn = ctx.request_id});
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
        write_operation(
            api, req, respond, "credential.create", id, validate,
            [&api, id, policy, in](store::Tx& tx,
                                   const directory::OpContext& ctx) -> Result<Response> {
              CUSTODY_ASSIGN(auto created,
                             directory::create_credential(tx, ctx, id, *in, api.hasher, policy));
              CUSTODY_TRY(emit_credential_change(tx, ctx, created.credential, "create"));
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
                      // Revoking twice changes nothing the second time, and says nothing.
                      if (c.revoked_at == ctx.now)
                        CUSTODY_TRY(emit_credential_change(tx, ctx, c, "revoke"));
                      return http::json_response(200, directory::to_json(c, ctx.now));
                    });
  });
}

}  // namespace custody::api
