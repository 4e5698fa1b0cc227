// Uploading discovery reports (docs/find-agents.md): `custody-agent scan --upload` and the
// periodic scan of `custody-agent run`. The report (agent/discovery/report_json.h) travels as
// the "report" claim of a custody-device+jwt with req "discovery", signed by the device key, to
// POST /api/v1/devices/{id}/discovery. The report holds no secret values (the scanner redacts
// them), so neither does the upload.
#pragma once

#include <nlohmann/json.hpp>

#include "common/result.h"
#include "device/device_client.h"
#include "discovery/scanner.h"

namespace custody::agent {

// Signs and posts `report`; custodyd's answer ({findings, created, drifted, known}) on success,
// the server's refusal otherwise.
Result<nlohmann::json> upload_report(const DeviceClient& client, const nlohmann::json& report);

// Scans with `options` and uploads the report.
Result<nlohmann::json> scan_and_upload(const DeviceClient& client,
                                       const discovery::ScanOptions& options);

}  // namespace custody::agent
