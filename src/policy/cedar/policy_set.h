// A compiled set of Cedar policies, indexed by scope so that a request evaluates only the
// policies whose principal, resource or action constraint can match it.
//
// Each static or linked policy is filed under exactly one key, the most selective its scope
// offers: principal == E, resource == E, principal in E, resource in E, action == A / in A,
// principal is T, or "always". A request looks up its own uids (and their ancestors for the `in`
// keys), so no policy is found twice and none that could match is missed.
//
// Not thread-safe while being modified; once built, any number of threads may authorize against
// it concurrently.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/result.h"
#include "policy/cedar/ast.h"
#include "policy/cedar/parser.h"

namespace custody::cedar {

class PolicySet {
 public:
  // Parses a policy file: static policies are added, templates kept for linking. Ids are
  // "policy0", … by position, or the @id annotation when use_id_annotation is set.
  static Result<PolicySet> parse(std::string_view source, bool use_id_annotation = false,
                                 ParseLimits limits = {});

  // Adds a static policy or a template (by Policy::is_template). Ids must be unique.
  Status add(Policy policy);
  // Links a template into a new static policy.
  Status link(const std::string& template_id, const std::string& new_id,
              std::optional<EntityUid> principal, std::optional<EntityUid> resource);

  std::size_t size() const { return policies_.size(); }
  const std::vector<Policy>& policies() const { return policies_; }
  const Policy* find(std::string_view id) const;

  // Calls fn(const Policy&) for every policy that may match a request with these uids. `ancestors`
  // gives the transitive parents of a uid (empty when unknown).
  template <class AncestorsFn, class Fn>
  void for_each_candidate(const EntityUid& principal, const EntityUid& action,
                          const EntityUid& resource, AncestorsFn ancestors, Fn fn) const;

 private:
  using Bucket = std::unordered_map<EntityUid, std::vector<uint32_t>, EntityUidHash>;
  enum Key { kPrincipalEq, kResourceEq, kPrincipalIn, kResourceIn, kActionEq, kActionIn, kKeys };
  void index(uint32_t position);

  std::vector<Policy> policies_;
  std::map<std::string, Policy, std::less<>> templates_;
  std::unordered_map<std::string, uint32_t> by_id_;
  Bucket buckets_[kKeys];
  std::unordered_map<std::string, std::vector<uint32_t>> by_principal_type_;
  std::vector<uint32_t> always_;
};

template <class AncestorsFn, class Fn>
void PolicySet::for_each_candidate(const EntityUid& principal, const EntityUid& action,
                                   const EntityUid& resource, AncestorsFn ancestors, Fn fn) const {
  auto visit = [&](const Bucket& bucket, const EntityUid& uid) {
    if (bucket.empty()) return;
    auto it = bucket.find(uid);
    if (it == bucket.end()) return;
    for (uint32_t i : it->second) fn(policies_[i]);
  };
  auto visit_in = [&](const Bucket& bucket, const EntityUid& uid) {
    if (bucket.empty()) return;
    visit(bucket, uid);
    if (const auto* anc = ancestors(uid)) {
      for (const auto& a : *anc) {
        if (!(a == uid)) visit(bucket, a);
      }
    }
  };
  visit(buckets_[kPrincipalEq], principal);
  visit(buckets_[kResourceEq], resource);
  visit_in(buckets_[kPrincipalIn], principal);
  visit_in(buckets_[kResourceIn], resource);
  visit(buckets_[kActionEq], action);
  visit_in(buckets_[kActionIn], action);
  if (!by_principal_type_.empty()) {
    auto it = by_principal_type_.find(principal.type());
    if (it != by_principal_type_.end()) {
      for (uint32_t i : it->second) fn(policies_[i]);
    }
  }
  for (uint32_t i : always_) fn(policies_[i]);
}

}  // namespace custody::cedar
