// What a change of a device's trust does (docs/devices.md, "When a device degrades"), inside the
// transaction that records the change, so that the verdict, the revocations and the events
// commit together or not at all:
//  - the verdict and its reasons are stored;
//  - leaving trusted for untrusted (a failing report, a stale report, a revocation) revokes every
//    live token issued for the device, with everything derived from those tokens;
//  - crossing between trusted and not trusted emits a CAEP device-compliance-change event
//    (compliant ↔ not-compliant) to the Shared Signals streams that asked for it;
//  - an audit event "device.trust" (actor: who caused it) records before, after, the reasons
//    and the revoked tokens.
#pragma once

#include <string>
#include <vector>

#include "common/clock.h"
#include "common/result.h"
#include "device/device.h"
#include "device/trust.h"
#include "store/store.h"

namespace custody::device {

struct TrustChange {
  std::string actor;       // the device (a report), "system" (staleness), an admin (revoke)
  std::string request_id;  // "" for background sweeps
  std::string cause;       // "posture", "stale", "revoked"
};

struct Applied {
  Trust before = Trust::kUnknown;
  Trust after = Trust::kUnknown;
  std::vector<std::string> revoked;  // delegation records revoked now
};

// Records `verdict` for `device` (as read in this transaction). When `posture` is not null it is
// the verified report the verdict came from and is stored with it.
Result<Applied> apply_verdict(store::Tx& tx, const Device& device, const Verdict& verdict,
                              const nlohmann::json& posture, Micros collected_at,
                              const TrustChange& change, Micros now);

// Revokes the device: its key is refused from now on, its trust is untrusted, and its tokens are
// revoked (with the events above). Audits "device.revoke". kConflict when already revoked.
Result<Applied> revoke_device(store::Tx& tx, const Device& device, const std::string& reason,
                              const TrustChange& change, Micros now);

// Demotes every active device whose last report is older than `max_age` to untrusted (at most
// `limit` per call); returns how many it demoted.
Result<int> demote_stale(store::Tx& tx, Micros max_age, Micros now, int limit = 500);

}  // namespace custody::device
