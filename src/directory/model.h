// The governed directory's objects: identities, their lifecycle, entitlements and credentials.
// Plain values; persistence lives in the *_repo / service files, JSON shapes in json.h.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.h"

namespace custody::directory {

enum class Kind { kHuman, kService, kAgent, kMcpServer };
enum class State { kDiscovered, kPending, kActive, kSuspended, kRetired };

std::string_view kind_name(Kind kind);  // "human", "service", "agent", "mcp_server"
std::optional<Kind> parse_kind(std::string_view name);
std::string_view id_prefix(Kind kind);                // "usr", "svc", "agt", "mcp"
std::optional<Kind> kind_of_id(std::string_view id);  // by prefix; nullopt when not an identity id
std::string_view state_name(State state);             // "discovered", ...
std::optional<State> parse_state(std::string_view name);

// The lifecycle: discovered→pending→active⇄suspended, and any non-retired state→retired.
bool transition_allowed(State from, State to);

struct Identity {
  std::string id;
  Kind kind = Kind::kHuman;
  std::string display_name;
  std::string description;
  std::map<std::string, std::string> labels;
  std::optional<std::string> owner_id;  // null for humans; an active human for the rest
  State state = State::kPending;
  std::int64_t version = 1;  // bumped on every change; the ETag
  Micros created_at = 0;
  Micros updated_at = 0;
};

struct Entitlement {
  std::string id;  // ent_
  std::string identity_id;
  std::string scope;
  std::string resource;                           // audience / resource indicator
  std::optional<std::vector<std::string>> tools;  // nullopt: not restricted to tools
  std::optional<Micros> expires_at;
  std::string granted_by;
  std::string justification;
  Micros created_at = 0;
  std::optional<Micros> revoked_at;
  std::optional<std::string> revoked_by;

  // In force at `now`: not revoked and not expired. Expiry needs no job to take effect.
  bool active_at(Micros now) const { return !revoked_at && (!expires_at || *expires_at > now); }
};

enum class CredentialType { kClientSecret, kJwk };
std::string_view credential_type_name(CredentialType type);  // "client_secret", "jwk"
std::optional<CredentialType> parse_credential_type(std::string_view name);

struct Credential {
  std::string id;  // crd_
  std::string identity_id;
  CredentialType type = CredentialType::kClientSecret;
  std::optional<std::string> secret_hash;     // hex HMAC; never leaves the server
  std::optional<std::string> public_jwk;      // JSON text of the public key
  std::optional<std::string> jwk_thumbprint;  // RFC 7638, base64url
  std::string description;
  std::string created_by;
  Micros created_at = 0;
  Micros expires_at = 0;  // every credential has a maximum age
  std::optional<Micros> revoked_at;

  bool active_at(Micros now) const { return !revoked_at && expires_at > now; }
};

// A page of a list; next_cursor is set when more items follow.
template <class T>
struct Page {
  std::vector<T> items;
  std::optional<std::string> next_cursor;
};

}  // namespace custody::directory
