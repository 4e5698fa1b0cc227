#include "policy/directory_entities.h"

#include <charconv>
#include <nlohmann/json.hpp>

#include "directory/entitlements.h"
#include "directory/identity_rows.h"

namespace custody::policy {
namespace {

cedar::Value string_set(std::vector<std::string> items) {
  cedar::SetElements elements;
  elements.reserve(items.size());
  for (auto& s : items) elements.emplace_back(std::move(s));
  return cedar::Value::set(std::move(elements));
}

}  // namespace

std::string_view cedar_type_of(directory::Kind kind) {
  switch (kind) {
    case directory::Kind::kHuman:
      return "Human";
    case directory::Kind::kService:
      return "Service";
    case directory::Kind::kAgent:
      return "Agent";
    case directory::Kind::kMcpServer:
      return "McpServer";
  }
  return "";
}

std::optional<directory::Kind> kind_of_cedar_type(std::string_view cedar_type) {
  for (auto k : {directory::Kind::kHuman, directory::Kind::kService, directory::Kind::kAgent,
                 directory::Kind::kMcpServer}) {
    if (cedar_type_of(k) == cedar_type) return k;
  }
  return std::nullopt;
}

Result<const std::vector<DirectoryEntities::Grant>*> DirectoryEntities::grants_in_force(
    const std::string& id) {
  if (auto it = grants_.find(id); it != grants_.end()) return &it->second;
  // The same statement and rows as the grant's (directory::active_entitlements), so both are
  // answered by one entry of the store's cache.
  CUSTODY_ASSIGN(auto in_force, directory::active_entitlements(tx_, id, now_));
  add_grants(id, in_force);
  return &grants_.at(id);
}

void DirectoryEntities::add_grants(const std::string& id,
                                   const std::vector<directory::Entitlement>& in_force) {
  if (grants_.contains(id)) return;
  std::vector<Grant> grants;
  grants.reserve(in_force.size());
  for (const auto& e : in_force) grants.push_back(Grant{e.scope, e.resource, e.tools});
  grants_.emplace(id, std::move(grants));
}

void DirectoryEntities::add_known(const directory::rows::IdentityFacts& facts) {
  known_.emplace(facts.identity.id, &facts);
}

Result<bool> DirectoryEntities::load(const cedar::EntityUid& uid, cedar::EntityStore& layer) {
  return load_one(uid, layer, 0);
}

Result<bool> DirectoryEntities::load_one(const cedar::EntityUid& uid, cedar::EntityStore& layer,
                                         int depth) {
  if (auto it = loaded_.find(uid); it != loaded_.end()) return it->second;
  auto kind = kind_of_cedar_type(uid.type());
  // The id's prefix must agree with the type: an Agent entity is never read from a usr_ row.
  if (!kind || directory::kind_of_id(uid.id()) != kind) {
    loaded_.emplace(uid, false);
    return false;
  }
  // The row with its discovery state in one statement (or as the caller already read it).
  std::optional<directory::rows::IdentityFacts> read;
  const directory::rows::IdentityFacts* facts = nullptr;
  if (auto known = known_.find(uid.id()); known != known_.end()) {
    facts = known->second;
  } else {
    CUSTODY_ASSIGN(read, directory::rows::find_identity_facts(tx_, uid.id()));
    if (read) facts = &*read;
  }
  if (facts == nullptr) {
    loaded_.emplace(uid, false);
    return false;
  }
  const directory::Identity* identity = &facts->identity;
  CUSTODY_ASSIGN(const std::vector<Grant>* grants_read, grants_in_force(identity->id));
  const auto& entitlements = *grants_read;

  cedar::Entity entity;
  entity.uid = uid;
  auto& attrs = entity.attrs;
  std::vector<std::string> scopes, audiences, grants, tools;
  for (const auto& e : entitlements) {
    scopes.push_back(e.scope);
    audiences.push_back(e.resource);
    grants.push_back(e.resource + " " + e.scope);
    if (!e.tools) {
      tools.push_back(e.resource + " *");
    } else {
      for (const auto& t : *e.tools) tools.push_back(e.resource + " " + t);
    }
  }
  // RecordFields appends in key order in O(1): keep the names sorted.
  attrs["audiences"] = string_set(std::move(audiences));
  if (facts->discovered) {
    cedar::RecordFields discovery;
    discovery["drifted"] = facts->drifted;
    discovery["enforce"] = discovery_enforced_;
    attrs["discovery"] = cedar::Value::record(std::move(discovery));
  }
  attrs["grants"] = string_set(std::move(grants));
  attrs["kind"] = std::string(directory::kind_name(identity->kind));
  if (auto cap = identity->labels.find("custody.dev/max-depth"); cap != identity->labels.end()) {
    std::int64_t n = 0;
    auto [end, ec] =
        std::from_chars(cap->second.data(), cap->second.data() + cap->second.size(), n);
    // A malformed cap is the strictest one: fail closed.
    attrs["max_depth"] =
        ec == std::errc() && end == cap->second.data() + cap->second.size() && n >= 0
            ? n
            : std::int64_t{0};
  }
  attrs["name"] = identity->display_name;
  std::optional<cedar::EntityUid> owner;
  if (identity->owner_id) {
    owner = cedar::EntityUid::intern("Human", *identity->owner_id);
    attrs["owner"] = *owner;
    entity.parents.push_back(*owner);
  }
  attrs["scopes"] = string_set(std::move(scopes));
  attrs["state"] = std::string(directory::state_name(identity->state));
  attrs["tools"] = string_set(std::move(tools));
  for (const auto& [key, value] : identity->labels) entity.tags[key] = value;
  if (auto team = identity->labels.find("team"); team != identity->labels.end())
    entity.parents.push_back(cedar::EntityUid::intern("Team", team->second));

  CUSTODY_TRY(layer.add(std::move(entity)));
  loaded_.emplace(uid, true);
  // The owner is read too, so that policies can test principal.owner's state and grants. Owners
  // are humans, who have no owner, so this recursion stops after one level.
  if (owner && depth == 0) CUSTODY_TRY(load_one(*owner, layer, depth + 1));
  return true;
}

}  // namespace custody::policy
