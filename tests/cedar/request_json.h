// Helpers shared by the Cedar test drivers (corpus_runner.cc, differential/cedar_eval.cc): a
// request from the JSON shape of the conformance corpus and of cedar-wasm's isAuthorized call,
// and a response reduced to what those oracles state (decision, determining and erroring policy
// ids; error messages differ between implementations and are not compared).
#pragma once

#include <nlohmann/json.hpp>
#include <set>
#include <string>

#include "policy/cedar/authorizer.h"
#include "policy/cedar/entities_json.h"
#include "policy/cedar/schema.h"

namespace custody::cedar::testing {

// {"principal": uid, "action": uid, "resource": uid, "context": {...}} where a uid is
// {"type", "id"} or {"__entity": {...}}; a missing context is the empty record. With a schema the
// context is read by the action's context type (see context_from_json).
inline Result<Request> request_from_json(const nlohmann::json& r, const Schema* schema) {
  if (!r.is_object()) return Error::invalid("request is not an object");
  Request request;
  CUSTODY_ASSIGN(request.principal, entity_uid_from_json(r.value("principal", nlohmann::json())));
  CUSTODY_ASSIGN(request.action, entity_uid_from_json(r.value("action", nlohmann::json())));
  CUSTODY_ASSIGN(request.resource, entity_uid_from_json(r.value("resource", nlohmann::json())));
  CUSTODY_ASSIGN(request.context, context_from_json(r.value("context", nlohmann::json::object()),
                                                    schema, request.action));
  return request;
}

struct Answer {
  std::string decision;  // "allow" or "deny", as the corpus and cedar-wasm spell it
  std::set<std::string> reasons;
  std::set<std::string> errors;
};

inline Answer answer_of(const Response& response) {
  Answer a{response.decision == Decision::kAllow ? "allow" : "deny", {}, {}};
  for (const auto* p : response.reasons) a.reasons.insert(p->id);
  for (const auto& e : response.errors) a.errors.insert(e.policy->id);
  return a;
}

}  // namespace custody::cedar::testing
