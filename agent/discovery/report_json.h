// The scan report as JSON (`custody-agent scan --json`, and later the upload to custodyd) and as
// a readable table. Both are built only from Report, which holds no secret values.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "discovery/finding.h"

namespace custody::discovery {

// {"schema": "custody.discovery.report/v1", root, device_id_source, scanned_at, findings,
//  credential_stores, processes, warnings, stats}; docs/discovery.md documents each member.
nlohmann::json report_to_json(const Report& report);

// One line per finding (client, scope, server, transport, command or URL, risks), then processes,
// credential stores and warnings, then a summary line.
std::string report_to_text(const Report& report);

}  // namespace custody::discovery
