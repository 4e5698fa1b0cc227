// /api/v1/identities: create, list, show, update and lifecycle actions.
#include "api/operation.h"
#include "api/query.h"
#include "api/routes.h"
#include "delegation/cascade.h"
#include "directory/access.h"
#include "directory/identities.h"
#include "directory/json.h"
#include "http/json_body.h"
#include "http/problem.h"
#include "ssf/emitter.h"

namespace custody::api {
namespace {

using directory::Identity;
using http::Request;
using http::Responder;
using http::Response;

Response identity_response(int status, const Identity& identity) {
  Response r = http::json_response(status, directory::to_json(identity));
  r.header("ETag", "\"" + std::to_string(identity.version) + "\"");
  if (status == 201) r.header("Location", "/api/v1/identities/" + identity.id);
  return r;
}

Result<directory::NewIdentity> parse_new_identity(const nlohmann::json& body) {
  CUSTODY_TRY(http::check_members(
      body, {"kind", "display_name", "description", "labels", "owner_id", "state"}));
  directory::NewIdentity in;
  CUSTODY_ASSIGN(std::string kind, http::req_string(body, "kind"));
  auto k = directory::parse_kind(kind);
  if (!k) return Error::invalid("kind must be one of human, service, agent, mcp_server", "kind");
  in.kind = *k;
  CUSTODY_ASSIGN(in.display_name, http::req_string(body, "display_name"));
  CUSTODY_ASSIGN(auto description, http::opt_string(body, "description"));
  if (description) in.description = *description;
  CUSTODY_ASSIGN(auto labels, http::opt_string_map(body, "labels"));
  if (labels) in.labels = *labels;
  CUSTODY_ASSIGN(in.owner_id, http::opt_string(body, "owner_id"));
  CUSTODY_ASSIGN(auto state, http::opt_string(body, "state"));
  if (state) {
    auto s = directory::parse_state(*state);
    if (!s) return Error::invalid("state must be one of discovered, pending, active", "state");
    in.state = *s;
  }
  return in;
}

Result<directory::IdentityPatch> parse_patch(const nlohmann::json& body) {
  CUSTODY_TRY(http::check_members(body, {"display_name", "description", "labels", "owner_id"}));
  directory::IdentityPatch p;
  CUSTODY_ASSIGN(p.display_name, http::opt_string(body, "display_name"));
  CUSTODY_ASSIGN(p.description, http::opt_string(body, "description"));
  CUSTODY_ASSIGN(p.labels, http::opt_string_map(body, "labels"));
  CUSTODY_ASSIGN(p.owner_id, http::opt_string(body, "owner_id"));
  return p;
}

Result<directory::IdentityFilter> parse_filter(const Request& req, const Config& config) {
  directory::IdentityFilter f;
  CUSTODY_ASSIGN(auto query, http::parse_query(req.query));
  for (const auto& [name, value] : query) {
    if (name == "kind") {
      auto k = directory::parse_kind(value);
      if (!k)
        return Error::invalid("kind must be one of human, service, agent, mcp_server", "kind");
      f.kind = *k;
    } else if (name == "state") {
      auto s = directory::parse_state(value);
      if (!s) return Error::invalid("unknown state \"" + value + "\"", "state");
      f.state = *s;
    } else if (name == "owner_id") {
      f.owner_id = value;
    } else if (name == "label") {
      auto colon = value.find(':');
      if (colon == std::string::npos || colon == 0)
        return Error::invalid("label must be key:value", "label");
      f.labels.emplace_back(value.substr(0, colon), value.substr(colon + 1));
    } else if (name == "limit") {
      CUSTODY_ASSIGN(f.limit, parse_limit(value, config));
    } else if (name == "cursor") {
      f.cursor = value;
    } else {
      return Error::invalid("unknown query parameter \"" + name + "\"", name);
    }
  }
  return f;
}

// Revokes the live tokens of an identity whose authority was withdrawn and of the identities
// that changed with it, with one audit event per identity that lost tokens. Returns how many.
Result<std::size_t> revoke_withdrawn(store::Tx& tx, const directory::OpContext& ctx,
                                     const directory::TransitionResult& result,
                                     const std::string& action) {
  std::vector<std::string> ids = {result.identity.id};
  ids.insert(ids.end(), result.affected.begin(), result.affected.end());
  std::size_t total = 0;
  for (const auto& id : ids) {
    std::string reason = id == result.identity.id
                             ? action + " of " + id
                             : action + " of " + result.identity.id + " (owner of " + id + ")";
    CUSTODY_ASSIGN(auto revoked,
                   delegation::revoke_for_identity(tx, id, ctx.now, ctx.who.actor(), reason));
    // Shared Signals receivers hear it with the change: CAEP session-revoked for the identity.
    CUSTODY_TRY(ssf::enqueue(
        tx, {.type = "session-revoked",
             .subject = {{"format", "opaque"}, {"id", id}},
             .event_timestamp = ctx.now,
             .initiating_entity = ctx.who.role == directory::Role::kOwner ? "user" : "admin",
             .reason_admin = reason,
             .extra = nlohmann::json::object(),
             .txn = ctx.request_id}));
    if (revoked.empty()) continue;
    total += revoked.size();
    nlohmann::json listed = nlohmann::json::array();
    for (std::size_t i = 0; i < revoked.size() && i < 100; ++i) listed.push_back(revoked[i]);
    CUSTODY_TRY(directory::access::record(tx, ctx, "delegation.revoke", id,
                                          {{"cause", action},
                                           {"reason", reason},
                                           {"revoked_count", revoked.size()},
                                           {"revoked", listed}}));
  }
  return total;
}

// Lifecycle action routes share one shape.
void add_transition(http::Router& router, ApiContext& api, const char* verb,
                    directory::State target, const char* action) {
  router.add("POST", std::string("/api/v1/identities/{id}/") + verb,
             [&api, target, action](Request& req, Responder respond) {
               std::string id(req.param("id"));
               struct Input {
                 std::string reason;
                 std::optional<std::int64_t> version;
               };
               auto in = std::make_shared<Input>();
               auto validate = [&api, &req, in]() -> Status {
                 CUSTODY_ASSIGN(in->reason, optional_reason(api, req, "", EmptyReason::kAccepted));
                 CUSTODY_ASSIGN(in->version, if_match_version(req));
                 return ok_status();
               };
               write_operation(
                   api, req, respond, action, id, validate,
                   [id, target, in, action](store::Tx& tx,
                                            const directory::OpContext& ctx) -> Result<Response> {
                     CUSTODY_ASSIGN(auto result, directory::transition(tx, ctx, id, target,
                                                                       in->version, in->reason));
                     bool with_affected = target == directory::State::kSuspended ||
                                          target == directory::State::kRetired;
                     if (!with_affected) return identity_response(200, result.identity);
                     // Continuous revocation: the tokens of the identity and of everything that was
                     // suspended with it die in this same transaction.
                     CUSTODY_ASSIGN(auto revoked, revoke_withdrawn(tx, ctx, result, action));
                     Response r = http::json_response(
                         200, {{"identity", directory::to_json(result.identity)},
                               {"affected", result.affected},
                               {"revoked_tokens", revoked}});
                     r.header("ETag", "\"" + std::to_string(result.identity.version) + "\"");
                     return r;
                   });
             });
}

}  // namespace

void add_identity_routes(http::Router& router, ApiContext& api) {
  router.add("POST", "/api/v1/identities", [&api](Request& req, Responder respond) {
    auto in = std::make_shared<directory::NewIdentity>();
    auto validate = [&api, &req, in]() -> Status {
      CUSTODY_ASSIGN(auto body, json_body(api, req));
      CUSTODY_ASSIGN(*in, parse_new_identity(body));
      return ok_status();
    };
    write_operation(api, req, respond, "identity.create", "", validate,
                    [in](store::Tx& tx, const directory::OpContext& ctx) -> Result<Response> {
                      CUSTODY_ASSIGN(Identity created, directory::create_identity(tx, ctx, *in));
                      return identity_response(201, created);
                    });
  });

  router.add("GET", "/api/v1/identities", [&api](Request& req, Responder respond) {
    auto filter = std::make_shared<directory::IdentityFilter>();
    auto validate = [&api, &req, filter]() -> Status {
      CUSTODY_ASSIGN(*filter, parse_filter(req, api.config));
      return ok_status();
    };
    read_operation(api, req, respond, "identity.list", "", validate,
                   [filter](store::Tx& tx, const directory::OpContext& ctx) -> Result<Response> {
                     CUSTODY_ASSIGN(auto page, directory::list_identities(tx, ctx, *filter));
                     nlohmann::json items = nlohmann::json::array();
                     for (const auto& i : page.items) items.push_back(directory::to_json(i));
                     nlohmann::json body = {{"items", std::move(items)}, {"next_cursor", nullptr}};
                     if (page.next_cursor) body["next_cursor"] = *page.next_cursor;
                     return http::json_response(200, body);
                   });
  });

  router.add("GET", "/api/v1/identities/{id}", [&api](Request& req, Responder respond) {
    std::string id(req.param("id"));
    read_operation(api, req, respond, "identity.read", id, nullptr,
                   [id](store::Tx& tx, const directory::OpContext& ctx) -> Result<Response> {
                     CUSTODY_ASSIGN(Identity identity, directory::get_identity(tx, ctx, id));
                     return identity_response(200, identity);
                   });
  });

  router.add("PATCH", "/api/v1/identities/{id}", [&api](Request& req, Responder respond) {
    std::string id(req.param("id"));
    struct Input {
      directory::IdentityPatch patch;
      std::optional<std::int64_t> version;
    };
    auto in = std::make_shared<Input>();
    auto validate = [&api, &req, in]() -> Status {
      CUSTODY_ASSIGN(auto body, json_body(api, req));
      CUSTODY_ASSIGN(in->patch, parse_patch(body));
      CUSTODY_ASSIGN(in->version, if_match_version(req));
      return ok_status();
    };
    write_operation(api, req, respond, "identity.update", id, validate,
                    [id, in](store::Tx& tx, const directory::OpContext& ctx) -> Result<Response> {
                      CUSTODY_ASSIGN(Identity updated, directory::update_identity(
                                                           tx, ctx, id, in->patch, in->version));
                      return identity_response(200, updated);
                    });
  });

  add_transition(router, api, "activate", directory::State::kActive, "identity.activate");
  add_transition(router, api, "submit", directory::State::kPending, "identity.submit");
  add_transition(router, api, "suspend", directory::State::kSuspended, "identity.suspend");
  add_transition(router, api, "retire", directory::State::kRetired, "identity.retire");
}

}  // namespace custody::api
