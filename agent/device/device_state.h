// What enrolment leaves on the device (docs/devices.md, "Enrolling a device"): in the state
// directory (default /var/lib/custody-agent, mode 0700),
//   device.key   the device's private key as a JWK (mode 0600; never leaves the host)
//   device.json  {"server", "issuer", "device_id", "owner", "enrolled_at"}
// Files are written to a temporary name and renamed, so a crash never leaves half a key.
#pragma once

#include <optional>
#include <string>

#include "common/result.h"
#include "crypto/jwk.h"

namespace custody::agent {

inline constexpr const char* kDefaultStateDir = "/var/lib/custody-agent";

struct DeviceState {
  std::string server;     // the custodyd URL the agent talks to
  std::string issuer;     // custody's issuer (the aud of what the device signs)
  std::string device_id;  // dev_…
  std::string owner;
  std::string enrolled_at;
  std::optional<crypto::Jwk> key;  // private; always set once loaded or enrolled
};

// kNotFound when the directory holds no enrolment; other errors name the file and the problem
// (a key file readable by others is refused: kPermissionDenied).
Result<DeviceState> load_state(const std::string& dir);
// Creates the directory (0700) when missing and writes both files.
Status save_state(const std::string& dir, const DeviceState& state);

}  // namespace custody::agent
