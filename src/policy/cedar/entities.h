// The entity store: entities with their attributes, tags and parents, and the transitive
// ancestor sets that make `in` a hash lookup.
//
// Build a store with add() and then call finalize() once; after that it is read-only and may be
// shared by any number of threads evaluating requests.
#pragma once

#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "common/result.h"
#include "policy/cedar/value.h"

namespace custody::cedar {

struct Entity {
  EntityUid uid;
  RecordFields attrs;
  RecordFields tags;
  std::vector<EntityUid> parents;                          // direct parents, as given
  std::unordered_set<EntityUid, EntityUidHash> ancestors;  // transitive; filled by finalize()
};

class EntityStore {
 public:
  // Adds an entity. A second entity with the same uid is an error.
  Status add(Entity entity);
  // Adds parents to an entity, creating it (without attributes) when absent. Used to merge the
  // action hierarchy declared by a schema.
  void add_parents(const EntityUid& uid, const std::vector<EntityUid>& parents);
  // Computes ancestor sets (cycles are tolerated: an entity may end up its own ancestor).
  void finalize();

  // nullptr when the entity is unknown.
  const Entity* find(const EntityUid& uid) const {
    auto it = entities_.find(uid);
    return it == entities_.end() ? nullptr : &it->second;
  }
  // `child in ancestor`: equal, or ancestor is among child's transitive parents.
  bool is_in(const EntityUid& child, const EntityUid& ancestor) const {
    if (child == ancestor) return true;
    const Entity* e = find(child);
    return e != nullptr && e->ancestors.count(ancestor) > 0;
  }
  std::size_t size() const { return entities_.size(); }

 private:
  std::unordered_map<EntityUid, Entity, EntityUidHash> entities_;
};

}  // namespace custody::cedar
