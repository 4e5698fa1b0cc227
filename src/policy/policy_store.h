// Persistence of the PDP's state (migration 0004): versioned policy bundles, versioned
// application entity sets, and the row naming the active version of each.
//
// Versions are immutable and numbered 1, 2, … in the order they were stored. Activating a
// version is one update of pdp_state, committed with its audit event; every node reads pdp_state
// and swaps its compiled snapshot (see pdp.h), so a switch needs no restart.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/result.h"
#include "policy/bundle.h"
#include "store/store.h"

namespace custody::policy {

struct PolicyVersionInfo {
  std::int64_t version = 0;
  std::string digest;
  std::int64_t policy_count = 0;
  bool has_schema = false;
  std::string description;
  std::string created_by;
  Micros created_at = 0;
};

struct EntitiesVersionInfo {
  std::int64_t version = 0;
  std::string digest;
  std::int64_t entity_count = 0;
  std::string created_by;
  Micros created_at = 0;
};

struct PdpState {
  std::int64_t policy_version = 0;    // 0: none
  std::int64_t entities_version = 0;  // 0: none
};

Result<PdpState> read_pdp_state(store::Tx& tx);

// Stores a bundle as the next version (not activated).
Result<PolicyVersionInfo> insert_policy_version(store::Tx& tx, const BundleSource& source,
                                                std::int64_t policy_count,
                                                const std::string& description,
                                                const std::string& created_by, Micros now);
// kNotFound when the version does not exist.
Status activate_policy_version(store::Tx& tx, std::int64_t version, Micros now);
// Newest first; versions below `before` when set.
Result<std::vector<PolicyVersionInfo>> list_policy_versions(store::Tx& tx, int limit,
                                                            std::optional<std::int64_t> before);
Result<PolicyVersionInfo> get_policy_version(store::Tx& tx, std::int64_t version);
Result<BundleSource> get_policy_bundle(store::Tx& tx, std::int64_t version);

// Stores an entities document (a Cedar entities JSON array, as text) as the next version and
// makes it active.
Result<EntitiesVersionInfo> insert_entities_version(store::Tx& tx, const std::string& entities,
                                                    std::int64_t entity_count,
                                                    const std::string& created_by, Micros now);
Result<EntitiesVersionInfo> get_entities_version(store::Tx& tx, std::int64_t version);
Result<std::string> get_entities_text(store::Tx& tx, std::int64_t version);

nlohmann::json to_json(const PolicyVersionInfo& info, bool active);
nlohmann::json to_json(const EntitiesVersionInfo& info, bool active);

}  // namespace custody::policy
