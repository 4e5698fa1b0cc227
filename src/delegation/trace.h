// Reading and revoking delegation records through the admin API, with the same rights rules as
// the directory (docs/api.md, Roles): admins and auditors read every record; an owner reads the
// records of chains whose subject, actor or client it owns; only admins and owners of a chain
// member revoke.
//
// A trace answers "who started this, through which hops, and what came of it": the chain from the
// root record (the initiating identity's token) down to the record asked about, each hop with its
// actor, client, scopes, audience and times, plus every record derived from it (downstream).
#pragma once

#include <nlohmann/json.hpp>
#include <string_view>

#include "common/result.h"
#include "delegation/record.h"
#include "directory/principal.h"
#include "store/store.h"

namespace custody::delegation {

// kNotFound when absent or not readable by the principal.
Result<Record> get_delegation(store::Tx& tx, const directory::OpContext& ctx, std::string_view id);

// {"delegation_id", "initiator": {"subject", "issuer"}, "chain": [hop...], "downstream": [...]}.
Result<nlohmann::json> trace(store::Tx& tx, const directory::OpContext& ctx, std::string_view id);

// Revokes the record and its subtree; appends "delegation.revoke" with the revoked ids.
// Returns the ids revoked now.
Result<std::vector<std::string>> revoke_delegation(store::Tx& tx, const directory::OpContext& ctx,
                                                   std::string_view id, const std::string& reason);

}  // namespace custody::delegation
