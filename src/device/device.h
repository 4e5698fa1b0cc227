// Enrolled devices (docs/devices.md): the host custody-agent runs on, known by the public key the
// agent generated at enrolment, owned by a human, with the trust verdict of its latest verified
// posture report. Rows only: enrolment.h creates devices, trust.h decides their trust,
// compliance.h applies a change of trust.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.h"
#include "common/result.h"
#include "store/store.h"

namespace custody::device {

// trusted: the posture policies say the host is healthy; degraded: it may keep what it has but
// gets nothing new; untrusted: everything bound to it is revoked; unknown: no report yet.
enum class Trust { kTrusted, kDegraded, kUntrusted, kUnknown };
std::string_view trust_name(Trust trust);
std::optional<Trust> parse_trust(std::string_view name);

struct Device {
  std::string id;  // dev_…
  std::string owner_id;
  std::string hostname;
  std::string platform;
  nlohmann::json public_jwk;
  std::string key_thumbprint;
  bool revoked = false;
  Trust trust = Trust::kUnknown;
  std::vector<std::string> trust_reasons;
  Micros trust_changed_at = 0;
  nlohmann::json posture;  // null before the first report
  std::optional<Micros> posture_collected_at;
  std::optional<Micros> posture_received_at;
  Micros enrolled_at = 0;
  std::optional<Micros> revoked_at;
  std::optional<std::string> revoked_by;
  std::optional<std::string> revocation_reason;
};

Status insert_device(store::Tx& tx, const Device& device);
// nullopt when no device has this id.
Result<std::optional<Device>> find_device(store::Tx& tx, std::string_view id);

struct DeviceFilter {
  std::optional<std::string> owner;
  std::optional<Trust> trust;
  std::optional<bool> revoked;
  std::optional<std::string> after_id;  // cursor: ids sort by creation time
  int limit = 100;
};
Result<std::vector<Device>> list_devices(store::Tx& tx, const DeviceFilter& filter);

// A new key for an enrolled device (re-enrolment); its trust starts over at unknown.
Status replace_key(store::Tx& tx, const Device& device, Micros now);
// Stores a verified report and the verdict it led to.
Status store_posture(store::Tx& tx, std::string_view id, const nlohmann::json& posture,
                     Micros collected_at, Micros received_at, Trust trust,
                     const std::vector<std::string>& reasons, Micros now);
// Changes the verdict only (a stale report, a revocation).
Status set_trust(store::Tx& tx, std::string_view id, Trust trust,
                 const std::vector<std::string>& reasons, Micros now);
Status mark_revoked(store::Tx& tx, std::string_view id, Micros now, const std::string& by,
                    const std::string& reason);

// Active devices whose verdict is not untrusted and whose last report arrived before `cutoff`
// (or that never reported and enrolled before it): the ones a stale-posture sweep demotes.
Result<std::vector<Device>> stale_devices(store::Tx& tx, Micros cutoff, int limit);

// The device as the API shows it (no key material beyond the public key).
nlohmann::json to_json(const Device& device, Micros now);

}  // namespace custody::device
