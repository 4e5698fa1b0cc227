// The workload API's three interfaces (agent/workload/broker.h) backed by custodyd through the
// device's signed requests (device_client.h):
//  - CustodydBindings: the identities allowed on this device with their selectors
//    (POST /api/v1/devices/{id}/workloads), cached for `ttl` and kept when custodyd cannot be
//    reached (the assertion request fails closed anyway when it cannot reach custodyd);
//  - CustodydBroker: device-attested client assertions (…/assertions) and access tokens
//    (client_credentials with such an assertion at custody's token endpoint);
//  - CustodydAudit: every refusal is reported to custodyd's audit log (…/events) and logged
//    locally; issuance is audited by custodyd itself.
// All three are safe to call from the workload server's worker threads.
#pragma once

#include <chrono>
#include <mutex>
#include <optional>

#include "device/device_client.h"
#include "workload/broker.h"

namespace custody::agent {

class CustodydBindings : public workload::BindingSource {
 public:
  CustodydBindings(const DeviceClient& client, std::chrono::seconds ttl)
      : client_(client), ttl_(ttl) {}
  Result<std::vector<workload::WorkloadBinding>> bindings() override;

 private:
  const DeviceClient& client_;
  std::chrono::seconds ttl_;
  std::mutex mu_;
  std::optional<std::vector<workload::WorkloadBinding>> cached_;
  std::chrono::steady_clock::time_point fetched_;
};

class CustodydBroker : public workload::CredentialBroker {
 public:
  explicit CustodydBroker(const DeviceClient& client) : client_(client) {}
  Result<workload::Credential> client_assertion(const workload::WorkloadBinding& binding,
                                                const workload::AttestedProcess& process,
                                                const workload::AssertionParams& params) override;
  Result<workload::Credential> access_token(const workload::WorkloadBinding& binding,
                                            const workload::AttestedProcess& process,
                                            const workload::TokenParams& params) override;

 private:
  Result<nlohmann::json> assertion_json(const workload::WorkloadBinding& binding,
                                        const workload::AttestedProcess& process,
                                        const std::string& dpop_jkt);
  const DeviceClient& client_;
};

class CustodydAudit : public workload::WorkloadAudit {
 public:
  explicit CustodydAudit(const DeviceClient& client) : client_(client) {}
  void refused(const workload::PeerInfo& peer, std::string_view reason) override;
  void issued(const workload::AttestedProcess& process, const workload::WorkloadBinding& binding,
              std::string_view kind, const workload::Credential& credential,
              bool from_cache) override;

 private:
  const DeviceClient& client_;
};

// The evidence custodyd checks against the binding's selectors (src/device/workloads.h).
nlohmann::json evidence_json(const workload::PeerInfo& peer);

}  // namespace custody::agent
