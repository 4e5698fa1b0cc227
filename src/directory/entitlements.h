// Entitlements: what an identity may hold. Same conventions as identities.h.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "common/result.h"
#include "directory/model.h"
#include "directory/principal.h"
#include "store/store.h"

namespace custody::directory {

struct NewEntitlement {
  std::string scope;                              // 1..256 printable ASCII without spaces
  std::string resource;                           // 1..2048; an absolute URI or an audience name
  std::optional<std::vector<std::string>> tools;  // each 1..256, ≤ 256 tools, no duplicates
  std::optional<Micros> expires_at;               // must be in the future
  std::string justification;                      // 1..2000, required
};

// Refused on retired identities (kConflict). Owners may grant only on identities they own.
Result<Entitlement> grant_entitlement(store::Tx& tx, const OpContext& ctx,
                                      std::string_view identity_id, const NewEntitlement& input);
Result<Entitlement> get_entitlement(store::Tx& tx, const OpContext& ctx, std::string_view id);
// Newest first. active_only hides revoked and expired ones (evaluated at ctx.now).
Result<std::vector<Entitlement>> list_entitlements(store::Tx& tx, const OpContext& ctx,
                                                   std::string_view identity_id, bool active_only);
// Idempotent on an already revoked entitlement (returns it unchanged, no new event).
Result<Entitlement> revoke_entitlement(store::Tx& tx, const OpContext& ctx, std::string_view id);

// The entitlements in force for an identity at `now`; for token issuance (no principal check).
Result<std::vector<Entitlement>> active_entitlements(store::Tx& tx, std::string_view identity_id,
                                                     Micros now);

}  // namespace custody::directory
