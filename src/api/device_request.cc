#include "api/device_request.h"

#include "oauth/replay.h"
#include "oauth/service.h"

namespace custody::api {

device::DeviceJwtPolicy device_jwt_policy(const ApiContext& api) {
  device::DeviceJwtPolicy p;
  if (auto* oauth = api.oauth.load()) p.audience = oauth->settings().issuer;
  p.max_lifetime = api.config.device.request_max_lifetime_seconds * kMicrosPerSecond;
  if (auto* oauth = api.oauth.load()) p.skew = oauth->settings().skew;
  return p;
}

Result<std::string> signed_body(const http::Request& req) {
  std::string_view body = req.body();
  while (!body.empty() && (body.back() == '\n' || body.back() == '\r' || body.back() == ' '))
    body.remove_suffix(1);
  if (body.empty())
    return Error::invalid("the body must be a JWT signed by the device (application/jwt)");
  return std::string(body);
}

Result<device::VerifiedDeviceJwt> verified_device_request(
    store::Tx& tx, const std::string& jwt, std::string_view typ, const std::string& device_id,
    std::string_view req, const device::DeviceJwtPolicy& policy, Micros now) {
  CUSTODY_ASSIGN(auto v, device::verify_device_jwt(tx, jwt, typ, device_id, policy, now));
  if (!req.empty() &&
      (!v.claims.contains("req") || !v.claims["req"].is_string() || v.claims["req"] != req))
    return Error::unauthenticated("the JWT's req claim must be \"" + std::string(req) + "\"");
  CUSTODY_ASSIGN(bool fresh,
                 oauth::record_once(tx, "device", device_id + ":" + v.jti, v.expires_at, now));
  if (!fresh) return Error::unauthenticated("this JWT was already used (jti " + v.jti + ")");
  return v;
}

}  // namespace custody::api
