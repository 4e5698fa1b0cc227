// The posture report's JSON, the one shape custodyd consumes (docs/posture.md):
//   {"collected_at":1700000000,"collection_ms":12,
//    "os":{"known":true,"id":"debian","version_id":"12","version":"12 (bookworm)",
//          "name":"Debian GNU/Linux","pretty_name":"Debian GNU/Linux 12 (bookworm)"},
//    "kernel":{"known":true,"release":"6.1.0-18-amd64","version":"#1 SMP ..."},
//    "updates":{"known":true,"manager":"apt","pending":4,"pending_security":1},
//    "disk_encryption":{"known":true,"root_encrypted":true,"method":"luks2",
//                       "device":"/dev/mapper/root"},
//    "firewall":{"known":true,"active":true,"backend":"nftables","rules":12},
//    "secure_boot":{"known":false,"enabled":false},
//    "screen_lock":{"known":false,"enabled":false},
//    "mdm":{"known":true,"enrolled":false,"vendor":""},
//    "agent":{"version":"0.5.0"},
//    "ai_components":{"known":false,"count":0,"fingerprints":[]},
//    "warnings":["..."]}
// Every key is always written, with its default when the section is unknown.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "common/result.h"
#include "posture/posture.h"

namespace custody::posture {

// Strings read from the device are made valid UTF-8 (each invalid byte becomes U+FFFD) so that
// the result always serialises with dump().
nlohmann::json posture_to_json(const Posture& posture);

// Reads a report in that shape, strictly: every key above must be present with its type
// (integers non-negative, booleans true/false, strings, arrays of strings); anything else is
// kInvalidArgument whose message names the member ("updates.pending: expected a non-negative
// integer, got string") and whose field is its JSON pointer ("/updates/pending"). Members not in
// the shape are ignored, so that a newer agent's report still parses.
Result<Posture> posture_from_json(const nlohmann::json& json);

// A short human-readable rendering, one line per section, then the warnings.
std::string posture_to_text(const Posture& posture);

}  // namespace custody::posture
