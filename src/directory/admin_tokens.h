// Admin API bearer tokens: random ("cst_" + 256 bits), stored as a keyed hash, with one role.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "common/result.h"
#include "crypto/keyed_hash.h"
#include "directory/principal.h"
#include "store/store.h"

namespace custody::directory {

struct AdminToken {
  std::string id;  // tok_
  Role role = Role::kAdmin;
  std::optional<std::string> identity_id;  // owner role: the human
  std::string description;
  std::string created_by;
  Micros created_at = 0;
  std::optional<Micros> expires_at;
  std::optional<Micros> revoked_at;
};

struct NewAdminToken {
  Role role = Role::kAdmin;
  std::optional<std::string> identity_id;  // required for owner (an active human), else absent
  std::string description;
  std::optional<std::int64_t> ttl_seconds;  // nullopt: no expiry
  std::optional<std::string> token_value;   // bootstrap only: use this value instead of a new one
};

struct CreatedAdminToken {
  AdminToken token;
  std::string value;  // shown once
};

// Admins only (or the system principal).
Result<CreatedAdminToken> create_admin_token(store::Tx& tx, const OpContext& ctx,
                                             const NewAdminToken& input,
                                             const crypto::SecretHasher& hasher);
Result<std::vector<AdminToken>> list_admin_tokens(store::Tx& tx, const OpContext& ctx);
Result<AdminToken> revoke_admin_token(store::Tx& tx, const OpContext& ctx, std::string_view id);

// Resolves a presented token to its principal: kUnauthenticated when unknown, revoked, expired,
// or (owner role) when the human is no longer active.
Result<Principal> authenticate_admin_token(store::Tx& tx, std::string_view value,
                                           const crypto::SecretHasher& hasher, Micros now);

Result<std::int64_t> count_admin_tokens(store::Tx& tx);

}  // namespace custody::directory
