// Authorization with exact Cedar semantics: a request is allowed when at least one permit policy
// is satisfied and no forbid policy is; otherwise denied (default deny, forbid overrides permit).
// A policy whose evaluation errors is skipped (neither permits nor forbids) and reported.
//
// is_authorized() is a pure function of its arguments; the policy set and entity store are only
// read, so any number of threads may call it at once.
#pragma once

#include <string>
#include <vector>

#include "policy/cedar/entities.h"
#include "policy/cedar/evaluator.h"
#include "policy/cedar/policy_set.h"

namespace custody::cedar {

enum class Decision : uint8_t { kAllow, kDeny };

struct PolicyError {
  const Policy* policy;
  std::string message;
};

struct Response {
  Decision decision = Decision::kDeny;
  // The determining policies: the satisfied forbids when any, else the satisfied permits (empty on
  // default deny). Pointers into the PolicySet, valid while it lives and is not modified.
  std::vector<const Policy*> reasons;
  std::vector<PolicyError> errors;  // policies whose evaluation failed, with the reason
};

Response is_authorized(const Request& request, const PolicySet& policies,
                       const EntityStore& entities);

}  // namespace custody::cedar
