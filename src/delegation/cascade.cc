#include "delegation/cascade.h"

#include <algorithm>
#include <set>

#include "common/words.h"
#include "delegation/holder_filters.h"
#include "delegation/record.h"

namespace custody::delegation {
namespace {

// Revokes each candidate's subtree once; a candidate inside an earlier one's subtree is skipped.
Result<std::vector<std::string>> revoke_all(store::Tx& tx, const std::vector<std::string>& ids,
                                            Micros now, const std::string& by,
                                            const std::string& reason) {
  std::set<std::string> done;
  std::vector<std::string> revoked;
  for (const auto& id : ids) {
    if (done.count(id)) continue;
    CUSTODY_ASSIGN(auto now_revoked, revoke_subtree(tx, id, now, by, reason));
    for (auto& r : now_revoked) {
      done.insert(r);
      revoked.push_back(std::move(r));
    }
  }
  return revoked;
}

}  // namespace

Result<std::vector<std::string>> revoke_for_identity(store::Tx& tx, const std::string& identity,
                                                     Micros now, const std::string& by,
                                                     const std::string& reason) {
  // Three indexed lookups (holder_filters.h) rather than one OR, which SQLite would answer with
  // a table scan.
  std::vector<std::string> ids;
  for (std::string_view role : {kAsSubjectNotClient, kAsActorNotClient, kAsClient}) {
    CUSTODY_ASSIGN(auto rows,
                   tx.query("SELECT id FROM delegation_records WHERE " + std::string(role) +
                                " AND revoked_at IS NULL AND expires_at > $2 ORDER BY id",
                            {identity, now}));
    for (const auto& row : rows) ids.push_back(row.text(0));
  }
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  return revoke_all(tx, ids, now, by, reason);
}

Result<std::vector<std::string>> revoke_for_entitlement(store::Tx& tx, const std::string& identity,
                                                        const std::string& scope,
                                                        const std::string& resource, Micros now,
                                                        const std::string& by,
                                                        const std::string& reason) {
  std::vector<std::string> ids;
  // An authorization code token carries its subject's (the approving human's) entitlements
  // (oauth/authorization_code.h). Records where the identity is both subject and client are
  // among kAsClient's.
  const std::string as_code_subject =
      std::string(kAsSubjectNotClient) + " AND grant_type = 'authorization_code'";
  for (std::string_view holder :
       {kAsActorNotClient, kAsClient, std::string_view(as_code_subject)}) {
    CUSTODY_ASSIGN(auto rows, tx.query("SELECT id, scopes, audience FROM "
                                       "delegation_records WHERE " +
                                           std::string(holder) +
                                           " AND revoked_at IS NULL AND expires_at > $2 "
                                           "ORDER BY id",
                                       {identity, now}));
    for (const auto& row : rows) {
      auto scopes = split_words(row.text(1));
      auto audience = nlohmann::json::parse(row.text(2), nullptr, false);
      bool has_scope = std::find(scopes.begin(), scopes.end(), scope) != scopes.end();
      bool has_audience = audience.is_array() &&
                          std::find(audience.begin(), audience.end(), resource) != audience.end();
      if (has_scope && has_audience) ids.push_back(row.text(0));
    }
  }
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  return revoke_all(tx, ids, now, by, reason);
}

Result<std::vector<std::string>> revoke_for_device(store::Tx& tx, const std::string& device_id,
                                                   const std::optional<std::string>& client,
                                                   Micros now, const std::string& by,
                                                   const std::string& reason) {
  CUSTODY_ASSIGN(auto rows, tx.query("SELECT id, client_id FROM delegation_records WHERE "
                                     "device_id = $1 AND revoked_at IS NULL AND expires_at > $2 "
                                     "ORDER BY id",
                                     {device_id, now}));
  std::vector<std::string> ids;
  for (const auto& row : rows)
    if (!client || row.text(1) == *client) ids.push_back(row.text(0));
  return revoke_all(tx, ids, now, by, reason);
}

}  // namespace custody::delegation
