// Discovered AI components (docs/find-agents.md).
// custody-agent (the body is a JWT the device signed, typ custody-device+jwt, req "discovery"):
//   POST /api/v1/devices/{id}/discovery            claim "report": the scanner's JSON report
// Administration (admin, auditor or owner API tokens):
//   GET  /api/v1/discovery/findings[?state&device&owner&kind&cursor&limit]
//   GET  /api/v1/discovery/findings/{id}
//   POST /api/v1/discovery/findings/{id}/register  {owner?, entitlements?, activate?}
//   POST /api/v1/discovery/findings/{id}/reject    {reason}
//   GET  /api/v1/inventory/shadow[?format=json|csv]  (or Accept: text/csv)
#include "api/device_request.h"
#include "api/operation.h"
#include "api/query.h"
#include "api/routes.h"
#include "audit/events.h"
#include "http/json_body.h"
#include "http/problem.h"
#include "inventory/findings.h"

namespace custody::api {
namespace {

using http::Request;
using http::Responder;
using http::Response;
using nlohmann::json;

void add_upload(http::Router& router, ApiContext& api) {
  router.add("POST", "/api/v1/devices/{id}/discovery", [&api](Request& req, Responder respond) {
    std::string id(req.param("id"));
    auto jwt = signed_body(req);
    if (!jwt.ok()) return refuse(api, req, respond, id, "device.discovery", id, jwt.error());
    signed_write(api, req, respond, id, "device.discovery", id,
                 [&api, id, jwt = *jwt](store::Tx& tx, const std::string& rid,
                                        Micros now) -> Result<Response> {
                   device::DeviceJwtPolicy policy = device_jwt_policy(api);
                   policy.max_bytes = static_cast<std::size_t>(api.config.device.max_report_bytes);
                   CUSTODY_ASSIGN(auto v, verified_device_request(tx, jwt, device::kRequestType, id,
                                                                  "discovery", policy, now));
                   if (!v.claims.contains("report"))
                     return Error::invalid("the JWT has no report claim", "report");
                   CUSTODY_ASSIGN(auto report, inventory::parse_report(v.claims["report"]));
                   CUSTODY_ASSIGN(auto result, inventory::ingest(tx, v.device, report, rid, now));
                   audit::Event event;
                   event.time = now;
                   event.actor = id;
                   event.action = "device.discovery";
                   event.target = id;
                   event.outcome = "success";
                   event.request_id = rid;
                   event.details = {{"findings", report.findings.size()},
                                    {"created", result.created},
                                    {"drifted", result.drifted},
                                    {"known", result.known},
                                    {"jti", v.jti}};
                   CUSTODY_TRY(audit::append(tx, event));
                   return http::json_response(200, {{"device_id", id},
                                                    {"findings", report.findings.size()},
                                                    {"created", result.created},
                                                    {"drifted", result.drifted},
                                                    {"known", result.known}});
                 });
  });
}

Result<inventory::FindingFilter> parse_filter(const Request& req, const Config& config) {
  inventory::FindingFilter f;
  CUSTODY_ASSIGN(auto query, http::parse_query(req.query));
  for (const auto& [name, value] : query) {
    if (name == "state") {
      auto s = directory::parse_state(value);
      if (!s) return Error::invalid("unknown state \"" + value + "\"", "state");
      f.state = *s;
    } else if (name == "kind") {
      auto k = directory::parse_kind(value);
      if (!k || (*k != directory::Kind::kMcpServer && *k != directory::Kind::kAgent))
        return Error::invalid("kind must be mcp_server or agent", "kind");
      f.kind = *k;
    } else if (name == "device") {
      f.device = value;
    } else if (name == "owner") {
      f.owner = value;
    } else if (name == "cursor") {
      f.after_id = value;
    } else if (name == "limit") {
      CUSTODY_ASSIGN(f.limit, parse_limit(value, config));
    } else {
      return Error::invalid("unknown query parameter \"" + name + "\"", name);
    }
  }
  return f;
}

Result<inventory::Registration> parse_registration(const json& body) {
  CUSTODY_TRY(http::check_members(body, {"owner", "entitlements", "activate"}));
  inventory::Registration r;
  CUSTODY_ASSIGN(r.owner, http::opt_string(body, "owner"));
  if (body.contains("activate")) {
    if (!body["activate"].is_boolean())
      return Error::invalid("activate must be a boolean", "activate");
    r.activate = body["activate"].get<bool>();
  }
  if (!body.contains("entitlements")) return r;
  if (!body["entitlements"].is_array() || body["entitlements"].size() > 100)
    return Error::invalid("entitlements must be an array of at most 100", "entitlements");
  for (const auto& e : body["entitlements"]) {
    if (!e.is_object()) return Error::invalid("each entitlement must be an object", "entitlements");
    CUSTODY_TRY(
        http::check_members(e, {"scope", "resource", "tools", "expires_at", "justification"}));
    directory::NewEntitlement n;
    CUSTODY_ASSIGN(n.scope, http::req_string(e, "scope"));
    CUSTODY_ASSIGN(n.resource, http::req_string(e, "resource"));
    CUSTODY_ASSIGN(n.tools, http::opt_string_list(e, "tools"));
    CUSTODY_ASSIGN(n.expires_at, http::opt_time(e, "expires_at"));
    CUSTODY_ASSIGN(auto why, http::opt_string(e, "justification"));
    n.justification = why.value_or("granted at registration of a discovered component");
    r.entitlements.push_back(std::move(n));
  }
  return r;
}

bool wants_csv(const Request& req, const std::string& format) {
  if (format == "csv") return true;
  if (format == "json") return false;
  return req.header("Accept").find("text/csv") != std::string_view::npos;
}

void add_admin(http::Router& router, ApiContext& api) {
  router.add("GET", "/api/v1/discovery/findings", [&api](Request& req, Responder respond) {
    auto filter = std::make_shared<inventory::FindingFilter>();
    auto validate = [&api, &req, filter]() -> Status {
      CUSTODY_ASSIGN(*filter, parse_filter(req, api.config));
      return ok_status();
    };
    read_operation(api, req, respond, "discovery.list", "", validate,
                   [filter](store::Tx& tx, const directory::OpContext& ctx) -> Result<Response> {
                     inventory::FindingFilter f = *filter;
                     f.limit += 1;
                     CUSTODY_ASSIGN(auto list, inventory::list_findings(tx, ctx, f));
                     json items = json::array();
                     std::size_t shown = std::min<std::size_t>(list.size(), filter->limit);
                     for (std::size_t i = 0; i < shown; ++i)
                       items.push_back(inventory::to_json(list[i]));
                     json body = {{"items", items}};
                     if (list.size() > shown) body["next_cursor"] = list[shown - 1].identity.id;
                     return http::json_response(200, body);
                   });
  });

  router.add("GET", "/api/v1/discovery/findings/{id}", [&api](Request& req, Responder respond) {
    std::string id(req.param("id"));
    read_operation(api, req, respond, "discovery.read", id, nullptr,
                   [id](store::Tx& tx, const directory::OpContext& ctx) -> Result<Response> {
                     CUSTODY_ASSIGN(auto f, inventory::get_finding(tx, ctx, id));
                     return http::json_response(200, inventory::to_json(f));
                   });
  });

  router.add("POST", "/api/v1/discovery/findings/{id}/register",
             [&api](Request& req, Responder respond) {
               std::string id(req.param("id"));
               auto in = std::make_shared<inventory::Registration>();
               auto validate = [&api, &req, in]() -> Status {
                 if (req.body().empty()) return ok_status();
                 CUSTODY_ASSIGN(auto body, json_body(api, req));
                 CUSTODY_ASSIGN(*in, parse_registration(body));
                 return ok_status();
               };
               write_operation(
                   api, req, respond, "discovery.register", id, validate,
                   [id, in](store::Tx& tx, const directory::OpContext& ctx) -> Result<Response> {
                     CUSTODY_ASSIGN(auto f, inventory::register_finding(tx, ctx, id, *in));
                     return http::json_response(200, inventory::to_json(f));
                   });
             });

  router.add(
      "POST", "/api/v1/discovery/findings/{id}/reject", [&api](Request& req, Responder respond) {
        std::string id(req.param("id"));
        auto reason = std::make_shared<std::string>();
        auto validate = [&api, &req, reason]() -> Status {
          CUSTODY_ASSIGN(auto body, json_body(api, req));
          CUSTODY_TRY(http::check_members(body, {"reason"}));
          CUSTODY_ASSIGN(*reason, http::req_string(body, "reason"));
          if (reason->empty() || reason->size() > 2000)
            return Error::invalid("reason is 1..2000 characters", "reason");
          return ok_status();
        };
        write_operation(
            api, req, respond, "discovery.reject", id, validate,
            [id, reason](store::Tx& tx, const directory::OpContext& ctx) -> Result<Response> {
              CUSTODY_ASSIGN(auto f, inventory::reject_finding(tx, ctx, id, *reason));
              return http::json_response(200, inventory::to_json(f));
            });
      });

  router.add("GET", "/api/v1/inventory/shadow", [&api](Request& req, Responder respond) {
    auto csv = std::make_shared<bool>(false);
    auto validate = [&req, csv]() -> Status {
      CUSTODY_ASSIGN(auto query, http::parse_query(req.query));
      std::string format;
      for (const auto& [name, value] : query) {
        if (name != "format")
          return Error::invalid("unknown query parameter \"" + name + "\"", name);
        if (value != "json" && value != "csv")
          return Error::invalid("format must be json or csv", "format");
        format = value;
      }
      *csv = wants_csv(req, format);
      return ok_status();
    };
    read_operation(api, req, respond, "inventory.shadow", "", validate,
                   [csv](store::Tx& tx, const directory::OpContext& ctx) -> Result<Response> {
                     CUSTODY_ASSIGN(auto rows, inventory::shadow_inventory(tx, ctx));
                     if (*csv) {
                       Response r;
                       r.status = 200;
                       r.content_type = "text/csv; charset=utf-8";
                       r.body = inventory::shadow_csv(rows);
                       r.header("Content-Disposition", "attachment; filename=\"shadow.csv\"");
                       return r;
                     }
                     json items = json::array();
                     for (const auto& row : rows) items.push_back(inventory::to_json(row));
                     return http::json_response(
                         200, {{"generated_at", format_rfc3339(ctx.now)}, {"items", items}});
                   });
  });
}

}  // namespace

void add_discovery_routes(http::Router& router, ApiContext& api) {
  add_upload(router, api);
  add_admin(router, api);
}

}  // namespace custody::api
