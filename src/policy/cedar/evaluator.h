// Evaluation of Cedar expressions and policies against one request and an entity store.
//
// Semantics follow the Cedar reference (cedar-policy/cedar and its Lean specification): 64-bit
// integer arithmetic with overflow as an error, short-circuit && / || / if, `in` over the
// transitive entity hierarchy, type errors for ill-typed operands, and the extension functions of
// ipaddr, decimal, datetime and duration. An Evaluator holds references only; it is cheap to make
// one per request. It does not allocate except for values the policy itself builds.
#pragma once

#include <string>

#include "common/result.h"
#include "policy/cedar/ast.h"
#include "policy/cedar/entities.h"
#include "policy/cedar/value.h"

namespace custody::cedar {

struct Request {
  EntityUid principal;
  EntityUid action;
  EntityUid resource;
  Value context = Value::record({});  // must be a record
};

class Evaluator {
 public:
  Evaluator(const Request& request, const EntityStore& entities)
      : request_(request), entities_(entities) {}

  // Value of an expression; an evaluation error (type error, overflow, missing attribute or
  // entity, bad extension argument) comes back as an invalid-argument Error naming the cause.
  Result<Value> evaluate(const Expr& expr) const;

  // Whether the policy is satisfied: its scope matches and every `when` holds and no `unless`
  // does. Errors as for evaluate(). Templates (unlinked slots) never match.
  Result<bool> satisfied(const Policy& policy) const;

  // The scope alone (never errors).
  bool scope_matches(const Policy& policy) const;

 private:
  Value eval(const Expr& e) const;  // throws EvalError (internal to evaluator.cc)
  bool eval_bool(const Expr& e) const;
  Value call(const Expr& e) const;
  Value attribute(const Value& target, const std::string& name) const;
  bool in(const Value& lhs, const Value& rhs) const;

  const Request& request_;
  const EntityStore& entities_;
};

// Cedar's `like`: `*` matches any sequence of characters.
bool wildcard_match(std::string_view text, const std::vector<PatternElement>& pattern);

}  // namespace custody::cedar
