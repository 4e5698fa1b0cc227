// The directory as Cedar entities (docs/policy.md, "Entity model"): each identity is an entity of
// type Human, Service, Agent or McpServer (by kind) whose uid id is the identity id, with
//   attributes  kind, state, name: String; owner: Human (non-human identities);
//               scopes, audiences: Set<String> — of its entitlements in force;
//               grants: Set<String> — "<audience> <scope>" per entitlement in force;
//               tools:  Set<String> — "<audience> <tool>" per tool of an entitlement in force,
//                                     "<audience> *" for an entitlement that names no tools;
//               max_depth: Long — from the label custody.dev/max-depth (0 when malformed);
//               discovery: {drifted, enforce: Bool} — identities discovery created;
//   tags        its labels;
//   parents     its owner, and Team::"<label team>" when it has a team label.
// Entities are read at decision time (no cache outlives a request), so a suspension, a retired
// owner or a revoked entitlement changes the next decision.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/clock.h"
#include "common/result.h"
#include "directory/identity_rows.h"
#include "directory/model.h"
#include "policy/cedar/entities.h"
#include "store/store.h"

namespace custody::policy {

// "Human", "Service", "Agent", "McpServer".
std::string_view cedar_type_of(directory::Kind kind);
// The directory kind whose identities have this Cedar type; nullopt for any other type.
std::optional<directory::Kind> kind_of_cedar_type(std::string_view cedar_type);

// Loads identities into an entity layer, each at most once, within one read transaction.
class DirectoryEntities {
 public:
  DirectoryEntities(store::Tx& tx, Micros now) : tx_(tx), now_(now) {}

  // When `uid` names a directory identity (right type, existing id), adds it and its owner to
  // `layer` (once per reader) and returns true; returns false when the directory has no such
  // identity (the caller then looks elsewhere).
  Result<bool> load(const cedar::EntityUid& uid, cedar::EntityStore& layer);

  // What an entitlement in force contributes to an entity (its scopes, audiences, grants and
  // tools) and to a context: only these columns are read.
  struct Grant {
    std::string scope;
    std::string resource;
    std::optional<std::vector<std::string>> tools;  // nullopt: every tool
  };
  // The entitlements in force of identity `id`, read once per reader: loading the identity as an
  // entity, and callers that need them for the context (issuance_policy.h), share one read.
  Result<const std::vector<Grant>*> grants_in_force(const std::string& id);

  // Makes `facts` (read by the caller within this reader's transaction) the identity's row for
  // load(), which then does not read it again. The caller must have read it in the same
  // transaction, so that the decision sees one consistent state, and keeps it alive as long as
  // this reader. A second row for an id is ignored.
  void add_known(const directory::rows::IdentityFacts& facts);

  // Makes `in_force` identity `id`'s entitlements in force for grants_in_force() and load(),
  // which then do not read them again. The caller must have read them in this reader's
  // transaction as directory::active_entitlements(tx, id, now) with this reader's `now`, so that
  // they are exactly the rows grants_in_force() would read. Once an identity's entitlements are
  // known (read or added), later additions for it are ignored.
  void add_grants(const std::string& id, const std::vector<directory::Entitlement>& in_force);

  // discovery.enforce of the identities discovery created (false: discovery.enforcement is
  // "alert"). Default true.
  void set_discovery_enforced(bool enforced) { discovery_enforced_ = enforced; }

 private:
  Result<bool> load_one(const cedar::EntityUid& uid, cedar::EntityStore& layer, int depth);

  store::Tx& tx_;
  Micros now_;
  bool discovery_enforced_ = true;
  std::unordered_map<cedar::EntityUid, bool, cedar::EntityUidHash> loaded_;  // uid → found
  std::unordered_map<std::string, std::vector<Grant>> grants_;               // by identity id
  std::unordered_map<std::string_view, const directory::rows::IdentityFacts*> known_;  // by id
};

}  // namespace custody::policy
