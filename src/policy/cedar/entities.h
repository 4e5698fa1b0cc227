// The entity store: entities with their attributes, tags and parents, and the transitive
// ancestor sets that make `in` a hash lookup.
//
// Build a store with add() and then call finalize() once; after that it is read-only and may be
// shared by any number of threads evaluating requests.
//
// Layering: a store may have a base store (set_base) that lookups fall through to, so that a
// request can see a few entities of its own (the directory's identities, the caller's
// properties) over a large shared store without copying it. An entity of the layer hides the
// base's entity with the same uid. The base must outlive the layer and stay unmodified.
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
  // Computes ancestor sets (cycles are tolerated: an entity may end up its own ancestor). With a
  // base, parents are followed into the base too.
  void finalize();
  // Lookups of uids this store lacks go to `base` (nullptr: none). Set before finalize().
  void set_base(const EntityStore* base) { base_ = base; }

  // nullptr when the entity is unknown (here and in the base).
  const Entity* find(const EntityUid& uid) const {
    auto it = entities_.find(uid);
    if (it != entities_.end()) return &it->second;
    return base_ != nullptr ? base_->find(uid) : nullptr;
  }
  // `child in ancestor`: equal, or ancestor is among child's transitive parents.
  bool is_in(const EntityUid& child, const EntityUid& ancestor) const {
    if (child == ancestor) return true;
    const Entity* e = find(child);
    return e != nullptr && e->ancestors.count(ancestor) > 0;
  }
  std::size_t size() const { return entities_.size(); }  // this layer only
  // Calls fn(const Entity&) for every entity of this layer.
  template <class Fn>
  void for_each(Fn fn) const {
    for (const auto& [uid, entity] : entities_) fn(entity);
  }

 private:
  std::unordered_map<EntityUid, Entity, EntityUidHash> entities_;
  const EntityStore* base_ = nullptr;
};

}  // namespace custody::cedar
