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
  using S = ScopeConstraint::Op;
  const auto& pr = p.principal;
  const auto& rs = p.resource;
  if (pr.op == S::kEq && pr.entity) {
    buckets_[kPrincipalEq][*pr.entity].push_back(i);
  } else if (rs.op == S::kEq && rs.entity) {
    buckets_[kResourceEq][*rs.entity].push_back(i);
  } else if ((pr.op == S::kIn || pr.op == S::kIsIn) && pr.entity) {
    buckets_[kPrincipalIn][*pr.entity].push_back(i);
  } else if ((rs.op == S::kIn || rs.op == S::kIsIn) && rs.entity) {
    buckets_[kResourceIn][*rs.entity].push_back(i);
  } else if (p.action.op == ActionConstraint::Op::kEq) {
    buckets_[kActionEq][p.action.entities[0]].push_back(i);
  } else if (p.action.op == ActionConstraint::Op::kIn && p.action.entities.size() == 1) {
    buckets_[kActionIn][p.action.entities[0]].push_back(i);
  } else if (pr.op == S::kIs) {
    by_principal_type_[pr.type].push_back(i);
  } else {
    always_.push_back(i);
  }
}

}  // namespace custody::cedar
