// Human checkpoints (docs/approvals.md):
//   GET  /api/v1/approvals[?status=pending|approved|denied|used&cursor&limit]
//   GET  /api/v1/approvals/{id}
//   POST /api/v1/approvals/{id}/approve   {reason?}
//   POST /api/v1/approvals/{id}/deny      {reason?}
//   POST /api/v1/approvals/{id}/callback?decision=approve|deny&sig=…   (no token: the signed link
//        from the approver's webhook, policy/approval_callbacks.h)
// Admins see and decide everything; an owner-role token sees and decides the approvals routed to
// its human. Separation of duties is enforced by policy::decide_approval.
#include "api/operation.h"
#include "api/query.h"
#include "api/routes.h"
#include "audit/events.h"
#include "directory/access.h"
#include "http/json_body.h"
#include "http/problem.h"
#include "policy/approval_callbacks.h"
#include "policy/approvals.h"

namespace custody::api {
namespace {

using http::Request;
using http::Responder;
using http::Response;

bool may_see(const directory::Principal& who, const policy::Approval& a) {
  if (who.role != directory::Role::kOwner) return true;
  return who.human_id && *who.human_id == a.approver;
}

void add_decision(http::Router& router, ApiContext& api, const char* verb, bool approve) {
  router.add("POST", std::string("/api/v1/approvals/{id}/") + verb,
             [&api, approve, verb](Request& req, Responder respond) {
               std::string id(req.param("id"));
               auto reason = std::make_shared<std::string>();
               write_operation(
                   api, req, respond, std::string("approval.") + verb, id,
                   validate_reason(api, req, reason, "", EmptyReason::kAccepted),
                   [id, approve, reason](store::Tx& tx,
                                         const directory::OpContext& ctx) -> Result<Response> {
                     CUSTODY_ASSIGN(auto a, policy::decide_approval(tx, id, approve, ctx.who,
                                                                    *reason, ctx.now));
                     CUSTODY_TRY(directory::access::record(
                         tx, ctx, approve ? "approval.approve" : "approval.deny", id,
                         {{"subject_id", a.subject_id},
                          {"question", a.question},
                          {"labels", a.labels},
                          {"reason", *reason}}));
                     return http::json_response(200, policy::to_json(a, ctx.now));
                   });
             });
}

// The signed callback: decides as the approver the link names, refusing forged, altered,
// expired and replayed links (each refusal audited as approval.callback under the approver).
void add_callback(http::Router& router, ApiContext& api) {
  router.add("POST", "/api/v1/approvals/{id}/callback", [&api](Request& req, Responder respond) {
    std::string id(req.param("id"));
    std::string actor = "anonymous";
    Status found = api.store.read([&](store::Tx& tx) -> Status {
      auto a = policy::get_approval(tx, id);
      if (a.ok()) actor = a->approver;
      return ok_status();
    });
    (void)found;  // an unreadable approval is refused below, inside the write
    auto refuse_now = [&](const Error& e) {
      refuse(api, req, respond, actor, "approval.callback", id, e);
    };
    auto query = http::parse_query(req.query);
    if (!query.ok()) return refuse_now(query.error());
    std::string decision, sig;
    for (const auto& [name, value] : *query) {
      if (name == "decision") {
        decision = value;
      } else if (name == "sig") {
        sig = value;
      } else {
        return refuse_now(Error::invalid("unknown query parameter \"" + name + "\"", name));
      }
    }
    if (decision != "approve" && decision != "deny")
      return refuse_now(Error::invalid("decision must be approve or deny", "decision"));
    if (sig.empty()) return refuse_now(Error::invalid("sig is required", "sig"));
    signed_write(api, req, respond, actor, "approval.callback", id,
                 [&api, id, decision, sig](store::Tx& tx, const std::string& request_id,
                                           Micros now) -> Result<Response> {
                   CUSTODY_ASSIGN(
                       auto a, policy::decide_by_callback(tx, api.hasher, id, decision, sig, now));
                   audit::Event event;
                   event.time = now;
                   event.actor = a.decided_by.value_or(a.approver);
                   event.action = decision == "approve" ? "approval.approve" : "approval.deny";
                   event.target = a.id;
                   event.outcome = "success";
                   event.request_id = request_id;
                   event.details = {{"subject_id", a.subject_id},
                                    {"question", a.question},
                                    {"labels", a.labels},
                                    {"reason", a.decision_reason.value_or("")},
                                    {"via", "signed_callback"}};
                   CUSTODY_TRY(audit::append(tx, event));
                   return http::json_response(200, policy::to_json(a, now));
                 });
  });
}

}  // namespace

void add_approval_routes(http::Router& router, ApiContext& api) {
  router.add("GET", "/api/v1/approvals", [&api](Request& req, Responder respond) {
    struct Query {
      std::optional<std::string> status, cursor;
      int limit = 100;
    };
    auto q = std::make_shared<Query>();
    auto validate = [&api, &req, q]() -> Status {
      CUSTODY_ASSIGN(auto query, http::parse_query(req.query));
      for (const auto& [name, value] : query) {
        if (name == "status") {
          if (value != "pending" && value != "approved" && value != "denied" && value != "used")
            return Error::invalid("status must be pending, approved, denied or used", "status");
          q->status = value;
        } else if (name == "cursor") {
          q->cursor = value;
        } else if (name == "limit") {
          CUSTODY_ASSIGN(q->limit, parse_limit(value, api.config));
        } else {
          return Error::invalid("unknown query parameter \"" + name + "\"", name);
        }
      }
      return ok_status();
    };
    read_operation(api, req, respond, "approval.list", "", validate,
                   [q](store::Tx& tx, const directory::OpContext& ctx) -> Result<Response> {
                     CUSTODY_ASSIGN(auto list,
                                    policy::list_approvals(tx, q->status, q->limit + 1, q->cursor));
                     nlohmann::json items = nlohmann::json::array();
                     std::size_t shown = std::min<std::size_t>(list.size(), q->limit);
                     for (std::size_t i = 0; i < shown; ++i)
                       if (may_see(ctx.who, list[i]))
                         items.push_back(policy::to_json(list[i], ctx.now));
                     nlohmann::json body = {{"items", items}};
                     if (list.size() > shown) body["next_cursor"] = list[shown - 1].id;
                     return http::json_response(200, body);
                   });
  });

  router.add("GET", "/api/v1/approvals/{id}", [&api](Request& req, Responder respond) {
    std::string id(req.param("id"));
    read_operation(api, req, respond, "approval.read", id, nullptr,
                   [id](store::Tx& tx, const directory::OpContext& ctx) -> Result<Response> {
                     CUSTODY_ASSIGN(auto a, policy::get_approval(tx, id));
                     if (!may_see(ctx.who, a))
                       return Error::not_found("approval " + id + " not found");
                     return http::json_response(200, policy::to_json(a, ctx.now));
                   });
  });

  add_decision(router, api, "approve", true);
  add_decision(router, api, "deny", false);
  add_callback(router, api);
}

}  // namespace custody::api
