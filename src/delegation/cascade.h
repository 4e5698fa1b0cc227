// Continuous revocation (docs/delegation-bounds.md, "Continuous revocation"): when authority is
// withdrawn from an identity, every live token that carries it dies, with everything derived from
// it, in the same transaction as the change that withdrew it. Introspection and every other check
// read the records, so they reflect it the moment that transaction commits.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/result.h"
#include "store/store.h"

namespace custody::delegation {

// Every live record (not revoked, not expired at `now`) in which `identity` is the initiator
// (subject), the acting identity or the client, and the subtrees below them. Returns the ids
// revoked now.
Result<std::vector<std::string>> revoke_for_identity(store::Tx& tx, const std::string& identity,
                                                     Micros now, const std::string& by,
                                                     const std::string& reason);

// Every live record that may rely on the entitlement (identity, scope, resource): records of the
// identity as client or actor, or as the subject of an authorization code token (a human's
// authority delegated to a client), whose scopes include `scope` and whose audience includes
// `resource`, and their subtrees. (It revokes a token that happened not to need this entitlement
// rather than keep one that did.)
Result<std::vector<std::string>> revoke_for_entitlement(store::Tx& tx, const std::string& identity,
                                                        const std::string& scope,
                                                        const std::string& resource, Micros now,
                                                        const std::string& by,
                                                        const std::string& reason);

// Every live record issued for `device_id` (record.device_id), limited to those whose client is
// `client` when given, and their subtrees: what dies when a device stops being trusted, is
// revoked, or no longer allows the identity.
Result<std::vector<std::string>> revoke_for_device(store::Tx& tx, const std::string& device_id,
                                                   const std::optional<std::string>& client,
                                                   Micros now, const std::string& by,
                                                   const std::string& reason);

}  // namespace custody::delegation
