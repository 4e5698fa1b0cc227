// The OpenID AuthZEN Authorization API 1.0 (docs/authzen.md):
//   POST /access/v1/evaluation              one decision
//   POST /access/v1/evaluations             a batch, with AuthZEN's evaluation semantics
//   GET  /.well-known/authzen-configuration the PDP's metadata
//
// Callers (PEPs) authenticate with a bearer token: a custody access token with the pdp.scope
// scope and the pdp.audience audience (default: the issuer), not revoked; or an admin API token of
// the admin role. A deny is 200 {"decision": false}; 4xx/5xx only for a bad request or caller.
//
// Auditing: a request with at least one deny writes one audit event (outcome "deny", the denied
// questions in its details) and answers only once it is durable; a request of permits only does
// so for pdp.audit_permit_percent of requests, and otherwise answers at once.
#include <random>

#include "api/operation.h"
#include "api/routes.h"
#include "api/scoped_caller.h"
#include "audit/events.h"
#include "common/log.h"
#include "common/random.h"
#include "http/json_body.h"
#include "http/problem.h"
#include "oauth/service.h"
#include "policy/approvals.h"
#include "policy/authzen.h"
#include "policy/directory_entities.h"
#include "policy/pdp.h"

namespace custody::api {
namespace {

using http::Request;
using http::Responder;
using http::Response;

// Most questions listed in one audit event; the counts always cover all of them.
constexpr std::size_t kMaxAuditedQuestions = 100;

bool sample_permit(std::int64_t percent) {
  if (percent <= 0) return false;
  if (percent >= 100) return true;
  thread_local std::minstd_rand rng([] {
    std::uint32_t seed = 0;
    random_bytes(&seed, sizeof seed);
    return seed;
  }());
  return static_cast<std::int64_t>(rng() % 100) < percent;
}

nlohmann::json ref_json(const policy::EntityRef& ref) {
  return {{"type", ref.type}, {"id", ref.id}};
}

audit::Event decision_event(const policy::EvaluationRequest& request,
                            const std::vector<policy::Decision>& decisions,
                            std::int64_t policy_version, bool denied) {
  audit::Event event;
  event.action = request.single ? "pdp.evaluation" : "pdp.evaluations";
  event.outcome = denied ? "deny" : "permit";
  const auto& first = request.questions.front();
  if (request.single) event.target = first.subject.type + ":" + first.subject.id;
  nlohmann::json listed = nlohmann::json::array();
  std::size_t deny_count = 0;
  for (std::size_t i = 0; i < decisions.size(); ++i) {
    if (!decisions[i].allow) ++deny_count;
    // Denies are listed; permits only when the request had no deny (a sampled permit request).
    if (listed.size() >= kMaxAuditedQuestions || (denied && decisions[i].allow)) continue;
    const auto& q = request.questions[i];
    nlohmann::json item = {{"subject", ref_json(q.subject)},
                           {"action", q.action},
                           {"resource", ref_json(q.resource)},
                           {"decision", decisions[i].allow},
                           {"policies", decisions[i].reasons}};
    if (!request.single) item["index"] = i;
    if (!decisions[i].errors.empty()) {
      nlohmann::json errors = nlohmann::json::array();
      for (const auto& [policy, message] : decisions[i].errors)
        errors.push_back({{"policy", policy}, {"message", message}});
      item["errors"] = errors;
    }
    listed.push_back(std::move(item));
  }
  event.details = {{"policy_version", policy_version},
                   {"evaluated", decisions.size()},
                   {"denied", deny_count},
                   {"decisions", listed}};
  return event;
}

void evaluate(ApiContext& api, Request& req, Responder respond, bool batch) {
  const std::string action = batch ? "pdp.evaluations" : "pdp.evaluation";
  if (api.pdp == nullptr)
    return refuse(api, req, respond, "", action, "",
                  Error::unavailable("the policy decision point is not running"));
  Micros now = api.clock.now();
  std::string actor;
  policy::EvaluationRequest request;
  std::shared_ptr<const policy::PdpSnapshot> snapshot;
  std::vector<std::string> approval_ids;  // per question: the valid approval it carries, or ""
  Result<std::vector<policy::Decision>> decisions = Error::internal("not evaluated");
  Status s = api.store.read([&](store::Tx& tx) -> Status {
    auto who = authenticate_scoped(api, tx, req, now, api.config.pdp.scope, api.config.pdp.audience,
                                   "may ask the policy decision point");
    if (!who.ok()) {
      decisions = who.error();
      return ok_status();
    }
    actor = who->actor;
    auto body = json_body(api, req);
    if (!body.ok()) {
      decisions = body.error();
      return ok_status();
    }
    auto parsed = batch ? policy::parse_evaluations(*body) : policy::parse_evaluation(*body);
    if (!parsed.ok()) {
      decisions = parsed.error();
      return ok_status();
    }
    request = std::move(parsed).value();
    if (request.questions.size() > static_cast<std::size_t>(api.config.pdp.max_evaluations)) {
      decisions = Error::invalid("at most " + std::to_string(api.config.pdp.max_evaluations) +
                                     " evaluations per request (pdp.max_evaluations)",
                                 "evaluations");
      return ok_status();
    }
    // A question that carries the id of a valid approval of exactly itself has its @approval
    // policies waived (the approval is consumed when the decision commits).
    approval_ids.assign(request.questions.size(), std::string());
    for (std::size_t i = 0; i < request.questions.size(); ++i) {
      auto& q = request.questions[i];
      auto id = q.context.find("approval_id");
      if (id == q.context.end() || !id->is_string()) continue;
      auto valid = policy::approval_valid(tx, id->get<std::string>(), q, now);
      if (!valid.ok()) {
        decisions = valid.error();
        return ok_status();
      }
      q.approved = *valid;
      if (*valid) approval_ids[i] = id->get<std::string>();
      // approval_id is custody's, not a Cedar context attribute the schema would declare.
      q.context.erase("approval_id");
    }
    snapshot = api.pdp->snapshot();
    policy::DirectoryEntities directory(tx, now);
    auto semantic = request.semantic;
    decisions = api.pdp->decide(
        *snapshot, directory, request.questions,
        [semantic](const policy::Decision& d) { return policy::stops_after(semantic, d); });
    if (!decisions.ok() && !batch) {
      // Single evaluations have no index; batch errors name the item.
      Error e = decisions.error();
      e.details.erase("index");
      decisions = std::move(e);
    } else if (!decisions.ok()) {
      Error e = decisions.error();
      auto index = e.details.find("index");
      if (index != e.details.end()) {
        e.field = "evaluations[" + index->second + "]." + e.field;
        e.message = "evaluations[" + index->second + "]." + e.message;
        e.details.erase(index);
      }
      decisions = std::move(e);
    }
    return ok_status();
  });
  if (!s.ok()) decisions = s.error();
  if (!decisions.ok()) return refuse(api, req, respond, actor, action, "", decisions.error());

  bool denied = std::any_of(decisions->begin(), decisions->end(),
                            [](const policy::Decision& d) { return !d.allow; });
  bool checkpoint = false;  // an approval to request or to consume
  for (std::size_t i = 0; i < decisions->size(); ++i)
    checkpoint |=
        !(*decisions)[i].approval.empty() || (!approval_ids[i].empty() && (*decisions)[i].allow);
  if (!denied && !checkpoint && !sample_permit(api.config.pdp.audit_permit_percent))
    return respond(http::json_response(200, policy::response_body(request, *decisions)));

  // The write: approvals requested (found or created) and consumed, and the audit event, in one
  // commit before the answer.
  struct State {
    policy::EvaluationRequest request;
    std::vector<policy::Decision> decisions;
    std::vector<std::string> approval_ids;
  };
  auto state = std::make_shared<State>(
      State{std::move(request), std::move(decisions).value(), std::move(approval_ids)});
  Micros ttl = api.config.pdp.approval_ttl_seconds * kMicrosPerSecond;
  std::int64_t policy_version = snapshot->policy_version;
  api.store.write(
      [state, now, ttl, actor, policy_version, rid = req.request_id](store::Tx& tx) -> Status {
        nlohmann::json used = nlohmann::json::array(), requested = nlohmann::json::array();
        for (std::size_t i = 0; i < state->decisions.size(); ++i) {
          auto& d = state->decisions[i];
          const auto& q = state->request.questions[i];
          if (!state->approval_ids[i].empty() && d.allow) {
            if (policy::consume_approval(tx, state->approval_ids[i], now).ok()) {
              used.push_back(state->approval_ids[i]);
            } else {
              // Another decision used it first: single use means this one is denied.
              d.allow = false;
              d.reasons.clear();
              d.errors.emplace_back("", "approval " + state->approval_ids[i] + " was used");
            }
          }
          if (!d.approval.empty()) {
            CUSTODY_ASSIGN(auto a, policy::request_approval(tx, q, d.approval, actor, now, ttl));
            d.checkpoint = {{"id", a.id},
                            {"approver", a.approver},
                            {"expires_at", format_rfc3339(a.expires_at)},
                            {"labels", d.approval}};
            requested.push_back(a.id);
          }
        }
        bool any_deny = std::any_of(state->decisions.begin(), state->decisions.end(),
                                    [](const policy::Decision& d) { return !d.allow; });
        audit::Event event =
            decision_event(state->request, state->decisions, policy_version, any_deny);
        event.time = now;
        event.actor = actor;
        event.request_id = rid;
        if (!used.empty()) event.details["approvals_used"] = used;
        if (!requested.empty()) event.details["approvals_requested"] = requested;
        return audit::append(tx, event);
      },
      [respond, state, rid = req.request_id](Status st) {
        if (!st.ok()) {
          // The decision cannot be recorded durably: fail closed.
          log::error("could not audit a policy decision",
                     {{"request_id", rid}, {"error", st.error().message}});
          Response r;
          r.status = 503;
          r.content_type = "application/problem+json";
          r.body = nlohmann::json{
              {"type", "https://custody.dev/problems/unavailable"},
              {"title", "Service Unavailable"},
              {"status", 503},
              {"detail", "the decision could not be recorded"},
              {"request_id",
               rid}}.dump();
          r.header("Retry-After", "1");
          return respond(std::move(r));
        }
        respond(http::json_response(200, policy::response_body(state->request, state->decisions)));
      });
}

}  // namespace

void add_authzen_routes(http::Router& router, ApiContext& api) {
  router.add("POST", "/access/v1/evaluation",
             [&api](Request& req, Responder respond) { evaluate(api, req, respond, false); });
  router.add("POST", "/access/v1/evaluations",
             [&api](Request& req, Responder respond) { evaluate(api, req, respond, true); });
  router.add("GET", "/.well-known/authzen-configuration", [&api](Request&, Responder respond) {
    oauth::Service* service = api.oauth.load();
    if (service == nullptr)
      return respond(http::json_response(503, {{"error", "the server is starting"}}));
    Response r =
        http::json_response(200, policy::authzen_configuration(service->settings().issuer));
    r.header("Cache-Control", "public, max-age=60");
    respond(std::move(r));
  });
}

}  // namespace custody::api
