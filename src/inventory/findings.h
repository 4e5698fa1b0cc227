// The inventory of discovered AI components (docs/find-agents.md). A device's discovery report
// is ingested in the write that verified it: each finding is deduplicated across devices by its
// launch definition (report.h), becomes an identity in state discovered (kind mcp_server or
// agent, owned by the device's owner) the first time any device reports it, and is linked to
// every device that reports it (a sighting: where, first and last seen). Registration moves the
// identity discovered → pending → active and records the approved definition; rejection retires
// it, so it stays known and is never reported as new again. A registered component reported
// with another definition in the same place is drifted until it is registered again.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/result.h"
#include "device/device.h"
#include "directory/entitlements.h"
#include "directory/model.h"
#include "directory/principal.h"
#include "inventory/report.h"
#include "store/store.h"

namespace custody::inventory {

struct Sighting {
  std::string device_id;
  std::string device_owner;
  std::string hostname;
  std::string definition_hash;
  std::string fingerprint;
  std::string client, scope, config_file, server_name;
  bool running = false;
  nlohmann::json risks;    // [{signal, detail}]
  nlohmann::json secrets;  // [{field, classification, pattern}]
  Micros first_seen_at = 0;
  Micros last_seen_at = 0;
};

struct Finding {
  directory::Identity identity;  // id, kind, owner, state
  std::string definition_hash;
  std::string scanner_kind;
  std::string name, transport, target;
  nlohmann::json definition;
  std::optional<std::string> registered_hash;
  std::optional<std::string> drifted_hash;
  std::optional<Micros> drifted_at;
  std::optional<std::string> reject_reason;
  Micros first_seen_at = 0;
  Micros last_seen_at = 0;
  std::vector<Sighting> sightings;

  bool drifted() const { return drifted_hash.has_value(); }
};

struct IngestResult {
  std::vector<std::string> created;  // identities discovered by this report
  std::vector<std::string> drifted;  // registered identities whose definition changed
  int known = 0;                     // findings already in the inventory (retired included)
};

// Ingests a verified report of `device` (actor of the audit events: the device). Creates
// identities through directory::create_identity, so the device's owner must be an active human.
Result<IngestResult> ingest(store::Tx& tx, const device::Device& device,
                            const DiscoveryReport& report, const std::string& request_id,
                            Micros now);

struct FindingFilter {
  std::optional<directory::State> state;
  std::optional<std::string> device;
  std::optional<std::string> owner;
  std::optional<directory::Kind> kind;
  std::optional<std::string> after_id;
  int limit = 100;
};

// Owners see the findings they own and those seen on their devices; others look absent.
Result<std::vector<Finding>> list_findings(store::Tx& tx, const directory::OpContext& ctx,
                                           const FindingFilter& filter);
// kNotFound when absent or not visible.
Result<Finding> get_finding(store::Tx& tx, const directory::OpContext& ctx, std::string_view id);

struct Registration {
  std::optional<std::string> owner;
  std::vector<directory::NewEntitlement> entitlements;
  bool activate = true;  // false: stop at pending (an owner proposes, an admin activates later)
};

// discovered → pending (→ active): assigns the owner, grants the entitlements (with their tool
// allow-lists) and records the current definition as the approved one, which clears a drift.
// kConflict for a retired finding or one already active and not drifted.
Result<Finding> register_finding(store::Tx& tx, const directory::OpContext& ctx,
                                 std::string_view id, const Registration& registration);

// Retires the finding's identity with `reason`; it stays in the inventory.
Result<Finding> reject_finding(store::Tx& tx, const directory::OpContext& ctx, std::string_view id,
                               const std::string& reason);

// The finding an identity came from, without visibility checks (for policy and token issuance);
// nullopt for identities that were not discovered.
Result<std::optional<Finding>> finding_of_identity(store::Tx& tx, std::string_view identity_id);

// True when the identity is a discovered component that drifted since its registration.
Result<bool> is_drifted(store::Tx& tx, std::string_view identity_id);

// The shadow inventory: one row per device sighting of every component that runs but is not
// registered (discovered, pending) or is registered but drifted.
struct ShadowRow {
  std::string identity_id, name, kind, state;
  bool drifted = false;
  std::string owner;
  Sighting sighting;
  std::string target, transport;
};
Result<std::vector<ShadowRow>> shadow_inventory(store::Tx& tx, const directory::OpContext& ctx);

nlohmann::json to_json(const Finding& finding);
nlohmann::json to_json(const ShadowRow& row);
// Header line then one line per row (CRLF), fields quoted per RFC 4180.
std::string shadow_csv(const std::vector<ShadowRow>& rows);

}  // namespace custody::inventory
