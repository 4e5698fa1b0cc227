// What every endpoint a device calls shares (docs/devices.md, "What the agent signs"): the
// signed body, the verification policy, and the check that verifies a device JWT and spends its
// jti inside the write that acts on it.
#pragma once

#include <string>
#include <string_view>

#include "api/context.h"
#include "common/result.h"
#include "device/device_jwt.h"
#include "http/message.h"

namespace custody::api {

// aud = the issuer, the lifetime and skew of the configuration; max_bytes = 256 KiB.
device::DeviceJwtPolicy device_jwt_policy(const ApiContext& api);

// The JWT a device sent: the whole body, as application/jwt (or text/plain from simple clients),
// without trailing whitespace. kInvalidArgument when empty.
Result<std::string> signed_body(const http::Request& req);

// Verifies a `typ` JWT of `device_id` under `policy` (device_jwt.h lists each refusal); when
// `req` is not empty the claim "req" must equal it. Spends the jti (replay cache kind "device")
// in `tx`; a second use is kUnauthenticated "this JWT was already used".
Result<device::VerifiedDeviceJwt> verified_device_request(
    store::Tx& tx, const std::string& jwt, std::string_view typ, const std::string& device_id,
    std::string_view req, const device::DeviceJwtPolicy& policy, Micros now);

}  // namespace custody::api
