#include "policy/cedar/evaluator.h"

#include "policy/cedar/extensions.h"

namespace custody::cedar {
namespace {

// Evaluation errors unwind the recursive walk by exception: a failed subexpression fails the whole
// policy, so there is nothing to do on the way out. The exception never leaves this file
// (evaluate() and satisfied() turn it into an Error), and the non-error path pays nothing for it.
struct EvalError {
  std::string message;
};

[[noreturn]] void fail(std::string message) {
  throw EvalError{std::move(message)};
}

[[noreturn]] void type_error(std::string_view expected, const Value& got) {
  fail("type error: expected " + std::string(expected) + ", got " +
       std::string(kind_name(got.kind())));
}

bool as_bool(const Value& v) {
  if (!v.is_bool()) type_error("bool", v);
  return v.as_bool();
}
int64_t as_long(const Value& v) {
  if (!v.is_long()) type_error("long", v);
  return v.as_long();
}
const SetElements& as_set(const Value& v) {
  if (!v.is_set()) type_error("set", v);
  return v.as_set();
}
const ExtensionValue& as_ext(const Value& v, ExtensionKind kind) {
  if (!v.is_extension() || v.as_extension().kind != kind)
    fail("type error: expected " + std::string(extension_type_name(kind)) + ", got " +
         (v.is_extension() ? std::string(extension_type_name(v.as_extension().kind))
                           : std::string(kind_name(v.kind()))));
  return v.as_extension();
}
int64_t overflow_checked(std::optional<int64_t> r, std::string_view what) {
  if (!r) fail("integer overflow in " + std::string(what));
  return *r;
}

// Comparison operands: two longs, two datetimes or two durations.
int compare_ordered(const Value& a, const Value& b) {
  int64_t x, y;
  if (a.is_long()) {
    x = a.as_long();
    y = as_long(b);
  } else if (a.is_extension() && (a.as_extension().kind == ExtensionKind::kDatetime ||
                                  a.as_extension().kind == ExtensionKind::kDuration)) {
    x = a.as_extension().number;
    y = as_ext(b, a.as_extension().kind).number;
  } else {
    type_error("long, datetime or duration", a);
  }
  return x < y ? -1 : (x > y ? 1 : 0);
}

void check_arity(const Expr& e, std::size_t n, std::string_view name) {
  if (e.children.size() != n)
    fail("wrong number of arguments to " + std::string(name) + ": expected " + std::to_string(n) +
         ", got " + std::to_string(e.children.size()));
}

}  // namespace

bool wildcard_match(std::string_view text, const std::vector<PatternElement>& pattern) {
  // Greedy matching with backtracking to the last wildcard: linear in practice, quadratic at worst.
  std::size_t ti = 0, pi = 0;
  std::size_t star_pi = std::string_view::npos, star_ti = 0;
  // Walk pattern elements; a literal element must match at ti exactly.
  while (true) {
    if (pi == pattern.size()) {
      if (ti == text.size()) return true;
    } else if (pattern[pi].wildcard) {
      star_pi = pi++;
      star_ti = ti;
      continue;
    } else {
      const std::string& lit = pattern[pi].text;
      if (text.compare(ti, lit.size(), lit) == 0 && ti + lit.size() <= text.size()) {
        ti += lit.size();
        ++pi;
        continue;
      }
    }
    // Mismatch: let the last wildcard swallow one more byte, or fail.
    if (star_pi == std::string_view::npos || star_ti >= text.size()) return false;
    ti = ++star_ti;
    pi = star_pi + 1;
  }
}

Result<Value> Evaluator::evaluate(const Expr& expr) const {
  try {
    return eval(expr);
  } catch (EvalError& e) {
    return Error::invalid(std::move(e.message));
  }
}

static bool scope_matches_one(const ScopeConstraint& c, const EntityUid& uid,
                              const EntityStore& entities) {
  switch (c.op) {
    case ScopeConstraint::Op::kAny:
      return true;
    case ScopeConstraint::Op::kEq:
      return c.entity && uid == *c.entity;
    case ScopeConstraint::Op::kIn:
      return c.entity && entities.is_in(uid, *c.entity);
    case ScopeConstraint::Op::kIs:
      return &uid.type() == c.type_key;
    case ScopeConstraint::Op::kIsIn:
      return &uid.type() == c.type_key && c.entity && entities.is_in(uid, *c.entity);
  }
  return false;
}

bool Evaluator::scope_matches(const Policy& p) const {
  if (!scope_matches_one(p.principal, request_.principal, entities_)) return false;
  switch (p.action.op) {
    case ActionConstraint::Op::kAny:
      break;
    case ActionConstraint::Op::kEq:
      if (!(request_.action == p.action.entities[0])) return false;
      break;
    case ActionConstraint::Op::kIn: {
      bool any = false;
      for (const auto& a : p.action.entities) {
        if (entities_.is_in(request_.action, a)) {
          any = true;
          break;
        }
      }
      if (!any) return false;
      break;
    }
  }
  return scope_matches_one(p.resource, request_.resource, entities_);
}

Result<bool> Evaluator::conditions_hold(const Condition* begin, const Condition* end) const {
  try {
    for (const Condition* c = begin; c != end; ++c) {
      if (eval_bool(c->expr) != c->is_when) return false;
    }
    return true;
  } catch (EvalError& e) {
    return Error::invalid(std::move(e.message));
  }
}

Result<bool> Evaluator::satisfied(const Policy& p) const {
  if (!scope_matches(p)) return false;
  return conditions_hold(p.conditions.data(), p.conditions.data() + p.conditions.size());
}

bool Evaluator::eval_bool(const Expr& e) const {
  if (e.memo != 0 && memo_ != nullptr) {
    uint32_t slot = e.memo - 1;
    if (memo_->stamp[slot] == memo_->generation) return memo_->value[slot] != 0;
    bool result = eval_bool_uncached(e);  // an error propagates and is not remembered
    memo_->stamp[slot] = memo_->generation;
    memo_->value[slot] = result ? 1 : 0;
    return result;
  }
  return eval_bool_uncached(e);
}

bool Evaluator::eval_bool_uncached(const Expr& e) const {
  // Conditions are mostly trees of boolean operators over comparisons: answer those without
  // building a Value for every intermediate result.
  const auto& k = e.children;
  switch (e.kind) {
    case ExprKind::kAnd:
      for (const auto& c : k) {
        if (!eval_bool(c)) return false;
      }
      return true;
    case ExprKind::kOr:
      for (const auto& c : k) {
        if (eval_bool(c)) return true;
      }
      return false;
    case ExprKind::kNot:
      return !eval_bool(k[0]);
    case ExprKind::kEq:
    case ExprKind::kNe:
    case ExprKind::kLt:
    case ExprKind::kLe:
    case ExprKind::kGt:
    case ExprKind::kGe:
    case ExprKind::kIn: {
      Value s0, s1;
      const Value& a = ref(k[0], s0);
      const Value& b = ref(k[1], s1);
      return relation(e.kind, a, b);
    }
    default: {
      Value scratch;
      return as_bool(ref(e, scratch));
    }
  }
}

const Value& Evaluator::ref(const Expr& e, Value& scratch) const {
  switch (e.kind) {
    case ExprKind::kLiteral:
      return e.literal();
    case ExprKind::kVar:
      switch (e.var) {
        case Var::kPrincipal:
          return principal_;
        case Var::kAction:
          return action_;
        case Var::kResource:
          return resource_;
        case Var::kContext:
          return request_.context;
      }
      break;
    case ExprKind::kGetAttr: {
      Value inner;
      const Value& target = ref(e.children[0], inner);
      const Value& result = attribute_ref(target, e.type_key());
      // A field of a record computed into `inner` dies with it: copy that one out.
      if (&target == &inner) {
        scratch = result;
        return scratch;
      }
      return result;
    }
    default:
      break;
  }
  scratch = eval(e);
  return scratch;
}

bool Evaluator::in(const Value& lhs, const Value& rhs) const {
  if (!lhs.is_entity()) type_error("entity", lhs);
  const EntityUid& uid = lhs.as_entity();
  if (rhs.is_entity()) return entities_.is_in(uid, rhs.as_entity());
  if (!rhs.is_set()) type_error("entity or set of entities", rhs);
  bool found = false;
  for (const auto& v : rhs.as_set()) {
    if (!v.is_entity()) type_error("entity", v);
    if (!found && entities_.is_in(uid, v.as_entity())) found = true;
  }
  return found;
}

const Value& Evaluator::attribute_ref(const Value& target, const std::string* key) const {
  const RecordFields* fields = nullptr;
  if (target.is_record()) {
    fields = &target.as_record();
  } else if (target.is_entity()) {
    const Entity* entity = find_entity(target.as_entity());
    if (entity == nullptr) fail("entity " + target.as_entity().to_string() + " does not exist");
    fields = &entity->attrs;
  } else {
    type_error("entity or record", target);
  }
  auto it = fields->find(key);
  if (it == fields->end()) fail("attribute '" + *key + "' does not exist");
  return it->second;
}

Value Evaluator::eval(const Expr& e) const {
  const auto& k = e.children;
  switch (e.kind) {
    case ExprKind::kLiteral:
    case ExprKind::kVar:
    case ExprKind::kGetAttr: {
      Value scratch;
      const Value& v = ref(e, scratch);
      return &v == &scratch ? std::move(scratch) : v;
    }
    case ExprKind::kNot:
      return !eval_bool(k[0]);
    case ExprKind::kNeg: {
      Value s0;
      int64_t n = as_long(ref(k[0], s0));
      return overflow_checked(checked_sub(0, n), "negation");
    }
    case ExprKind::kAnd:
      for (const auto& c : k) {
        if (!eval_bool(c)) return false;
      }
      return true;
    case ExprKind::kOr:
      for (const auto& c : k) {
        if (eval_bool(c)) return true;
      }
      return false;
    case ExprKind::kIf:
      return eval_bool(k[0]) ? eval(k[1]) : eval(k[2]);
    case ExprKind::kEq:
    case ExprKind::kNe:
    case ExprKind::kLt:
    case ExprKind::kLe:
    case ExprKind::kGt:
    case ExprKind::kGe:
    case ExprKind::kAdd:
    case ExprKind::kSub:
    case ExprKind::kMul:
    case ExprKind::kIn: {
      Value s0, s1;
      const Value& a = ref(k[0], s0);
      const Value& b = ref(k[1], s1);
      return binary(e.kind, a, b);
    }
    case ExprKind::kHas: {
      Value scratch;
      const Value& target = ref(k[0], scratch);
      if (target.is_record()) return target.as_record().count(e.type_key()) > 0;
      if (!target.is_entity()) type_error("entity or record", target);
      const Entity* entity = find_entity(target.as_entity());
      return entity != nullptr && entity->attrs.count(e.type_key()) > 0;
    }
    case ExprKind::kLike: {
      Value scratch;
      const Value& v = ref(k[0], scratch);
      if (!v.is_string()) type_error("string", v);
      return wildcard_match(v.as_string(), e.pattern());
    }
    case ExprKind::kIs: {
      Value scratch;
      const Value& v = ref(k[0], scratch);
      if (!v.is_entity()) type_error("entity", v);
      // `x is T in y` is `x is T && x in y`: y is evaluated only when the type matches.
      if (&v.as_entity().type() != e.type_key()) return false;
      if (k.size() == 2) {
        Value s1;
        return in(v, ref(k[1], s1));
      }
      return true;
    }
    case ExprKind::kSet: {
      SetElements elements;
      elements.reserve(k.size());
      for (const auto& c : k) elements.push_back(eval(c));
      return Value::set(std::move(elements));
    }
    case ExprKind::kRecord: {
      RecordFields fields;
      for (std::size_t i = 0; i < k.size(); ++i) fields[e.names()[i]] = eval(k[i]);
      return Value::record(std::move(fields));
    }
    case ExprKind::kCall:
      return call(e);
  }
  fail("unknown expression");
}

bool Evaluator::relation(ExprKind kind, const Value& a, const Value& b) const {
  switch (kind) {
    case ExprKind::kEq:
      return a == b;
    case ExprKind::kNe:
      return !(a == b);
    case ExprKind::kLt:
      return compare_ordered(a, b) < 0;
    case ExprKind::kLe:
      return compare_ordered(a, b) <= 0;
    case ExprKind::kGt:
      return compare_ordered(a, b) > 0;
    case ExprKind::kGe:
      return compare_ordered(a, b) >= 0;
    case ExprKind::kIn:
      return in(a, b);
    default:
      fail("not a comparison");
  }
}

Value Evaluator::binary(ExprKind kind, const Value& a, const Value& b) const {
  switch (kind) {
    case ExprKind::kEq:
    case ExprKind::kNe:
    case ExprKind::kLt:
    case ExprKind::kLe:
    case ExprKind::kGt:
    case ExprKind::kGe:
    case ExprKind::kIn:
      return relation(kind, a, b);
    case ExprKind::kAdd:
      return overflow_checked(checked_add(as_long(a), as_long(b)), "addition");
    case ExprKind::kSub:
      return overflow_checked(checked_sub(as_long(a), as_long(b)), "subtraction");
    case ExprKind::kMul:
      return overflow_checked(checked_mul(as_long(a), as_long(b)), "multiplication");
    default:
      fail("not a binary operator");
  }
}

Value Evaluator::call(const Expr& e) const {
  const auto& k = e.children;
  switch (e.function) {
    case Function::kContains: {
      Value s0, s1;
      const Value& set = ref(k[0], s0);
      const Value& element = ref(k[1], s1);
      as_set(set);
      return set.set_contains(element);
    }
    case Function::kContainsAll:
    case Function::kContainsAny: {
      Value s0, s1;
      const Value& a = ref(k[0], s0);
      const Value& b = ref(k[1], s1);
      as_set(a);
      const auto& other = as_set(b);
      if (e.function == Function::kContainsAll) {
        for (const auto& v : other) {
          if (!a.set_contains(v)) return false;
        }
        return true;
      }
      for (const auto& v : other) {
        if (a.set_contains(v)) return true;
      }
      return false;
    }
    case Function::kIsEmpty: {
      Value scratch;
      return as_set(ref(k[0], scratch)).empty();
    }
    case Function::kHasTag:
    case Function::kGetTag: {
      Value s0, s1;
      const Value& target = ref(k[0], s0);
      const Value& tag = ref(k[1], s1);
      if (!target.is_entity()) type_error("entity", target);
      if (!tag.is_string()) type_error("string", tag);
      const Entity* entity = find_entity(target.as_entity());
      if (e.function == Function::kHasTag)
        return entity != nullptr && entity->tags.count(tag.as_string()) > 0;
      if (entity == nullptr) fail("entity " + target.as_entity().to_string() + " does not exist");
      auto it = entity->tags.find(tag.as_string());
      if (it == entity->tags.end()) fail("tag '" + tag.as_string() + "' does not exist");
      return it->second;
    }
    default:
      break;
  }
  // Extension functions: evaluate all arguments first (their errors come first), then check
  // arity and types.
  std::vector<Value> args;
  args.reserve(k.size());
  for (const auto& c : k) args.push_back(eval(c));
  auto string_arg = [&](std::string_view name) -> const std::string& {
    check_arity(e, 1, name);
    if (!args[0].is_string()) type_error("string", args[0]);
    return args[0].as_string();
  };
  auto unary = [&](std::string_view name, ExtensionKind kind) -> const ExtensionValue& {
    check_arity(e, 1, name);
    return as_ext(args[0], kind);
  };
  auto binary = [&](std::string_view name, ExtensionKind kind,
                    ExtensionKind kind2) -> std::pair<ExtensionValue, ExtensionValue> {
    check_arity(e, 2, name);
    return {as_ext(args[0], kind), as_ext(args[1], kind2)};
  };
  using K = ExtensionKind;
  switch (e.function) {
    case Function::kIp: {
      auto v = parse_ipaddr(string_arg("ip"));
      if (!v) fail("invalid IP address " + args[0].to_string());
      return *v;
    }
    case Function::kDecimal: {
      auto v = parse_decimal(string_arg("decimal"));
      if (!v) fail("invalid decimal " + args[0].to_string());
      return *v;
    }
    case Function::kDatetime: {
      auto v = parse_datetime(string_arg("datetime"));
      if (!v) fail("invalid datetime " + args[0].to_string());
      return *v;
    }
    case Function::kDuration: {
      auto v = parse_duration(string_arg("duration"));
      if (!v) fail("invalid duration " + args[0].to_string());
      return *v;
    }
    case Function::kIsIpv4:
      return !unary("isIpv4", K::kIpAddr).v6;
    case Function::kIsIpv6:
      return unary("isIpv6", K::kIpAddr).v6;
    case Function::kIsLoopback:
      return ip_is_loopback(unary("isLoopback", K::kIpAddr));
    case Function::kIsMulticast:
      return ip_is_multicast(unary("isMulticast", K::kIpAddr));
    case Function::kIsInRange: {
      auto [a, b] = binary("isInRange", K::kIpAddr, K::kIpAddr);
      return ip_in_range(a, b);
    }
    case Function::kLessThan: {
      auto [a, b] = binary("lessThan", K::kDecimal, K::kDecimal);
      return a.number < b.number;
    }
    case Function::kLessThanOrEqual: {
      auto [a, b] = binary("lessThanOrEqual", K::kDecimal, K::kDecimal);
      return a.number <= b.number;
    }
    case Function::kGreaterThan: {
      auto [a, b] = binary("greaterThan", K::kDecimal, K::kDecimal);
      return a.number > b.number;
    }
    case Function::kGreaterThanOrEqual: {
      auto [a, b] = binary("greaterThanOrEqual", K::kDecimal, K::kDecimal);
      return a.number >= b.number;
    }
    case Function::kOffset: {
      auto [a, b] = binary("offset", K::kDatetime, K::kDuration);
      return make_datetime(overflow_checked(checked_add(a.number, b.number), "offset"));
    }
    case Function::kDurationSince: {
      auto [a, b] = binary("durationSince", K::kDatetime, K::kDatetime);
      return make_duration(overflow_checked(checked_sub(a.number, b.number), "durationSince"));
    }
    case Function::kToDate: {
      int64_t ms = unary("toDate", K::kDatetime).number;
      constexpr int64_t kDay = 86400000;
      int64_t days = ms / kDay - (ms % kDay < 0 ? 1 : 0);
      return make_datetime(overflow_checked(checked_mul(days, kDay), "toDate"));
    }
    case Function::kToTime: {
      int64_t ms = unary("toTime", K::kDatetime).number;
      constexpr int64_t kDay = 86400000;
      int64_t rem = ms % kDay;
      return make_duration(rem < 0 ? rem + kDay : rem);
    }
    case Function::kToDays:
      return unary("toDays", K::kDuration).number / 86400000;
    case Function::kToHours:
      return unary("toHours", K::kDuration).number / 3600000;
    case Function::kToMinutes:
      return unary("toMinutes", K::kDuration).number / 60000;
    case Function::kToSeconds:
      return unary("toSeconds", K::kDuration).number / 1000;
    case Function::kToMilliseconds:
      return unary("toMilliseconds", K::kDuration).number;
    default:
      break;
  }
  fail("unknown function");
}

}  // namespace custody::cedar
