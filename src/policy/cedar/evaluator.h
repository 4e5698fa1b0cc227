// Evaluation of Cedar expressions and policies against one request and an entity store.
//
// Semantics follow the Cedar reference (cedar-policy/cedar and its Lean specification): 64-bit
// integer arithmetic with overflow as an error, short-circuit && / || / if, `in` over the
// transitive entity hierarchy, type errors for ill-typed operands, and the extension functions of
// ipaddr, decimal, datetime and duration. An Evaluator holds references only; it is cheap to make
// one per request. It does not allocate except for values the policy itself builds.
#pragma once

#include <algorithm>
#include <string>
#include <vector>

#include "common/result.h"
#include "policy/cedar/ast.h"
#include "policy/cedar/entities.h"
#include "policy/cedar/value.h"

namespace custody::cedar {

// Results of shared boolean subexpressions (Expr::memo) during one authorization. Reused across
// requests by bumping the generation instead of clearing.
struct EvaluationMemo {
  std::vector<uint32_t> stamp;  // == generation: value[i] is known for this request
  std::vector<uint8_t> value;
  uint32_t generation = 0;
  // Prepares for a new request needing `slots` slots.
  void start(std::size_t slots) {
    if (stamp.size() < slots) {
      stamp.resize(slots, 0);
      value.resize(slots, 0);
    }
    if (++generation == 0) {
      std::fill(stamp.begin(), stamp.end(), 0);
      generation = 1;
    }
  }
};

struct Request {
  EntityUid principal;
  EntityUid action;
  EntityUid resource;
  Value context = Value::record({});  // must be a record
};

class Evaluator {
 public:
  // `memo` (optional) must have been start()ed for this request and the policy set's slot count.
  Evaluator(const Request& request, const EntityStore& entities, EvaluationMemo* memo = nullptr)
      : memo_(memo),
        request_(request),
        entities_(entities),
        principal_(request.principal),
        action_(request.action),
        resource_(request.resource),
        principal_entity_(entities.find(request.principal)),
        resource_entity_(entities.find(request.resource)) {}

  // Value of an expression; an evaluation error (type error, overflow, missing attribute or
  // entity, bad extension argument) comes back as an invalid-argument Error naming the cause.
  Result<Value> evaluate(const Expr& expr) const;

  // Whether the policy is satisfied: its scope matches and every `when` holds and no `unless`
  // does. Errors as for evaluate(). Templates (unlinked slots) never match.
  Result<bool> satisfied(const Policy& policy) const;

  // The scope alone (never errors).
  bool scope_matches(const Policy& policy) const;

  // Whether the conditions [begin, end) hold (every `when` true, no `unless` true), for a policy
  // whose scope is already known to match.
  Result<bool> conditions_hold(const Condition* begin, const Condition* end) const;

 private:
  Value eval(const Expr& e) const;  // throws EvalError (internal to evaluator.cc)
  // Like eval, but returns a reference to the value where it already exists (a literal, the
  // request, an entity attribute) instead of copying it; a computed value is stored in `scratch`.
  // The reference is valid while `scratch` and the request and entity store live.
  const Value& ref(const Expr& e, Value& scratch) const;
  // `key` is an interned attribute name (Expr::type_key()).
  const Value& attribute_ref(const Value& target, const std::string* key) const;
  bool eval_bool(const Expr& e) const;
  bool eval_bool_uncached(const Expr& e) const;
  EvaluationMemo* memo_;
  Value call(const Expr& e) const;
  Value binary(ExprKind kind, const Value& a, const Value& b) const;
  // ==, !=, <, <=, >, >= and in: the operators whose value is a boolean of two operands.
  bool relation(ExprKind kind, const Value& a, const Value& b) const;
  bool in(const Value& lhs, const Value& rhs) const;

  const Request& request_;
  const EntityStore& entities_;
  // The request's uids as values, so that `principal` etc. evaluate without building one.
  Value principal_, action_, resource_;
  // Most attribute accesses are on the principal or the resource: look them up once.
  const Entity* principal_entity_;
  const Entity* resource_entity_;
  const Entity* find_entity(const EntityUid& uid) const {
    if (uid == request_.principal) return principal_entity_;
    if (uid == request_.resource) return resource_entity_;
    return entities_.find(uid);
  }
};

// Cedar's `like`: `*` matches any sequence of characters.
bool wildcard_match(std::string_view text, const std::vector<PatternElement>& pattern);

}  // namespace custody::cedar
