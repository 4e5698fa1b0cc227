// Strict validation of Cedar policies against a schema: every policy must typecheck in every
// request environment (principal type × action × resource type) its scope applies to, and must
// apply to at least one.
//
// The rules follow Cedar's strict-mode typechecker (as specified by the Lean model in
// cedar-policy/cedar-spec): boolean singleton types for short-circuiting, capabilities from `has`
// and `hasTag` guards, least upper bounds without entity-type unions, extension constructors
// only on valid string literals, no empty set literals. Unknown entity types, unknown actions
// and invalid enumerated entity ids are errors. As in Cedar 4.12, a policy whose scope matches no
// action of the schema is an error; a policy that is always false is not (Cedar warns).
//
// Templates are validated with their slots standing for an entity of any type (narrowed only by
// `is`); linked policies are validated as they are. Pure and thread-safe.
#pragma once

#include <string>
#include <vector>

#include "common/result.h"
#include "policy/cedar/evaluator.h"
#include "policy/cedar/policy_set.h"
#include "policy/cedar/schema.h"

namespace custody::cedar {

struct ValidationError {
  std::string policy_id;
  std::string message;
};

// All errors of all policies (empty: the policy set validates).
std::vector<ValidationError> validate(const PolicySet& policies, const Schema& schema);

// True when `value` has the schema type `type`: the right kinds, entity types and extension
// types; records with only declared attributes and every required one (what validate_request
// asks of a context, and what context_from_json guarantees).
bool value_conforms(const Value& value, const SchemaType& type);

// Checks a request against the schema: the action is declared and applies to the principal's and
// the resource's types, and the context has the action's context type (exactly its attributes,
// with the declared types). Contexts built by context_from_json with the schema already conform.
Status validate_request(const Request& request, const Schema& schema);

}  // namespace custody::cedar
