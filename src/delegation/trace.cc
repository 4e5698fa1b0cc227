#include "delegation/trace.h"

#include "directory/access.h"
#include "directory/identity_rows.h"

namespace custody::delegation {
namespace {

// Whether an owner principal owns one of the identities of the chain.
Result<bool> owner_may_see(store::Tx& tx, const directory::Principal& who,
                           const std::vector<Record>& chain) {
  if (!who.human_id) return false;
  for (const auto& r : chain) {
    for (const std::string& id : {r.subject, r.actor, r.client_id}) {
      if (id.empty()) continue;
      if (id == *who.human_id) return true;
      CUSTODY_ASSIGN(auto identity, directory::rows::find_identity(tx, id));
      if (identity && identity->owner_id == who.human_id) return true;
    }
  }
  return false;
}

Result<std::vector<Record>> readable_chain(store::Tx& tx, const directory::OpContext& ctx,
                                           std::string_view id) {
  auto found = chain(tx, id);
  if (!found.ok()) {
    if (found.error().code == Code::kNotFound)
      return directory::access::not_found("delegation", id);
    return found.error();
  }
  if (ctx.who.role == directory::Role::kOwner) {
    CUSTODY_ASSIGN(bool ok, owner_may_see(tx, ctx.who, *found));
    if (!ok) return directory::access::not_found("delegation", id);
  }
  return found;
}

nlohmann::json hop(const Record& r, int index) {
  nlohmann::json j = to_json(r);
  j["hop"] = index;
  // Who acted at this hop: the actor, or for a root the subject itself.
  j["acting"] = r.actor.empty() ? r.subject : r.actor;
  return j;
}

}  // namespace

Result<Record> get_delegation(store::Tx& tx, const directory::OpContext& ctx, std::string_view id) {
  CUSTODY_ASSIGN(auto records, readable_chain(tx, ctx, id));
  return records.back();
}

Result<nlohmann::json> trace(store::Tx& tx, const directory::OpContext& ctx, std::string_view id) {
  CUSTODY_ASSIGN(auto records, readable_chain(tx, ctx, id));
  nlohmann::json hops = nlohmann::json::array();
  for (std::size_t i = 0; i < records.size(); ++i) hops.push_back(hop(records[i], int(i)));
  CUSTODY_ASSIGN(auto below, descendants(tx, id, 1000));
  nlohmann::json downstream = nlohmann::json::array();
  for (const auto& r : below) downstream.push_back(to_json(r));
  const Record& root = records.front();
  return nlohmann::json{{"delegation_id", std::string(id)},
                        {"initiator", {{"subject", root.subject}, {"issuer", root.subject_issuer}}},
                        {"chain", std::move(hops)},
                        {"downstream", std::move(downstream)},
                        {"downstream_truncated", below.size() >= 1000}};
}

Result<std::vector<std::string>> revoke_delegation(store::Tx& tx, const directory::OpContext& ctx,
                                                   std::string_view id, const std::string& reason) {
  CUSTODY_TRY(directory::access::require_write(ctx));
  CUSTODY_ASSIGN(auto records, readable_chain(tx, ctx, id));
  (void)records;
  CUSTODY_ASSIGN(auto revoked, revoke_subtree(tx, id, ctx.now, ctx.who.actor(), reason));
  nlohmann::json ids = nlohmann::json::array();
  for (std::size_t i = 0; i < revoked.size() && i < 100; ++i) ids.push_back(revoked[i]);
  CUSTODY_TRY(directory::access::record(
      tx, ctx, "delegation.revoke", std::string(id),
      {{"reason", reason}, {"revoked_count", revoked.size()}, {"revoked", std::move(ids)}}));
  return revoked;
}

}  // namespace custody::delegation
