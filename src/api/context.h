// What the admin API handlers share: the store, the clock, the configuration and the secret
// hasher. Built once by app/, read-only afterwards, shared by all io threads.
#pragma once

#include <atomic>

#include "audit/log.h"
#include "common/clock.h"
#include "common/config.h"
#include "crypto/keyed_hash.h"
#include "store/store.h"

namespace custody::oauth {
class Service;
class KeyManager;
}  // namespace custody::oauth

namespace custody::policy {
class Pdp;
}  // namespace custody::policy

namespace custody::ssf {
class Transmitter;
}  // namespace custody::ssf

namespace custody::gateway {
class Gateway;
}  // namespace custody::gateway

namespace custody::api {

struct ApiContext {
  store::Store& store;
  const Clock& clock;
  const Config& config;
  crypto::SecretHasher hasher;
  // The authorization server, set once the listening port (and so the default issuer) is known,
  // before the first request is served; null in tools that serve no OAuth.
  std::atomic<oauth::Service*> oauth{nullptr};
  oauth::KeyManager* keys = nullptr;
  // The Merkle log behind /api/v1/audit/sth and the proofs; null when not running (503).
  audit::AuditLog* audit_log = nullptr;
  // The policy decision point behind /access/v1/* and /api/v1/policies; null when not running.
  policy::Pdp* pdp = nullptr;
  // The Shared Signals transmitter behind /ssf/* (docs/ssf.md); null when not running (503).
  ssf::Transmitter* ssf = nullptr;
  // The MCP gateway behind /mcp/{route} (docs/mcp-gateway.md); null when not running (503).
  gateway::Gateway* gateway = nullptr;
};

}  // namespace custody::api
