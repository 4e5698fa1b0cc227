// The OpenID AuthZEN Authorization API 1.0 wire format (docs/authzen.md): requests of the
// evaluation and evaluations endpoints into PDP questions, decisions into response bodies, and
// the /.well-known/authzen-configuration document. Pure JSON mapping; no HTTP, no store.
//
// Responses are exactly what AuthZEN defines: {"decision": bool} per question. Only when the
// caller opts in (options.custody_explain = true) does a decision carry a "context" with the
// determining policies ("reasons") and the policies that failed to evaluate ("errors").
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/result.h"
#include "policy/pdp.h"

namespace custody::policy {

enum class EvaluationsSemantic { kExecuteAll, kDenyOnFirstDeny, kPermitOnFirstPermit };

struct EvaluationRequest {
  std::vector<Question> questions;
  // True for /access/v1/evaluation, and for an evaluations request without items (AuthZEN:
  // then it is one evaluation and the response is a single decision).
  bool single = false;
  EvaluationsSemantic semantic = EvaluationsSemantic::kExecuteAll;
  bool explain = false;
};

// POST /access/v1/evaluation: {subject, action, resource, context?}. A missing or malformed
// subject/action/resource member is kInvalidArgument naming it (e.g. "subject.id"). Unknown
// members are ignored, as AuthZEN requires.
Result<EvaluationRequest> parse_evaluation(const nlohmann::json& body);

// POST /access/v1/evaluations: top-level subject/action/resource/context are defaults that each
// item of "evaluations" may override (member by member: an item's subject replaces the default
// subject whole); options.evaluations_semantic selects when to stop. Errors name the item
// ("evaluations[2].subject.type").
Result<EvaluationRequest> parse_evaluations(const nlohmann::json& body);

// The response body for a request's decisions (one per evaluated question).
nlohmann::json response_body(const EvaluationRequest& request,
                             const std::vector<Decision>& decisions);

// Whether a batch stops after this decision under `semantic`.
bool stops_after(EvaluationsSemantic semantic, const Decision& decision);

// The PDP metadata document. `issuer` is the PDP's base URL (policy_decision_point).
nlohmann::json authzen_configuration(const std::string& issuer);

}  // namespace custody::policy
