#include "policy/cedar/policy_set.h"

namespace custody::cedar {

Result<PolicySet> PolicySet::parse(std::string_view source, bool use_id_annotation,
                                   ParseLimits limits) {
  CUSTODY_ASSIGN(auto policies, parse_policies(source, limits));
  PolicySet set;
  for (auto& p : policies) {
    if (use_id_annotation) {
      auto it = p.annotations.find("id");
      if (it != p.annotations.end()) p.id = it->second;
    }
    CUSTODY_TRY(set.add(std::move(p)));
  }
  return set;
}

Status PolicySet::add(Policy policy) {
  if (by_id_.count(policy.id) || templates_.count(policy.id))
    return Error::invalid("duplicate policy id " + policy.id);
  if (policy.is_template()) {
    std::string id = policy.id;
    templates_.emplace(std::move(id), std::move(policy));
    return ok_status();
  }
  // Re-allocate each condition tree in one depth-first sweep so that its nodes sit next to each
  // other in memory: with hundreds of candidate policies per request, evaluation is bound by
  // cache misses on the nodes.
  for (auto& c : policy.conditions) {
    Expr packed = c.expr;
    c.expr = std::move(packed);
  }
  auto position = static_cast<uint32_t>(policies_.size());
  by_id_.emplace(policy.id, position);
  policies_.push_back(std::move(policy));
  if (share_) {
    for (auto& c : policies_.back().conditions) share_subexpressions(c.expr);
  }
  const Policy& added = policies_.back();
  auto is_in_type = [](const ScopeConstraint& s) {
    return s.op == ScopeConstraint::Op::kIsIn ? s.type_key : nullptr;
  };
  // The conditions vector's buffer does not move when policies_ grows, so the pointers hold.
  compiled_.push_back({added.conditions.data(), added.conditions.data() + added.conditions.size(),
                       is_in_type(added.principal), is_in_type(added.resource), added.effect});
  index(position);
  return ok_status();
}

Status PolicySet::link(const std::string& template_id, const std::string& new_id,
                       std::optional<EntityUid> principal, std::optional<EntityUid> resource) {
  auto it = templates_.find(template_id);
  if (it == templates_.end()) return Error::not_found("no template " + template_id);
  CUSTODY_ASSIGN(Policy p, link_template(it->second, new_id, principal, resource));
  return add(std::move(p));
}

namespace {

// Boolean-valued expressions worth remembering (the evaluator consults the memo only where it
// needs a boolean).
bool is_boolean_kind(const Expr& e) {
  switch (e.kind) {
    case ExprKind::kLiteral:
    case ExprKind::kVar:
    case ExprKind::kNeg:
    case ExprKind::kAdd:
    case ExprKind::kSub:
    case ExprKind::kMul:
    case ExprKind::kGetAttr:
    case ExprKind::kSet:
    case ExprKind::kRecord:
    case ExprKind::kIf:
      return false;
    case ExprKind::kCall:
      return e.function == Function::kContains || e.function == Function::kContainsAll ||
             e.function == Function::kContainsAny || e.function == Function::kIsEmpty ||
             e.function == Function::kHasTag || e.function == Function::kIsInRange;
    default:
      return true;
  }
}

void append_field(std::string& out, std::string_view s) {
  out += std::to_string(s.size());
  out += ':';
  out += s;
}

// Longer subexpressions are not shared: their text would cost more than it saves.
constexpr std::size_t kMaxSharedText = 512;

}  // namespace

// Returns the canonical text of `e` ("" when too long), and gives shared boolean subexpressions a
// memo slot. The text is injective: every field is length-prefixed.
std::string PolicySet::share_subexpressions(Expr& e) {
  std::string text = "(";
  text += std::to_string(static_cast<int>(e.kind)) + "," + std::to_string(static_cast<int>(e.var)) +
          "," + std::to_string(static_cast<int>(e.function)) + ",";
  append_field(text, e.name());
  if (e.kind == ExprKind::kLiteral) append_field(text, e.literal().to_string());
  for (const auto& n : e.names()) append_field(text, n);
  for (const auto& p : e.pattern()) append_field(text, p.wildcard ? "*" : "=" + p.text);
  bool shareable = true;
  for (auto& c : e.children) {
    std::string child = share_subexpressions(c);
    if (child.empty()) shareable = false;
    text += child;
  }
  text += ")";
  if (!shareable || text.size() > kMaxSharedText) return "";
  if (!is_boolean_kind(e)) return text;
  auto [it, inserted] = subexpressions_.try_emplace(text, kUnshared, &e);
  if (!inserted) {
    if (it->second.first == kUnshared) {
      it->second.first = memo_slots_++;
      it->second.second->memo = it->second.first + 1;
    }
    e.memo = it->second.first + 1;
  }
  return text;
}

std::vector<const Policy*> PolicySet::templates() const {
  std::vector<const Policy*> out;
  for (const auto& [id, t] : templates_) out.push_back(&t);
  return out;
}

const Policy* PolicySet::find(std::string_view id) const {
  auto it = by_id_.find(std::string(id));
  if (it != by_id_.end()) return &policies_[it->second];
  auto t = templates_.find(id);
  return t == templates_.end() ? nullptr : &t->second;
}

void PolicySet::index(uint32_t i) {
  const Policy& p = policies_[i];
  std::size_t words = (policies_.size() + 63) / 64;
  for (auto& d : dims_) d.unconstrained.resize(words, 0);
  auto unconstrained = [&](Dimension& d) { d.unconstrained[i >> 6] |= uint64_t{1} << (i & 63); };
  auto scope = [&](Dimension& d, const ScopeConstraint& c) {
    using Op = ScopeConstraint::Op;
    switch (c.op) {
      case Op::kAny:
        unconstrained(d);
        break;
      case Op::kEq:
        d.eq[*c.entity].push_back(i);
        break;
      case Op::kIn:
      case Op::kIsIn:
        d.in[*c.entity].push_back(i);
        break;
      case Op::kIs:
        d.is[c.type_key].push_back(i);
        break;
    }
  };
  scope(dims_[kPrincipal], p.principal);
  scope(dims_[kResource], p.resource);
  Dimension& action = dims_[kAction];
  switch (p.action.op) {
    case ActionConstraint::Op::kAny:
      unconstrained(action);
      break;
    case ActionConstraint::Op::kEq:
      action.eq[p.action.entities[0]].push_back(i);
      break;
    case ActionConstraint::Op::kIn:
      for (const auto& a : p.action.entities) {
        auto& list = action.in[a];
        if (list.empty() || list.back() != i) list.push_back(i);
      }
      break;
  }
}

}  // namespace custody::cedar
