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
