// Identity operations. Each runs inside the caller's transaction, checks the principal's rights,
// validates input, changes rows, and appends the audit event of a success in the same
// transaction. Errors carry the code the API returns (see docs/api.md) and the offending field.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"
#include "directory/model.h"
#include "directory/principal.h"
#include "store/store.h"

namespace custody::directory {

struct NewIdentity {
  Kind kind = Kind::kHuman;
  std::string display_name;                   // 1..200 characters
  std::string description;                    // ≤ 2000
  std::map<std::string, std::string> labels;  // ≤ 64 labels; key 1..63 [a-z0-9_.-/], value ≤ 256
  std::optional<std::string> owner_id;
  std::optional<State> state;  // discovered | pending | active; default by kind (docs/api.md)
};

struct IdentityPatch {
  std::optional<std::string> display_name;
  std::optional<std::string> description;
  std::optional<std::map<std::string, std::string>> labels;  // replaces the whole map
  std::optional<std::string> owner_id;                       // reassignment
};

struct IdentityFilter {
  std::optional<Kind> kind;
  std::optional<State> state;
  std::optional<std::string> owner_id;
  std::vector<std::pair<std::string, std::string>> labels;  // all must match
  int limit = 100;
  std::optional<std::string> cursor;  // opaque; from Page::next_cursor
};

// The result of a lifecycle action: the identity after it, and the identities that changed with it
// (offboarding a human suspends what it owns).
struct TransitionResult {
  Identity identity;
  std::vector<std::string> affected;
};

// Owners may create only identities they own (owner_id defaults to their human); no humans.
// A non-human needs an owner that is an existing human in state active (422 otherwise).
Result<Identity> create_identity(store::Tx& tx, const OpContext& ctx, const NewIdentity& input);

// kNotFound when absent. Owners may read only what they own (and their own human): others look
// absent to them (404), so ids do not leak.
Result<Identity> get_identity(store::Tx& tx, const OpContext& ctx, std::string_view id);

Result<Page<Identity>> list_identities(store::Tx& tx, const OpContext& ctx,
                                       const IdentityFilter& filter);

// expected_version: when set and different from the current version → kPreconditionFailed.
Result<Identity> update_identity(store::Tx& tx, const OpContext& ctx, std::string_view id,
                                 const IdentityPatch& patch,
                                 std::optional<std::int64_t> expected_version);

// Moves the identity to `target`. Illegal transitions → kConflict naming the current state.
// Activating a non-human needs an active human owner (kUnprocessable). Suspending or retiring a
// human suspends every pending/active identity it owns (they are listed in `affected` and each
// gets its own audit event). `reason` is recorded in the audit event.
Result<TransitionResult> transition(store::Tx& tx, const OpContext& ctx, std::string_view id,
                                    State target, std::optional<std::int64_t> expected_version,
                                    const std::string& reason);

}  // namespace custody::directory
