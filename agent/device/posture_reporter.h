// Sends the device's posture to custodyd on a schedule and on change (docs/devices.md): the
// agent collects every `check_every` (a collection costs well under a millisecond with the
// updates answer cached) and reports when the posture differs from the last one reported, or
// when `report_every` has passed since — well inside custodyd's maximum posture age, so that a
// healthy device never goes stale.
#pragma once

#include <chrono>
#include <nlohmann/json.hpp>
#include <optional>

#include "device/device_client.h"
#include "posture/collector.h"

namespace custody::agent {

class PostureReporter {
 public:
  PostureReporter(const DeviceClient& client, posture::PostureCollector& collector,
                  std::chrono::seconds report_every)
      : client_(client), collector_(collector), report_every_(report_every) {}

  // One tick: collect, and report when due. Returns custodyd's verdict when it reported, nullopt
  // when nothing was due; an error when the report failed (the next tick retries).
  Result<std::optional<nlohmann::json>> tick();

 private:
  const DeviceClient& client_;
  posture::PostureCollector& collector_;
  std::chrono::seconds report_every_;
  nlohmann::json last_reported_;  // without the timing members
  std::optional<std::chrono::steady_clock::time_point> last_report_at_;
};

}  // namespace custody::agent
