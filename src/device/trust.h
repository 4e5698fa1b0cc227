// Posture assessment (docs/devices.md, "Posture policies"): a verified posture report becomes the
// device's Cedar attributes, and the active policy bundle decides the trust verdict with the
// actions trust_device (→ trusted) and tolerate_device (→ degraded); neither permits →
// untrusted. A report older than the configured maximum age is untrusted without asking, and so
// is a policy error (fail closed).
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/result.h"
#include "device/device.h"
#include "store/store.h"

namespace custody::policy {
class Pdp;
}  // namespace custody::policy

namespace custody::device {

// Checks a report's "posture" member strictly (every section and key of docs/posture.md with
// its type; unknown sections are ignored, a section of the wrong shape is kInvalidArgument
// naming it) and returns the Device entity's attributes without the ages and the device's own
// fields. collected_at (Unix seconds) is returned separately.
struct PostureAttributes {
  nlohmann::json attributes;
  Micros collected_at = 0;
};
Result<PostureAttributes> posture_attributes(const nlohmann::json& posture);

struct Verdict {
  Trust trust = Trust::kUntrusted;
  std::vector<std::string> reasons;  // English, for the API, the audit log and the CAEP event
  std::int64_t policy_version = 0;
};

struct AssessInput {
  const Device& device;
  const nlohmann::json& attributes;  // from posture_attributes
  Micros collected_at = 0;
  Micros received_at = 0;
  Micros max_age = 0;  // device.posture_max_age_seconds
  Micros now = 0;
};

// Never fails: an evaluation error is an untrusted verdict whose reason says so.
Verdict assess(store::Tx& tx, const policy::Pdp& pdp, const AssessInput& in);

}  // namespace custody::device
