// libcustody: the client of custody-agent's workload API (docs/workload-api.md), for the
// developer of an AI agent that needs a credential. It depends only on the C++ standard library,
// POSIX and nlohmann_json.
//
//   custody::WorkloadClient client;  // socket: $CUSTODY_AGENT_SOCKET, else the default
//   auto token = client.access_token({.scope = "tickets:read"});
//   if (token.ok()) use(token.value().access_token); else log(token.error().description);
//
// The agent decides who you are from the kernel (your uid, your executable's hash...), so there
// is nothing to configure here: no secret, no client id. Credentials are short-lived: ask again
// when expires_at approaches (the agent caches, asking is cheap).
//
// A WorkloadClient holds no connection (one per call) and is safe to use from several threads.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <utility>
#include <variant>

namespace custody {

inline constexpr const char* kDefaultWorkloadSocket = "/run/custody-agent/workload.sock";

// Why a call failed. `code` is the agent's error code ("workload_not_attested",
// "no_matching_identity", "ambiguous_identity", "invalid_request", "temporarily_unavailable",
// ...) or, when the agent could not be reached or answered garbage, "agent_unreachable" /
// "bad_response"; `status` is the HTTP status (0 when there was none).
struct WorkloadError {
  int status = 0;
  std::string code;
  std::string description;
};

// A value or a WorkloadError (std::expected is C++23).
template <class T>
class [[nodiscard]] WorkloadResult {
 public:
  WorkloadResult(T value) : v_(std::move(value)) {}              // NOLINT
  WorkloadResult(WorkloadError error) : v_(std::move(error)) {}  // NOLINT
  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }
  const T& value() const { return std::get<0>(v_); }
  T& value() { return std::get<0>(v_); }
  const WorkloadError& error() const { return std::get<1>(v_); }

 private:
  std::variant<T, WorkloadError> v_;
};

struct AccessTokenRequest {
  std::string scope;     // space-separated; empty: the identity's default
  std::string resource;  // RFC 8707 resource indicator
  std::string audience;
  std::string identity;  // needed only when several identities match this process
};

struct AccessToken {
  std::string access_token;
  std::string token_type;  // "Bearer" or "DPoP"
  std::chrono::system_clock::time_point expires_at;
  std::string identity;
  std::string client_id;
};

struct AssertionRequest {
  std::string audience;  // empty: custodyd's token endpoint
  std::string identity;  // needed only when several identities match this process
  // The RFC 7638 thumbprint of a DPoP key this process holds: the assertion certifies it, and the
  // token endpoint then requires a DPoP proof signed with it (the token is DPoP-bound).
  std::string dpop_jkt;
};

// A JWT to present as client_assertion (RFC 7523) with client_assertion_type below.
struct ClientAssertion {
  std::string assertion;
  std::string client_assertion_type;  // urn:ietf:params:oauth:client-assertion-type:jwt-bearer
  std::chrono::system_clock::time_point expires_at;
  std::string identity;
  std::string client_id;
};

struct WorkloadClientOptions {
  std::string socket_path;  // empty: $CUSTODY_AGENT_SOCKET, else kDefaultWorkloadSocket
  std::chrono::milliseconds timeout{10'000};  // for each of connect, send and the whole reply
};

class WorkloadClient {
 public:
  explicit WorkloadClient(WorkloadClientOptions options = {});

  WorkloadResult<AccessToken> access_token(const AccessTokenRequest& request = {}) const;
  WorkloadResult<ClientAssertion> client_assertion(const AssertionRequest& request = {}) const;
  // True when the agent answers GET /v1/health with 200.
  bool healthy() const;

  const std::string& socket_path() const { return socket_path_; }

 private:
  std::string socket_path_;
  std::chrono::milliseconds timeout_;
};

}  // namespace custody
