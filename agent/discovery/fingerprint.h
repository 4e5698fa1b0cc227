// The stable identity of a launch definition on one device. Two entries with the same transport,
// command, redacted args, redacted URL and env/header names get the same fingerprint, wherever
// they are configured (so one server in three clients is one component); editing any of those
// changes it (drift). Secret values are not part of it (args and URLs are hashed redacted), so a
// rotated token is not drift and the fingerprint cannot be used to test guesses of a secret.
#pragma once

#include <string>
#include <string_view>

#include "discovery/finding.h"

namespace custody::discovery {

// The canonical text hashed: JSON with sorted keys of {transport, command, args, url, env,
// headers}. Exposed for tests and for the server to recompute.
std::string launch_definition(const Finding& f);

// Lowercase hex SHA-256 of device_id + "\n" + launch_definition(f).
std::string fingerprint_of(const Finding& f, std::string_view device_id);

}  // namespace custody::discovery
