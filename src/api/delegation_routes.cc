// Delegation records and traces (docs/api.md), and the authorization server's signing keys.
#include <charconv>

#include "api/operation.h"
#include "api/routes.h"
#include "audit/events.h"
#include "common/ids.h"
#include "delegation/drift.h"
#include "delegation/trace.h"
#include "directory/model.h"
#include "http/json_body.h"
#include "http/problem.h"
#include "oauth/access_token.h"
#include "oauth/key_manager.h"
#include "oauth/service.h"

namespace custody::api {
namespace {

using http::Request;
using http::Responder;
using http::Response;

// What a trace asks about: ?delegation= or ?jti= (the same id), ?token= (a custody access token,
// verified, expired or not), or ?event= (an audit event's seq; its delegation is traced).
struct TraceTarget {
  std::string id;
  std::optional<std::int64_t> event_seq;
};

Result<TraceTarget> trace_target(ApiContext& api, const Request& req) {
  CUSTODY_ASSIGN(auto query, http::parse_query(req.query));
  std::optional<TraceTarget> target;
  for (const auto& [name, value] : query) {
    if (target) return Error::invalid("give exactly one of delegation, jti, token or event", name);
    if (name == "delegation" || name == "jti") {
      if (!is_valid_id(value, "dlg")) return Error::invalid(name + " must be a dlg_… id", name);
      target = TraceTarget{value, std::nullopt};
    } else if (name == "token") {
      oauth::Service* service = api.oauth.load();
      if (!service) return Error::unavailable("the authorization server is starting");
      auto presented = service->verify_own(value, true);
      if (!presented.ok())
        return Error::invalid(
            "token is not a valid custody access token: " + presented.error().message, "token");
      if (!is_valid_id(presented->jti, "dlg"))
        return Error::invalid("token has no custody delegation id", "token");
      target = TraceTarget{presented->jti, std::nullopt};
    } else if (name == "event") {
      std::int64_t seq = 0;
      auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), seq);
      if (ec != std::errc() || end != value.data() + value.size() || seq < 1)
        return Error::invalid("event must be an audit event's seq (a positive integer)", "event");
      target = TraceTarget{"", seq};
    } else {
      return Error::invalid("unknown query parameter \"" + name + "\"", name);
    }
  }
  if (!target) return Error::invalid("give one of delegation, jti, token or event", "jti");
  return *target;
}

// GET /api/v1/drift's query: identity, unused_seconds, recent_seconds, cursor, limit.
Result<delegation::DriftOptions> drift_options(const ApiContext& api, const Request& req) {
  CUSTODY_ASSIGN(auto query, http::parse_query(req.query));
  delegation::DriftOptions o;
  auto number = [](const std::string& name, const std::string& value, std::int64_t lo,
                   std::int64_t hi) -> Result<std::int64_t> {
    std::int64_t v = 0;
    auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), v);
    if (ec != std::errc() || end != value.data() + value.size() || v < lo || v > hi)
      return Error::invalid(
          name + " must be an integer in [" + std::to_string(lo) + ", " + std::to_string(hi) + "]",
          name);
    return v;
  };
  constexpr std::int64_t kTenYears = 10LL * 366 * 24 * 3600;
  for (const auto& [name, value] : query) {
    if (name == "identity") {
      if (!directory::kind_of_id(value))
        return Error::invalid("identity must be an identity id", "identity");
      o.identity = value;
    } else if (name == "unused_seconds") {
      CUSTODY_ASSIGN(auto v, number(name, value, 1, kTenYears));
      o.unused_for = v * kMicrosPerSecond;
    } else if (name == "recent_seconds") {
      CUSTODY_ASSIGN(auto v, number(name, value, 1, kTenYears));
      o.recent_for = v * kMicrosPerSecond;
    } else if (name == "cursor") {
      o.after = value;
    } else if (name == "limit") {
      CUSTODY_ASSIGN(auto v, number(name, value, 1, api.config.limits.max_page_size));
      o.limit = static_cast<int>(v);
    } else {
      return Error::invalid("unknown query parameter \"" + name + "\"", name);
    }
  }
  if (o.recent_for > o.unused_for)
    return Error::invalid("recent_seconds must not exceed unused_seconds", "recent_seconds");
  return o;
}

}  // namespace

