// Flag values → API request bodies and query strings (docs/api.md). Pure functions: the commands
// collect flags into these structs, and these functions decide what goes on the wire, so the
// mapping is unit-tested without a server. Errors here are usage errors (exit code 2).
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cli/http_client.h"
#include "common/clock.h"
#include "common/result.h"

namespace custody::cli {

// A request body. Member order does not matter on the wire, so the sorted variant is fine.
using Body = nlohmann::json;

// "key=value" flags (repeatable --label) → a map. Refuses a missing '=', an empty key and a key
// given twice (which would otherwise silently keep one of them).
Result<std::map<std::string, std::string>> parse_labels(const std::vector<std::string>& flags);

struct IdentityCreateArgs {
  std::string kind;
  std::string name;
  std::optional<std::string> description;
  std::vector<std::string> labels;  // key=value
  std::optional<std::string> owner;
  std::optional<std::string> state;
};
// {kind, display_name, description?, labels?, owner_id?, state?}
Result<Body> identity_create_body(const IdentityCreateArgs& args);

struct IdentityListArgs {
  std::optional<std::string> kind, state, owner, cursor;
  std::vector<std::string> labels;  // key=value, sent as label=key:value (all must match)
  std::optional<std::int64_t> limit;
};
Result<Query> identity_list_query(const IdentityListArgs& args);

struct IdentityUpdateArgs {
  std::optional<std::string> name, description, owner;
  std::vector<std::string> labels;  // key=value; when any is given they replace the whole map
  bool clear_labels = false;        // send "labels": {}
};
// {display_name?, description?, labels?, owner_id?}; refuses an update that changes nothing.
Result<Body> identity_update_body(const IdentityUpdateArgs& args);

// {} or {"reason": ...} for suspend and retire.
Body reason_body(const std::optional<std::string>& reason);

// The If-Match value for an identity version: 3 → "\"3\"" (the ETag is the quoted version); a
// value already in quotes, or a weak W/"..." tag, is sent as given.
std::string if_match_value(std::string_view version);

struct GrantArgs {
  std::string scope, resource, justification;
  std::vector<std::string> tools;
  std::optional<std::string> expires;  // RFC 3339
  std::optional<std::string> ttl;      // duration, counted from `now`
};
// {scope, resource, tools?, expires_at?, justification}; expires_at is normalised to UTC.
Result<Body> entitlement_grant_body(const GrantArgs& args, Micros now);

struct CredentialCreateArgs {
  std::string type;                     // client_secret | jwk
  std::optional<std::string> jwk_path;  // for messages
  std::optional<std::string> jwk_text;  // the file's contents
  std::optional<std::string> max_age;   // duration
  std::optional<std::string> description;
};
// {type, public_jwk?, description?, max_age_seconds?}. A JWK with private members (d, p, q, ...)
// or a symmetric key is refused here so that private key material never leaves the machine.
Result<Body> credential_create_body(const CredentialCreateArgs& args);

struct TokenCreateArgs {
  std::string role;  // admin | auditor | owner
  std::optional<std::string> identity, ttl, description;
};
// {role, identity_id?, description?, ttl_seconds?}; the owner role needs --identity.
Result<Body> token_create_body(const TokenCreateArgs& args);

struct AuditListArgs {
  std::optional<std::string> actor, target, action, outcome, since, until, cursor;
  std::optional<std::int64_t> limit;
};
// since/until take RFC 3339 times or a duration meaning "that long before now" (--since 1h).
Result<Query> audit_list_query(const AuditListArgs& args, Micros now);

}  // namespace custody::cli
