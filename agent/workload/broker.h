// What the workload API needs from custodyd, as three small interfaces. The real implementations
// (HTTP to custodyd, caching of bindings, forwarding to the audit log) live with the daemon; the
// server and the tests only see these.
//
// Thread safety: the server calls every method from its worker threads, possibly concurrently;
// implementations must be thread-safe. Methods must not throw: failures are values.
#pragma once

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "workload/peer.h"
#include "workload/selectors.h"

namespace custody::workload {

// A short-lived credential handed to a workload.
struct Credential {
  std::string value;       // the JWT (assertion) or the access token; a secret
  std::string token_type;  // "Bearer", "DPoP"; for assertions "client-assertion"
  std::chrono::system_clock::time_point expires_at;
  std::string identity;
  std::string client_id;
};

// A client assertion (RFC 7523 JWT used as client authentication) for the binding's client.
struct AssertionParams {
  std::string audience;  // empty: custodyd's token endpoint
  // A DPoP public key's RFC 7638 thumbprint the process holds: custodyd certifies it in the
  // assertion (cnf.jkt), and the token endpoint then requires a DPoP proof with that key.
  std::string dpop_jkt;
  bool operator==(const AssertionParams&) const = default;
};

// An access token issued to the binding's client.
struct TokenParams {
  std::string scope;     // space-separated; empty: the client's default
  std::string resource;  // RFC 8707 resource indicator; empty: none
  std::string audience;  // empty: none
  std::string dpop_jkt;  // RFC 9449 key thumbprint to bind the token to; empty: bearer
  bool operator==(const TokenParams&) const = default;
};

// The identities bound to this device, with their selectors.
class BindingSource {
 public:
  virtual ~BindingSource() = default;
  // All bindings of this device (possibly from a cache). Error kUnavailable when custodyd cannot
  // be reached and nothing is cached.
  virtual Result<std::vector<WorkloadBinding>> bindings() = 0;
};

// Obtains credentials from custodyd for an attested process.
class CredentialBroker {
 public:
  virtual ~CredentialBroker() = default;
  // Errors: kUnavailable (custodyd unreachable: 503), kPermissionDenied/kUnauthenticated
  // (custodyd refused: 403), kInvalidArgument (bad scope, resource...: 400), others (502).
  virtual Result<Credential> client_assertion(const WorkloadBinding& binding,
                                              const AttestedProcess& process,
                                              const AssertionParams& params) = 0;
  virtual Result<Credential> access_token(const WorkloadBinding& binding,
                                          const AttestedProcess& process,
                                          const TokenParams& params) = 0;
};

// Where the workload API reports what it did. Every refusal is reported, with whatever was
// learned of the peer (see PeerInfo for what "unknown" looks like).
class WorkloadAudit {
 public:
  virtual ~WorkloadAudit() = default;
  virtual void refused(const PeerInfo& peer, std::string_view reason) = 0;
  // `kind` is "assertion" or "token". The credential's value must not be recorded.
  virtual void issued(const AttestedProcess& process, const WorkloadBinding& binding,
                      std::string_view kind, const Credential& credential, bool from_cache) = 0;
};

}  // namespace custody::workload
