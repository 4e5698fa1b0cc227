// The syntax tree of Cedar policies, as produced by the parser and walked by the evaluator.
//
// Trees are immutable after parsing and may be shared by many threads evaluating at once.
#pragma once

#include <map>
#include <memory>
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

// Rarely used parts of an expression node, kept out of line so that nodes stay small: the
// evaluator's speed on large policy sets is bound by how many nodes fit in the CPU caches.
struct ExprData {
  Value literal;                        // kLiteral
  std::vector<std::string> names;       // record keys (kRecord), parallel to children
  std::vector<PatternElement> pattern;  // kLike
};

// One node of an expression tree (64 bytes). Copyable; copies share their ExprData.
struct Expr {
  ExprKind kind = ExprKind::kLiteral;
  Var var = Var::kPrincipal;
  Function function = Function::kContains;
  int depth = 1;  // height of this tree; the parser refuses trees deeper than its limit
  // 1 + the memo slot of a boolean subexpression that occurs in several policies of a PolicySet
  // (0: none). Within one authorization such a subexpression is evaluated once.
  uint32_t memo = 0;
  std::vector<Expr> children;

  // kHas, kGetAttr: the attribute name; kIs: the entity type. Interned (see
  // EntityUid::intern_type), so for kIs, &uid.type() == type_key() tests the type.
  const std::string& name() const { return *name_; }
  const std::string* type_key() const { return name_; }
  void set_name(std::string_view name) { name_ = EntityUid::intern_type(name); }

  const Value& literal() const { return data_->literal; }
  const std::vector<std::string>& names() const { return data_->names; }
  const std::vector<PatternElement>& pattern() const { return data_->pattern; }
  void set_literal(Value v) { mutable_data().literal = std::move(v); }
  void set_names(std::vector<std::string> n) { mutable_data().names = std::move(n); }
  void set_pattern(std::vector<PatternElement> p) { mutable_data().pattern = std::move(p); }

 private:
  ExprData& mutable_data() {
    auto copy = std::make_shared<ExprData>(data_ ? *data_ : ExprData{});
    data_ = copy;
    return *copy;
  }
  const std::string* name_ = empty_name();
  std::shared_ptr<const ExprData> data_ = empty_data();
  static const std::string* empty_name() {
    static const std::string* empty = EntityUid::intern_type("");
    return empty;
  }
  static const std::shared_ptr<const ExprData>& empty_data() {
    static const auto* empty = new std::shared_ptr<const ExprData>(std::make_shared<ExprData>());
    return *empty;
  }
};

static_assert(sizeof(Expr) <= 64, "expression nodes should stay within one cache line");

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
