// GET /api/v1/audit: the audit events, newest first, with filters and cursor pagination.
#include "api/operation.h"
#include "api/query.h"
#include "api/routes.h"
#include "audit/events.h"
#include "http/problem.h"

namespace custody::api {
namespace {

using http::Request;
using http::Responder;
using http::Response;

Result<audit::EventFilter> parse_filter(const Request& req, const Config& config) {
  audit::EventFilter f;
  CUSTODY_ASSIGN(auto query, http::parse_query(req.query));
  for (const auto& [name, value] : query) {
    if (name == "actor")
      f.actor = value;
    else if (name == "target")
      f.target = value;
    else if (name == "action")
      f.action = value;
    else if (name == "outcome")
      f.outcome = value;
    else if (name == "since") {
      CUSTODY_ASSIGN(f.since, parse_time(value, "since"));
    } else if (name == "until") {
      CUSTODY_ASSIGN(f.until, parse_time(value, "until"));
    } else if (name == "limit") {
      CUSTODY_ASSIGN(f.limit, parse_limit(value, config));
    } else if (name == "cursor") {
      CUSTODY_ASSIGN(f.before_seq, audit::decode_cursor(value));
    } else
      return Error::invalid("unknown query parameter \"" + name + "\"", name);
  }
  return f;
}

}  // namespace

void add_audit_routes(http::Router& router, ApiContext& api) {
  router.add("GET", "/api/v1/audit", [&api](Request& req, Responder respond) {
    auto filter = std::make_shared<audit::EventFilter>();
    auto validate = [&api, &req, filter]() -> Status {
      CUSTODY_ASSIGN(*filter, parse_filter(req, api.config));
      return ok_status();
    };
    read_operation(api, req, respond, "audit.list", "", validate,
                   [filter](store::Tx& tx, const directory::OpContext& ctx) -> Result<Response> {
                     if (ctx.who.role == directory::Role::kOwner)
                       return Error::denied("owner tokens may not read the audit log");
                     CUSTODY_ASSIGN(auto page, audit::list(tx, *filter));
                     nlohmann::json items = nlohmann::json::array();
                     for (const auto& e : page.items) items.push_back(audit::to_json(e));
                     nlohmann::json body = {{"items", std::move(items)}, {"next_cursor", nullptr}};
                     if (page.next_cursor) body["next_cursor"] = *page.next_cursor;
                     return http::json_response(200, body);
                   });
  });
}

}  // namespace custody::api
