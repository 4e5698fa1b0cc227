#include "policy/cedar/entities.h"

#include <algorithm>

namespace custody::cedar {

Status EntityStore::add(Entity entity) {
  EntityUid uid = entity.uid;
  if (!entities_.emplace(uid, std::move(entity)).second)
    return Error::invalid("duplicate entity " + uid.to_string());
  return ok_status();
}

void EntityStore::add_parents(const EntityUid& uid, const std::vector<EntityUid>& parents) {
  auto [it, inserted] = entities_.try_emplace(uid);
  if (inserted) it->second.uid = uid;
  for (const auto& p : parents) {
    auto& list = it->second.parents;
    if (std::find(list.begin(), list.end(), p) == list.end()) list.push_back(p);
  }
}

void EntityStore::finalize() {
  // Depth-first walk from each entity over parent edges. Hierarchies are shallow in practice;
  // an explicit stack keeps deep or cyclic ones from overflowing the call stack.
  for (auto& [uid, entity] : entities_) {
    entity.ancestors.clear();
    std::vector<EntityUid> stack(entity.parents.begin(), entity.parents.end());
    while (!stack.empty()) {
      EntityUid next = stack.back();
      stack.pop_back();
      if (!entity.ancestors.insert(next).second) continue;
      if (const Entity* parent = find(next)) {
        for (const auto& p : parent->parents) stack.push_back(p);
      }
    }
  }
}

}  // namespace custody::cedar
