#include "cli/requests.h"

#include "cli/duration.h"

namespace custody::cli {
namespace {

Result<std::string> normalize_time(std::string_view flag, std::string_view text) {
  Micros t = 0;
  if (!parse_rfc3339(text, &t)) {
    return Error::invalid(std::string(flag) +
                              ": expected an RFC 3339 time such as "
                              "2026-12-31T00:00:00Z, got \"" +
                              std::string(text) + "\"",
                          std::string(flag));
  }
  return format_rfc3339(t);
}

// --since/--until: an absolute time, or a duration back from now.
Result<std::string> time_or_ago(std::string_view flag, std::string_view text, Micros now) {
  Micros t = 0;
  if (parse_rfc3339(text, &t)) return format_rfc3339(t);
  if (auto ago = parse_duration(text); ago.ok())
    return format_rfc3339(now - *ago * kMicrosPerSecond);
  return Error::invalid(std::string(flag) +
                            ": expected an RFC 3339 time (2026-01-31T00:00:00Z) "
                            "or a duration before now (1h, 7d), got \"" +
                            std::string(text) + "\"",
                        std::string(flag));
}

void put_optional(Body& body, const char* key, const std::optional<std::string>& value) {
  if (value) body[key] = *value;
}

void add_optional(Query& query, const char* key, const std::optional<std::string>& value) {
  if (value) query.emplace_back(key, *value);
}

Result<std::int64_t> seconds_flag(std::string_view flag, const std::string& text) {
  auto seconds = parse_duration(text);
  if (!seconds.ok()) return Error::invalid(std::string(flag) + ": " + seconds.error().message);
  return *seconds;
}

}  // namespace

Result<std::map<std::string, std::string>> parse_labels(const std::vector<std::string>& flags) {
  std::map<std::string, std::string> labels;
  for (const std::string& flag : flags) {
    size_t eq = flag.find('=');
    if (eq == std::string::npos || eq == 0) {
      return Error::invalid("--label: expected key=value, got \"" + flag + "\"", "labels");
    }
    std::string key = flag.substr(0, eq);
    if (!labels.emplace(key, flag.substr(eq + 1)).second) {
      return Error::invalid("--label: key \"" + key + "\" given twice", "labels");
    }
  }
  return labels;
}

Result<Body> identity_create_body(const IdentityCreateArgs& args) {
  Body body = {{"kind", args.kind}, {"display_name", args.name}};
  put_optional(body, "description", args.description);
  if (!args.labels.empty()) {
    CUSTODY_ASSIGN(auto labels, parse_labels(args.labels));
    body["labels"] = labels;
  }
  put_optional(body, "owner_id", args.owner);
  put_optional(body, "state", args.state);
  return body;
}

Result<Query> identity_list_query(const IdentityListArgs& args) {
  Query query;
  add_optional(query, "kind", args.kind);
  add_optional(query, "state", args.state);
  add_optional(query, "owner_id", args.owner);
  // Validated as key=value like everywhere else, then sent in the API's key:value form.
  CUSTODY_ASSIGN(auto labels, parse_labels(args.labels));
  for (const auto& [key, value] : labels) query.emplace_back("label", key + ":" + value);
  if (args.limit) query.emplace_back("limit", std::to_string(*args.limit));
  add_optional(query, "cursor", args.cursor);
  return query;
}

Result<Body> identity_update_body(const IdentityUpdateArgs& args) {
  if (args.clear_labels && !args.labels.empty()) {
    return Error::invalid("--clear-labels and --label cannot be combined", "labels");
  }
  Body body = Body::object();
  put_optional(body, "display_name", args.name);
  put_optional(body, "description", args.description);
  if (args.clear_labels) {
    body["labels"] = Body::object();
  } else if (!args.labels.empty()) {
    CUSTODY_ASSIGN(auto labels, parse_labels(args.labels));
    body["labels"] = labels;
  }
  put_optional(body, "owner_id", args.owner);
  if (body.empty()) {
    return Error::invalid(
        "nothing to update: pass --name, --description, --label, --clear-labels or --owner");
  }
  return body;
}

Body reason_body(const std::optional<std::string>& reason) {
  Body body = Body::object();
  put_optional(body, "reason", reason);
  return body;
}

std::string if_match_value(std::string_view version) {
  if (version.starts_with("\"") || version.starts_with("W/")) return std::string(version);
  return "\"" + std::string(version) + "\"";
}

Result<Body> entitlement_grant_body(const GrantArgs& args, Micros now) {
  Body body = {{"scope", args.scope}, {"resource", args.resource}};
  if (!args.tools.empty()) body["tools"] = args.tools;
  if (args.expires && args.ttl) {
    return Error::invalid("--expires and --ttl cannot be combined", "expires_at");
  }
  if (args.expires) {
    CUSTODY_ASSIGN(body["expires_at"], normalize_time("--expires", *args.expires));
  } else if (args.ttl) {
    CUSTODY_ASSIGN(auto seconds, seconds_flag("--ttl", *args.ttl));
    body["expires_at"] = format_rfc3339(now + seconds * kMicrosPerSecond);
  }
  body["justification"] = args.justification;
  return body;
}

Result<Body> credential_create_body(const CredentialCreateArgs& args) {
  Body body = {{"type", args.type}};
  if (args.type == "jwk") {
    if (!args.jwk_text) return Error::invalid("--type jwk needs --jwk-file", "public_jwk");
    std::string where = args.jwk_path.value_or("the JWK file");
    Body jwk = Body::parse(*args.jwk_text, nullptr, /*allow_exceptions=*/false);
    if (jwk.is_discarded() || !jwk.is_object()) {
      return Error::invalid(where + " is not a JSON object", "public_jwk");
    }
    if (jwk.contains("keys")) {
      return Error::invalid(where + " holds a JWK set; pass a file with a single public key",
                            "public_jwk");
    }
    // RFC 7518 private (and symmetric) key members. The server refuses them too, but by then the
    // private key would already have been sent over the network.
    for (const char* member : {"d", "p", "q", "dp", "dq", "qi", "oth", "k"}) {
      if (jwk.contains(member)) {
        return Error::invalid("refusing to upload " + where +
                                  ": it contains the private member \"" + member +
                                  "\"; export the public key only",
                              "public_jwk");
      }
    }
    body["public_jwk"] = std::move(jwk);
  } else if (args.jwk_text) {
    return Error::invalid("--jwk-file only applies to --type jwk", "public_jwk");
  }
  put_optional(body, "description", args.description);
  if (args.max_age) {
    CUSTODY_ASSIGN(body["max_age_seconds"], seconds_flag("--max-age", *args.max_age));
  }
  return body;
}

Result<Body> token_create_body(const TokenCreateArgs& args) {
  if (args.role == "owner" && !args.identity) {
    return Error::invalid("--role owner needs --identity usr_... (the human the token acts for)",
                          "identity_id");
  }
  Body body = {{"role", args.role}};
  put_optional(body, "identity_id", args.identity);
  put_optional(body, "description", args.description);
  if (args.ttl) {
    CUSTODY_ASSIGN(body["ttl_seconds"], seconds_flag("--ttl", *args.ttl));
  }
  return body;
}

Result<Query> audit_list_query(const AuditListArgs& args, Micros now) {
  Query query;
  add_optional(query, "actor", args.actor);
  add_optional(query, "target", args.target);
  add_optional(query, "action", args.action);
  add_optional(query, "outcome", args.outcome);
  if (args.since) {
    CUSTODY_ASSIGN(auto since, time_or_ago("--since", *args.since, now));
    query.emplace_back("since", since);
  }
  if (args.until) {
    CUSTODY_ASSIGN(auto until, time_or_ago("--until", *args.until, now));
    query.emplace_back("until", until);
  }
  if (args.limit) query.emplace_back("limit", std::to_string(*args.limit));
  add_optional(query, "cursor", args.cursor);
  return query;
}

}  // namespace custody::cli
