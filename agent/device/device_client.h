// custody-agent's side of the device protocol (docs/devices.md; the server side is
// src/device/device_jwt.h): every request is a JWT signed with the device key and sent as the
// body. One DeviceClient per enrolled device; safe to use from several threads (each call opens
// its own connection).
#pragma once

#include <chrono>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "common/result.h"
#include "device/device_state.h"
#include "net/http_client.h"

namespace custody::agent {

// custody's issuer, read from the server's /.well-known/oauth-authorization-server.
Result<std::string> fetch_issuer(const net::HttpClient& http);

// Generates a P-256 device key, proves possession of it with the enrolment token and stores the
// enrolment in `state_dir`. Refusals carry the server's problem detail.
Result<DeviceState> enrol_device(const std::string& server_url, const std::string& token,
                                 const std::string& state_dir, const std::string& hostname,
                                 const std::string& platform);

// Bounds for calls to custodyd: a workload waits on them, so an unreachable custodyd must fail in
// seconds, not in the generic client's 30 s.
inline net::HttpClientOptions agent_http_options() {
  net::HttpClientOptions o;
  o.connect_timeout = std::chrono::milliseconds(5'000);
  o.io_timeout = std::chrono::milliseconds(15'000);
  o.max_body_bytes = 4 * 1024 * 1024;
  return o;
}

class DeviceClient {
 public:
  DeviceClient(DeviceState state, net::HttpClientOptions options = agent_http_options());

  const DeviceState& state() const { return state_; }

  // A JWT of this device: typ, iss = device id, aud = issuer, iat, exp = iat + lifetime, jti,
  // and `claims`.
  Result<std::string> sign(std::string_view typ, nlohmann::json claims) const;

  // POSTs a signed JWT to `path`; the JSON answer on 2xx, else an error with the problem's
  // detail (kUnauthenticated for 401, kPermissionDenied for 403, kUnavailable when custodyd
  // cannot be reached or answers 5xx).
  Result<nlohmann::json> post_signed(const std::string& path, const std::string& jwt) const;

  // The device endpoints.
  Result<nlohmann::json> report_posture(const nlohmann::json& posture) const;
  Result<nlohmann::json> workloads() const;
  Result<nlohmann::json> assertion(const std::string& identity, const nlohmann::json& process,
                                   const std::optional<std::string>& dpop_jkt) const;
  Result<nlohmann::json> event(const nlohmann::json& claims) const;

  // client_credentials at custody's token endpoint with a device-attested assertion. `params`
  // are extra form parameters (scope, audience, resource).
  Result<nlohmann::json> token(
      const std::string& token_endpoint, const std::string& client_id, const std::string& assertion,
      const std::vector<std::pair<std::string, std::string>>& params) const;

 private:
  DeviceState state_;
  net::HttpClient http_;
  std::chrono::seconds lifetime_{60};
};

}  // namespace custody::agent
