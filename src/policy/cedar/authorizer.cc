#include "policy/cedar/authorizer.h"

namespace custody::cedar {

Response is_authorized(const Request& request, const PolicySet& policies,
                       const EntityStore& entities) {
  Response response;
  thread_local EvaluationMemo memo;
  memo.start(policies.memo_slots());
  Evaluator evaluator(request, entities, &memo);
  std::vector<const Policy*> permits;
  std::vector<const Policy*> forbids;
  auto ancestors =
      [&](const EntityUid& uid) -> const std::unordered_set<EntityUid, EntityUidHash>* {
    const Entity* e = entities.find(uid);
    return e == nullptr ? nullptr : &e->ancestors;
  };
  const std::string* principal_type = &request.principal.type();
  const std::string* resource_type = &request.resource.type();
  policies.for_each_candidate(
      request.principal, request.action, request.resource, ancestors, [&](uint32_t position) {
        const PolicySet::Compiled& c = policies.compiled(position);
        if ((c.principal_type != nullptr && c.principal_type != principal_type) ||
            (c.resource_type != nullptr && c.resource_type != resource_type))
          return;
        auto r = evaluator.conditions_hold(c.conditions_begin, c.conditions_end);
        if (!r.ok()) {
          response.errors.push_back({&policies.policies()[position], r.error().message});
        } else if (r.value()) {
          (c.effect == Effect::kForbid ? forbids : permits)
              .push_back(&policies.policies()[position]);
        }
      });
  if (!forbids.empty()) {
    response.decision = Decision::kDeny;
    response.reasons = std::move(forbids);
  } else if (!permits.empty()) {
    response.decision = Decision::kAllow;
    response.reasons = std::move(permits);
  }
  return response;
}

}  // namespace custody::cedar
