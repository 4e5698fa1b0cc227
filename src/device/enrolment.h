// Enrolment (docs/devices.md, "Enrolling a device"): an admin, or an owner for itself, creates a
// one-time enrolment token that expires soon; custody-agent generates the device key pair on the
// host and sends an enrolment proof (device_jwt.h) carrying the token, signed by the new key.
// custody creates the device (owner from the token) or, for a re-enrolment token, gives the
// named device the new key. The token value is shown once and stored as a keyed hash.
#pragma once

#include <optional>
#include <string>

#include "common/clock.h"
#include "common/result.h"
#include "crypto/keyed_hash.h"
#include "device/device.h"
#include "device/device_jwt.h"
#include "directory/principal.h"
#include "store/store.h"

namespace custody::device {

struct NewEnrolmentToken {
  std::string owner;                     // an active human
  std::optional<std::string> device_id;  // re-enrolment of this (not revoked) device
  Micros ttl = 15 * 60 * kMicrosPerSecond;
};

struct EnrolmentToken {
  std::string id;     // det_…
  std::string value;  // cdet_…, shown once
  std::string owner;
  std::optional<std::string> device_id;
  Micros expires_at = 0;
};

// Checks that the owner is an active human the principal may act for (admins: any; owner-role
// tokens: their own human only), that a re-enrolled device exists, is not revoked and belongs to
// that owner, then stores the token's hash and audits "device.enrolment_token.create".
Result<EnrolmentToken> create_enrolment_token(store::Tx& tx, const directory::OpContext& ctx,
                                              const NewEnrolmentToken& in,
                                              const crypto::SecretHasher& hasher);

struct Enrolled {
  Device device;
  bool reenrolled = false;
};

// Spends the proof's enrolment token (unknown, used or expired → kUnauthenticated, saying which)
// and creates or re-keys the device. A key already enrolled for another device is kConflict.
// Audits "device.enrol" (actor: the device id). The proof's jti is spent by the caller.
Result<Enrolled> enrol(store::Tx& tx, const EnrolmentProof& proof,
                       const crypto::SecretHasher& hasher, const std::string& request_id,
                       Micros now);

}  // namespace custody::device
