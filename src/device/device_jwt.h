// What devices sign (docs/devices.md, "What the agent signs"). Every call custody-agent makes
// after enrolment is a compact JWS signed with the device key, sent as the request body
// (Content-Type application/jwt), so that what the server acts on is exactly what the device
// signed, and nothing can be replayed:
//
//   header  {"alg": "ES256" | "EdDSA", "typ": <purpose>, "kid": <device id>}
//   claims  {"iss": <device id>, "aud": <custody's issuer>, "iat", "exp" (at most
//            device.request_max_lifetime_seconds after iat), "jti" (1..128 characters),
//            ...the purpose's own members}
//
// Purposes (typ): custody-posture+jwt (a posture report), custody-device+jwt (any other request;
// its "req" claim names the operation, e.g. "workloads", "assertion", "event").
//
// Enrolment proves possession of a new key the same way, with the key itself in the header:
//   header  {"alg", "typ": "custody-enrol+jwt", "jwk": <the new public key>}
//   claims  {"aud", "iat", "exp", "jti", "enrolment_token", "hostname", "platform"}
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "common/clock.h"
#include "common/result.h"
#include "crypto/jwk.h"
#include "device/device.h"
#include "store/store.h"

namespace custody::device {

inline constexpr std::string_view kPostureType = "custody-posture+jwt";
inline constexpr std::string_view kRequestType = "custody-device+jwt";
inline constexpr std::string_view kEnrolType = "custody-enrol+jwt";

struct DeviceJwtPolicy {
  std::string audience;  // custody's issuer
  Micros max_lifetime = 300 * kMicrosPerSecond;
  Micros skew = 60 * kMicrosPerSecond;  // tolerated clock difference
  std::size_t max_bytes = 256 * 1024;   // a posture report with a discovery summary
};

// A device JWT whose signature, header and registered claims verified.
struct VerifiedDeviceJwt {
  Device device;
  nlohmann::json claims;
  std::string jti;
  Micros expires_at = 0;  // exp + skew: how long the jti must be remembered
};

// Verifies `token` as a `typ` JWT of device `device_id` (the URL's id; the header "kid" and
// "iss" must both name it). Refusals, each kUnauthenticated with a message that says which
// check failed: malformed, wrong typ or alg, unknown device, revoked device ("device dev_… is
// revoked"), signature not by the device's key, wrong aud, expired, issued in the future beyond
// the skew ("clock"), lifetime too long, missing jti. The jti is NOT recorded here: the caller
// spends it in the replay cache (oauth/replay.h, kind "device") inside the write that acts on
// the request, so two deliveries of one JWT cannot both count.
Result<VerifiedDeviceJwt> verify_device_jwt(store::Tx& tx, std::string_view token,
                                            std::string_view typ, std::string_view device_id,
                                            const DeviceJwtPolicy& policy, Micros now);

// An enrolment proof: signature by the key in its own header, typ, aud, times, jti, and the
// members enrolment needs (enrolment_token, hostname 1..253, platform 1..64). Returns the
// claims and the key.
struct EnrolmentProof {
  crypto::Jwk key;
  nlohmann::json claims;
  std::string jti;
  Micros expires_at = 0;
};
Result<EnrolmentProof> verify_enrolment_proof(std::string_view token, const DeviceJwtPolicy& policy,
                                              Micros now);

}  // namespace custody::device
