// The syntax tree of Cedar policies, as produced by the parser and walked by the evaluator.
//
// Trees are immutable after parsing and may be shared by many threads evaluating at once.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "policy/cedar/value.h"

namespace custody::cedar {

enum class Var : uint8_t { kPrincipal, kAction, kResource, kContext };
enum class Slot : uint8_t { kPrincipal, kResource };

// Functions and methods that are not operators. Built-in ones (contains, ...) are checked for arity
// by the parser; extension ones check arity when called, because Cedar reports a wrong number of
// arguments to an extension function as an evaluation error.
enum class Function : uint8_t {
  kContains,
  kContainsAll,
  kContainsAny,
  kIsEmpty,
  kHasTag,
  kGetTag,
  // Extension constructors.
  kIp,
  kDecimal,
  kDatetime,
  kDuration,
  // ipaddr methods.
  kIsIpv4,
  kIsIpv6,
  kIsLoopback,
  kIsMulticast,
  kIsInRange,
  // decimal methods.
  kLessThan,
  kLessThanOrEqual,
  kGreaterThan,
  kGreaterThanOrEqual,
  // datetime and duration methods.
  kOffset,
  kDurationSince,
  kToDate,
  kToTime,
  kToDays,
  kToHours,
  kToMinutes,
  kToSeconds,
  kToMilliseconds,
};

enum class ExprKind : uint8_t {
  kLiteral,  // literal
  kVar,      // var
  kSlot,     // slot (only in templates; replaced when linked)
  kNot,      // !a
  kNeg,      // -a
  kAnd,      // a && b && ... (chains are flattened so that long ones do not nest)
  kOr,       // a || b || ...
  kIf,       // if a then b else c
  kEq,       // a == b
  kNe,       // a != b
  kLt,       // a < b
  kLe,       // a <= b
  kGt,       // a > b
  kGe,       // a >= b
  kAdd,      // a + b
  kSub,      // a - b
  kMul,      // a * b
  kIn,       // a in b
  kHas,      // a has name
  kGetAttr,  // a.name, a["name"]
  kLike,     // a like pattern
  kIs,       // a is name [in b]
  kSet,      // [a, b, ...]
  kRecord,   // {name: a, ...} with names in `names`
  kCall,     // function(args) or args[0].function(args[1..])
};

// A `like` pattern: literal runs separated by wildcards.
struct PatternElement {
  bool wildcard = false;
  std::string text;  // when !wildcard
};

struct Expr {
  ExprKind kind = ExprKind::kLiteral;
  Var var = Var::kPrincipal;
  Slot slot = Slot::kPrincipal;
  Function function = Function::kContains;
  Value literal;
  std::string name;                       // attribute name (kHas, kGetAttr) or entity type (kIs)
  const std::string* type_key = nullptr;  // kIs: EntityUid::intern_type(name)
  std::vector<std::string> names;         // record keys (kRecord), parallel to children
  std::vector<PatternElement> pattern;    // kLike
  std::vector<Expr> children;
  int depth = 1;  // height of this tree; the parser refuses trees deeper than its limit
};

// A principal or resource scope constraint.
struct ScopeConstraint {
  enum class Op : uint8_t { kAny, kEq, kIn, kIs, kIsIn };
  Op op = Op::kAny;
  std::string type;                       // kIs, kIsIn
  const std::string* type_key = nullptr;  // EntityUid::intern_type(type)
  std::optional<EntityUid> entity;        // kEq, kIn, kIsIn, when not a slot
  std::optional<Slot> slot;               // ?principal / ?resource in a template
};

struct ActionConstraint {
  enum class Op : uint8_t { kAny, kEq, kIn };
  Op op = Op::kAny;
  std::vector<EntityUid> entities;  // kEq: one; kIn: one or more (`in [..]`)
};

enum class Effect : uint8_t { kPermit, kForbid };

struct Condition {
  bool is_when = true;  // when { } must be true; unless { } must be false
  Expr expr;
};

struct Policy {
  std::string id;
  Effect effect = Effect::kPermit;
  std::map<std::string, std::string> annotations;
  ScopeConstraint principal;
  ActionConstraint action;
  ScopeConstraint resource;
  std::vector<Condition> conditions;
  bool is_template() const { return principal.slot.has_value() || resource.slot.has_value(); }
};

}  // namespace custody::cedar
