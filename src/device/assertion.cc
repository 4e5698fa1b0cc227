#include "device/assertion.h"

#include "common/ids.h"
#include "crypto/jwt.h"
#include "directory/identity_rows.h"

namespace custody::device {

std::string unusable_reason(const Device& d, Micros posture_max_age, Micros now) {
  if (d.revoked) return "device " + d.id + " is revoked";
  if (d.trust != Trust::kTrusted) {
    std::string why = "device " + d.id + " is " + std::string(trust_name(d.trust));
    if (!d.trust_reasons.empty()) why += ": " + d.trust_reasons.front();
    return why;
  }
  if (!d.posture_received_at || now - *d.posture_received_at > posture_max_age)
    return "device " + d.id + " has no posture report fresher than " +
           std::to_string(posture_max_age / kMicrosPerSecond) + " s";
  return "";
}

Result<MintedAssertion> mint_assertion(store::Tx& tx, const Device& device,
                                       const AssertionRequest& request,
                                       const crypto::SigningKey& key,
                                       const std::string& token_endpoint, Micros ttl,
                                       Micros posture_max_age, Micros now) {
  if (auto why = unusable_reason(device, posture_max_age, now); !why.empty())
    return Error::denied(why);
  CUSTODY_ASSIGN(auto binding, find_binding(tx, device.id, request.identity));
  if (!binding) return Error::denied(request.identity + " is not allowed on device " + device.id);
  if (auto miss = first_mismatch(binding->selectors, request.process))
    return Error::denied("selector " + miss->text() + " of " + request.identity +
                         " does not match the process (pid " + std::to_string(request.process.pid) +
                         ")");
  CUSTODY_ASSIGN(auto identity, directory::rows::find_identity(tx, request.identity));
  if (!identity || identity->state != directory::State::kActive)
    return Error::denied(request.identity + " is not an active identity");

  MintedAssertion out;
  out.client_id = request.identity;
  out.jti = new_id("das", now);
  out.expires_at = now + ttl;
  nlohmann::json claims = {{"iss", out.client_id},
                           {"sub", out.client_id},
                           {"aud", token_endpoint},
                           {"iat", now / kMicrosPerSecond},
                           {"exp", out.expires_at / kMicrosPerSecond},
                           {"jti", out.jti},
                           {"device_id", device.id}};
  if (request.dpop_jkt) claims["cnf"] = {{"jkt", *request.dpop_jkt}};
  CUSTODY_ASSIGN(out.assertion, crypto::jwt_sign(claims, key.key, kAssertionType));
  return out;
}

}  // namespace custody::device
