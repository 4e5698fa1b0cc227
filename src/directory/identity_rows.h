// Identity rows (internal to src/directory): the column list, row mapping, and the few
// statements every identity-related operation shares. No rights checks here; see access.h.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "common/result.h"
#include "directory/model.h"
#include "store/store.h"

namespace custody::directory::rows {

// The columns identity_from_row() expects, in order; prefix with a table alias when joining.
inline constexpr std::string_view kIdentityColumns =
    "id, kind, display_name, description, labels, owner_id, state, version, created_at, "
    "updated_at";

// kInternal when the stored row does not parse (unknown kind/state, broken labels JSON).
Result<Identity> identity_from_row(const store::Row& row);

// The identity with this id, or nullopt.
Result<std::optional<Identity>> find_identity(store::Tx& tx, std::string_view id);

// An identity with the facts about it that authentication and policy decisions ask for with
// it, read in one statement instead of three point queries: whether it is bound to devices
// (device_identities; device-bound identities authenticate only with device-attested
// assertions) and the state of its discovery finding (discovery_findings).
struct IdentityFacts {
  Identity identity;
  bool device_bound = false;
  bool discovered = false;  // discovery created it (it has a finding)
  bool drifted = false;     // its finding reports a launch definition other than the registered
};
Result<std::optional<IdentityFacts>> find_identity_facts(store::Tx& tx, std::string_view id);

Status insert_identity(store::Tx& tx, const Identity& identity);
// Writes the mutable fields of `identity` (already at its new version) when the stored version
// is still `previous_version`; kPreconditionFailed when another change got there first.
Status update_identity_row(store::Tx& tx, const Identity& identity, std::int64_t previous_version);
// Replaces the identity_labels rows of an identity (kept for filtering).
Status write_labels(store::Tx& tx, const Identity& identity);

// The labels map as compact JSON text, and back (kInternal on broken text).
std::string labels_text(const std::map<std::string, std::string>& labels);
Result<std::map<std::string, std::string>> parse_labels(const std::string& text);

}  // namespace custody::directory::rows
