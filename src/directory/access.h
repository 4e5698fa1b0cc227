// Rights checks and audit recording shared by the directory operations (internal to
// src/directory). The rules (docs/api.md, Roles): admins do everything; auditors only read;
// owners read and manage what they own and read their own human. To an owner, an identity it
// may not read looks absent (404) so that ids do not leak.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "common/result.h"
#include "directory/model.h"
#include "directory/principal.h"
#include "store/store.h"

namespace custody::directory::access {

// kPermissionDenied for auditors.
Status require_write(const OpContext& ctx);
// Admin tokens and the system principal only (token management).
Status require_admin(const OpContext& ctx);

bool can_read(const Principal& who, const Identity& identity);
bool can_manage(const Principal& who, const Identity& identity);

// The identity when it exists and the principal may read it; kNotFound otherwise.
Result<Identity> readable_identity(store::Tx& tx, const OpContext& ctx, std::string_view id);
// The identity when the principal may change it: kNotFound when it may not even read it,
// kPermissionDenied when it may read but not change it (an owner and its own human).
Result<Identity> manageable_identity(store::Tx& tx, const OpContext& ctx, std::string_view id);

// kNotFound error for an object id (the id is echoed only when it is id-shaped).
Error not_found(std::string_view what, std::string_view id);

// Appends the success event of an operation: actor, time and request id from ctx.
Status record(store::Tx& tx, const OpContext& ctx, std::string action, std::string target,
              nlohmann::json details);

}  // namespace custody::directory::access