void add_delegation_routes(http::Router& router, ApiContext& api) {
  router.add("GET", "/api/v1/drift", [&api](Request& req, Responder respond) {
    auto options = std::make_shared<delegation::DriftOptions>();
    auto validate = [&api, &req, options]() -> Status {
      CUSTODY_ASSIGN(*options, drift_options(api, req));
      return ok_status();
    };
    read_operation(api, req, respond, "drift.read", "", validate,
                   [options](store::Tx& tx, const directory::OpContext& ctx) -> Result<Response> {
                     if (ctx.who.role == directory::Role::kOwner)
                       return Error::denied("owner tokens may not read the drift report");
                     CUSTODY_ASSIGN(auto report, delegation::drift_report(tx, *options, ctx.now));
                     nlohmann::json body = {
                         {"generated_at", format_rfc3339(ctx.now)},
                         {"unused_seconds", options->unused_for / kMicrosPerSecond},
                         {"recent_seconds", options->recent_for / kMicrosPerSecond},
                         {"items", report.items}};
                     if (report.next_cursor) body["next_cursor"] = *report.next_cursor;
                     return http::json_response(200, body);
                   });
  });

  router.add("GET", "/api/v1/delegations/{id}", [&api](Request& req, Responder respond) {
    std::string id(req.param("id"));
    read_operation(api, req, respond, "delegation.read", id, nullptr,
                   [id](store::Tx& tx, const directory::OpContext& ctx) -> Result<Response> {
                     CUSTODY_ASSIGN(auto record, delegation::get_delegation(tx, ctx, id));
                     return http::json_response(200, delegation::to_json(record));
                   });
  });

  router.add("POST", "/api/v1/delegations/{id}/revoke", [&api](Request& req, Responder respond) {
    std::string id(req.param("id"));
    auto reason = std::make_shared<std::string>();
    write_operation(
        api, req, respond, "delegation.revoke", id,
        validate_reason(api, req, reason, "revoked by an administrator"),
        [id, reason](store::Tx& tx, const directory::OpContext& ctx) -> Result<Response> {
          CUSTODY_ASSIGN(auto revoked, delegation::revoke_delegation(tx, ctx, id, *reason));
          return http::json_response(
              200,
              {{"delegation_id", id}, {"revoked", revoked}, {"revoked_count", revoked.size()}});
        });
  });

  router.add("GET", "/api/v1/trace", [&api](Request& req, Responder respond) {
    auto target = std::make_shared<TraceTarget>();
    auto validate = [&api, &req, target]() -> Status {
      CUSTODY_ASSIGN(*target, trace_target(api, req));
      return ok_status();
    };
    read_operation(api, req, respond, "delegation.trace", "", validate,
                   [target](store::Tx& tx, const directory::OpContext& ctx) -> Result<Response> {
                     std::string id = target->id;
                     if (target->event_seq) {
                       if (ctx.who.role == directory::Role::kOwner)
                         return Error::denied("owner tokens may not read the audit log");
                       CUSTODY_ASSIGN(auto event, audit::get_by_seq(tx, *target->event_seq));
                       if (event.delegation_id.empty())
                         return Error::unprocessable(
                             "audit event " + std::to_string(*target->event_seq) + " (" +
                                 event.action + ") belongs to no delegation",
                             "event");
                       id = event.delegation_id;
                     }
                     CUSTODY_ASSIGN(auto trace, delegation::trace(tx, ctx, id));
                     if (target->event_seq) trace["event_seq"] = *target->event_seq;
                     return http::json_response(200, trace);
                   });
  });
}

void add_key_routes(http::Router& router, ApiContext& api) {
  auto describe = [](const oauth::KeyManager& keys) {
    nlohmann::json items = nlohmann::json::array();
    for (const auto& k : keys.describe()) {
      nlohmann::json j = {{"kid", k.kid},
                          {"alg", k.alg},
                          {"status", k.status},
                          {"created_at", format_rfc3339(k.created_at)},
                          {"activate_at", format_rfc3339(k.activate_at)}};
      if (k.published_until != crypto::SigningKey::kForever)
        j["published_until"] = format_rfc3339(k.published_until);
      items.push_back(std::move(j));
    }
    return nlohmann::json{{"items", std::move(items)}};
  };
  router.add("GET", "/api/v1/keys", [&api, describe](Request& req, Responder respond) {
    read_operation(
        api, req, respond, "keys.list", "", nullptr,
        [&api, describe](store::Tx&, const directory::OpContext& ctx) -> Result<Response> {
          if (ctx.who.role == directory::Role::kOwner)
            return Error::denied("owner tokens may not read signing keys");
          if (!api.keys) return Error::unavailable("no signing keys");
          return http::json_response(200, describe(*api.keys));
        });
  });
  // Rotation commits through the store writer and then republishes the keys, so it runs after
  // authentication on this io thread (admin-only and rare: one commit's wait).
  router.add("POST", "/api/v1/keys/rotate", [&api, describe](Request& req, Responder respond) {
    auto actor = std::make_shared<std::string>();
    http::Responder after_auth([&api, describe, actor, respond,
                                rid = req.request_id](Response checked) {
      if (checked.status != 204) return respond(std::move(checked));
      Status s = api.keys->rotate_now(*actor, rid);
      if (!s.ok()) {
        Response r =
            http::json_response(503, {{"title", "rotation failed"}, {"detail", s.error().message}});
        return respond(std::move(r));
      }
      respond(http::json_response(200, describe(*api.keys)));
    });
    read_operation(api, req, after_auth, "keys.rotate", "", nullptr,
                   [&api, actor](store::Tx&, const directory::OpContext& ctx) -> Result<Response> {
                     if (ctx.who.role != directory::Role::kAdmin)
                       return Error::denied("only admin tokens rotate signing keys");
                     if (!api.keys) return Error::unavailable("no signing keys");
                     *actor = ctx.who.actor();
                     Response marker;
                     marker.status = 204;
                     return marker;
                   });
  });
}

}  // namespace custody::api
