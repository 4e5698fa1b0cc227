// Device-attested client assertions (docs/devices.md, "Tokens on a device"). custody-agent asks
// for one on behalf of a local process it attested (workloads.h); custody checks, at that
// moment, that the device is active and trusted, that the identity is allowed on it and that the
// agent's evidence about the process matches the binding's selectors, and then signs an RFC 7523
// client assertion for the identity with its own signing key:
//
//   header  {"alg", "kid", "typ": "custody-device-assertion+jwt"}
//   claims  {"iss" = "sub" = client_id, "aud": the token endpoint, "iat", "exp" (≤ TTL),
//            "jti", "device_id", "cnf": {"jkt"} when the process certified a DPoP key}
//
// The process presents it as a private_key_jwt client_assertion (or custody-agent does, at its
// /v1/token). The token endpoint accepts it only while the device is still trusted, and binds the
// token to the device (delegation record device_id, token claim "device_id").
#pragma once

#include <optional>
#include <string>

#include "common/clock.h"
#include "common/result.h"
#include "crypto/signing_keys.h"
#include "device/device.h"
#include "device/workloads.h"
#include "store/store.h"

namespace custody::device {

inline constexpr std::string_view kAssertionType = "custody-device-assertion+jwt";

struct AssertionRequest {
  std::string identity;
  ProcessEvidence process;
  std::optional<std::string> dpop_jkt;  // a DPoP key the process holds (RFC 7638 thumbprint)
};

struct MintedAssertion {
  std::string assertion;
  std::string client_id;
  std::string jti;
  Micros expires_at = 0;
};

// Why a device may not be used for tokens at `now` ("" when it may): revoked, not trusted, or
// its last report older than max_age.
std::string unusable_reason(const Device& device, Micros posture_max_age, Micros now);

// Checks the device, the binding and the selectors (a refusal is kPermissionDenied naming the
// failed check, e.g. "selector exe_sha256:… does not match the process") and signs the assertion.
Result<MintedAssertion> mint_assertion(store::Tx& tx, const Device& device,
                                       const AssertionRequest& request,
                                       const crypto::SigningKey& key,
                                       const std::string& token_endpoint, Micros ttl,
                                       Micros posture_max_age, Micros now);

}  // namespace custody::device
