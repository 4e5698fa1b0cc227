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
  policies.for_each_candidate(request.principal, request.action, request.resource, ancestors,
                              [&](const Policy& p) {
                                auto r = evaluator.satisfied_candidate(p);
                                if (!r.ok()) {
                                  response.errors.push_back({&p, r.error().message});
                                } else if (r.value()) {
                                  (p.effect == Effect::kForbid ? forbids : permits).push_back(&p);
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
