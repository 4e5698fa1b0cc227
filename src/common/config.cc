#include "common/config.h"

#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <charconv>
#include <filesystem>
#include <functional>

extern char** environ;

namespace custody {
namespace {

// One configurable key: how to set it from text, and its bounds when numeric.
struct Key {
  std::string name;
  std::function<Status(Config&, const std::string&)> set;
};

Status parse_int(const std::string& key, const std::string& text, std::int64_t lo, std::int64_t hi,
                 std::int64_t* out) {
  std::int64_t v = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || p != text.data() + text.size())
    return Error::invalid("config key " + key + ": expected an integer, got \"" + text + "\"", key);
  if (v < lo || v > hi)
    return Error::invalid("config key " + key + ": " + text + " is outside [" + std::to_string(lo) +
                              ", " + std::to_string(hi) + "]",
                          key);
  *out = v;
  return ok_status();
}

Key int_key(std::string name, std::int64_t Config::*field, std::int64_t lo, std::int64_t hi) {
  return {name,
          [=](Config& c, const std::string& t) { return parse_int(name, t, lo, hi, &(c.*field)); }};
}
Key limit_key(std::string name, std::int64_t Limits::*field, std::int64_t lo, std::int64_t hi) {
  return {name, [=](Config& c, const std::string& t) {
            return parse_int(name, t, lo, hi, &(c.limits.*field));
          }};
}
Key audit_int_key(std::string name, std::int64_t AuditConfig::*field, std::int64_t lo,
                  std::int64_t hi) {
  return {name, [=](Config& c, const std::string& t) {
            return parse_int(name, t, lo, hi, &(c.audit.*field));
          }};
}
Key audit_str_key(std::string name, std::string AuditConfig::*field) {
  return {name, [=](Config& c, const std::string& t) {
            c.audit.*field = t;
            return ok_status();
          }};
}
Key str_key(std::string name, std::string Config::*field) {
  return {name, [=](Config& c, const std::string& t) {
            c.*field = t;
            return ok_status();
          }};
}
Key bool_key(std::string name, bool Config::*field) {
  return {name, [=](Config& c, const std::string& t) -> Status {
            if (t == "true" || t == "1" || t == "yes" || t == "on") {
              c.*field = true;
            } else if (t == "false" || t == "0" || t == "no" || t == "off") {
              c.*field = false;
            } else {
              return Error::invalid("config key " + name + ": expected true or false", name);
            }
            return ok_status();
          }};
}
Key enum_key(std::string name, std::string Config::*field, std::vector<std::string> allowed) {
  return {name, [=](Config& c, const std::string& t) -> Status {
            if (std::find(allowed.begin(), allowed.end(), t) == allowed.end()) {
              std::string list;
              for (auto& a : allowed) list += (list.empty() ? "" : ", ") + a;
              return Error::invalid("config key " + name + ": \"" + t + "\" is not one of " + list,
                                    name);
            }
            c.*field = t;
            return ok_status();
          }};
}

Key oauth_int(std::string name, std::int64_t OAuthConfig::*field, std::int64_t lo,
              std::int64_t hi) {
  return {name, [=](Config& c, const std::string& t) {
            return parse_int(name, t, lo, hi, &(c.oauth.*field));
          }};
}
Key oauth_bool(std::string name, bool OAuthConfig::*field) {
  return {name, [=](Config& c, const std::string& t) -> Status {
            bool yes = t == "true" || t == "1" || t == "yes" || t == "on";
            bool no = t == "false" || t == "0" || t == "no" || t == "off";
            if (!yes && !no)
              return Error::invalid("config key " + name + ": expected true or false", name);
            c.oauth.*field = yes;
            return ok_status();
          }};
}

Key pdp_int(std::string name, std::int64_t PdpConfig::*field, std::int64_t lo, std::int64_t hi) {
  return {name, [=](Config& c, const std::string& t) {
            return parse_int(name, t, lo, hi, &(c.pdp.*field));
          }};
}
Key pdp_str(std::string name, std::string PdpConfig::*field, bool allow_empty) {
  return {name, [=](Config& c, const std::string& t) -> Status {
            if (!allow_empty && t.empty())
              return Error::invalid("config key " + name + ": must not be empty", name);
            c.pdp.*field = t;
            return ok_status();
          }};
}

Key ssf_int(std::string name, std::int64_t SsfConfig::*field, std::int64_t lo, std::int64_t hi) {
  return {name, [=](Config& c, const std::string& t) {
            return parse_int(name, t, lo, hi, &(c.ssf.*field));
          }};
}

Key approvals_int(std::string name, std::int64_t ApprovalsConfig::*field, std::int64_t lo,
                  std::int64_t hi) {
  return {name, [=](Config& c, const std::string& t) {
            return parse_int(name, t, lo, hi, &(c.approvals.*field));
          }};
}
// An http(s) URL (checked fully when it is used), or empty for none.
Key approvals_url(std::string name, std::string ApprovalsConfig::*field) {
  return {name, [=](Config& c, const std::string& t) -> Status {
            if (!t.empty() && t.rfind("http://", 0) != 0 && t.rfind("https://", 0) != 0)
              return Error::invalid("config key " + name + ": must be an http:// or https:// URL",
                                    name);
            c.approvals.*field = t;
            return ok_status();
          }};
}

Key device_int(std::string name, std::int64_t DeviceConfig::*field, std::int64_t lo,
               std::int64_t hi) {
  return {name, [=](Config& c, const std::string& t) {
            return parse_int(name, t, lo, hi, &(c.device.*field));
          }};
}

Key gateway_int(std::string name, std::int64_t GatewayConfig::*field, std::int64_t lo,
                std::int64_t hi) {
  return {name, [=](Config& c, const std::string& t) {
            return parse_int(name, t, lo, hi, &(c.gateway.*field));
          }};
}

Key gateway_str(std::string name, std::string GatewayConfig::*field) {
  return {name, [=](Config& c, const std::string& t) -> Status {
            c.gateway.*field = t;
            return ok_status();
          }};
}

const std::vector<Key>& keys() {
  constexpr std::int64_t kMax = std::int64_t(1) << 40;
  static const std::vector<Key> all = {
      {"listen",
       [](Config& c, const std::string& t) -> Status {
         auto colon = t.rfind(':');
         if (colon == std::string::npos || colon == 0 || colon + 1 == t.size())
           return Error::invalid("config key listen: expected HOST:PORT, got \"" + t + "\"",
                                 "listen");
         std::int64_t port;
         CUSTODY_TRY(parse_int("listen", t.substr(colon + 1), 0, 65535, &port));
         c.listen = t;
         return ok_status();
       }},
      str_key("data_dir", &Config::data_dir),
      str_key("store", &Config::store),
      int_key("threads", &Config::threads, 0, 256),
      str_key("bootstrap_admin_token", &Config::bootstrap_admin_token),
      str_key("server_secret_file", &Config::server_secret_file),
      str_key("kek", &Config::kek),
      str_key("kek_file", &Config::kek_file),
      int_key("shutdown_drain_ms", &Config::shutdown_drain_ms, 0, 600'000),
      enum_key("log_level", &Config::log_level, {"debug", "info", "warn", "error"}),
      enum_key("log_format", &Config::log_format, {"json", "text"}),
      bool_key("access_log", &Config::access_log),
      int_key("credential_max_age_seconds", &Config::credential_max_age_seconds, 60, kMax),
      int_key("admin_token_default_ttl_seconds", &Config::admin_token_default_ttl_seconds, 0, kMax),
      int_key("store_read_connections", &Config::store_read_connections, 1, 256),
      int_key("store_statement_timeout_ms", &Config::store_statement_timeout_ms, 0, 3'600'000),
      int_key("store_max_queued_writes", &Config::store_max_queued_writes, 1, 10'000'000),
      int_key("store_commit_interval_us", &Config::store_commit_interval_us, 0, 1'000'000),
      int_key("store_read_cache_entries", &Config::store_read_cache_entries, 0, 10'000'000),
      {"tls.cert_file",
       [](Config& c, const std::string& t) {
         c.tls.cert_file = t;
         return ok_status();
       }},
      {"tls.key_file",
       [](Config& c, const std::string& t) {
         c.tls.key_file = t;
         return ok_status();
       }},
      limit_key("limits.max_header_bytes", &Limits::max_header_bytes, 1024, 1 << 20),
      limit_key("limits.max_body_bytes", &Limits::max_body_bytes, 1024, 1LL << 30),
      limit_key("limits.max_json_depth", &Limits::max_json_depth, 2, 1024),
      limit_key("limits.read_timeout_ms", &Limits::read_timeout_ms, 100, 3'600'000),
      limit_key("limits.idle_timeout_ms", &Limits::idle_timeout_ms, 100, 3'600'000),
      limit_key("limits.write_timeout_ms", &Limits::write_timeout_ms, 100, 3'600'000),
      limit_key("limits.max_connections", &Limits::max_connections, 1, 1'000'000),
      limit_key("limits.max_page_size", &Limits::max_page_size, 1, 100'000),
      {"oauth.issuer",
       [](Config& c, const std::string& t) -> Status {
         if (!t.empty() && t.rfind("https://", 0) != 0 && t.rfind("http://", 0) != 0)
           return Error::invalid("config key oauth.issuer: expected an http(s) URL",
                                 "oauth.issuer");
         if (!t.empty() && (t.back() == '/' || t.find_first_of("?#") != std::string::npos))
           return Error::invalid(
               "config key oauth.issuer: no trailing slash, query or fragment (RFC 8414 §2)",
               "oauth.issuer");
         c.oauth.issuer = t;
         return ok_status();
       }},
      oauth_int("oauth.access_token_ttl_seconds", &OAuthConfig::access_token_ttl_seconds, 10,
                86'400),
      oauth_int("oauth.max_delegation_depth", &OAuthConfig::max_delegation_depth, 0, 32),
      oauth_int("oauth.clock_skew_seconds", &OAuthConfig::clock_skew_seconds, 0, 600),
      {"oauth.signing_alg",
       [](Config& c, const std::string& t) -> Status {
         if (t != "ES256" && t != "EdDSA" && t != "RS256")
           return Error::invalid(
               "config key oauth.signing_alg: \"" + t + "\" is not one of ES256, EdDSA, RS256",
               "oauth.signing_alg");
         c.oauth.signing_alg = t;
         return ok_status();
       }},
      oauth_int("oauth.key_rotation_seconds", &OAuthConfig::key_rotation_seconds, 60, kMax),
      oauth_int("oauth.es256_presign", &OAuthConfig::es256_presign, 0, 1'000'000),
      oauth_int("oauth.client_assertion_max_lifetime_seconds",
                &OAuthConfig::client_assertion_max_lifetime_seconds, 10, 3600),
      oauth_bool("oauth.dpop_required", &OAuthConfig::dpop_required),
      oauth_bool("oauth.dpop_nonce", &OAuthConfig::dpop_nonce),
      oauth_int("oauth.dpop_proof_max_age_seconds", &OAuthConfig::dpop_proof_max_age_seconds, 10,
                3600),
      oauth_int("oauth.client_auth_max_failures", &OAuthConfig::client_auth_max_failures, 0,
                1'000'000),
      oauth_int("oauth.client_auth_failure_window_seconds",
                &OAuthConfig::client_auth_failure_window_seconds, 1, 86'400),
      oauth_int("oauth.client_auth_max_tracked", &OAuthConfig::client_auth_max_tracked, 1,
                10'000'000),
      {"oauth.trusted_issuers_file",
       [](Config& c, const std::string& t) {
         c.oauth.trusted_issuers_file = t;
         return ok_status();
       }},
      audit_int_key("audit.sth_every_events", &AuditConfig::sth_every_events, 1, 1'000'000'000),
      audit_int_key("audit.sth_every_ms", &AuditConfig::sth_every_ms, 10, 86'400'000),
      audit_str_key("audit.sth_export_file", &AuditConfig::sth_export_file),
      {"audit.witness_url",
       [](Config& c, const std::string& t) -> Status {
         if (!t.empty() && t.rfind("http://", 0) != 0)
           return Error::invalid("config key audit.witness_url: only http:// URLs are supported",
                                 "audit.witness_url");
         c.audit.witness_url = t;
         return ok_status();
       }},
      audit_int_key("audit.retention_days", &AuditConfig::retention_days, 0, 36'500),
      audit_int_key("audit.archive_segment_events", &AuditConfig::archive_segment_events, 1,
                    1'000'000),
      pdp_str("pdp.audience", &PdpConfig::audience, true),
      pdp_str("pdp.scope", &PdpConfig::scope, false),
      pdp_str("pdp.type_map", &PdpConfig::type_map, true),
      pdp_str("pdp.action_type", &PdpConfig::action_type, false),
      pdp_int("pdp.audit_permit_percent", &PdpConfig::audit_permit_percent, 0, 100),
      pdp_int("pdp.refresh_ms", &PdpConfig::refresh_ms, 50, 3'600'000),
      pdp_int("pdp.max_evaluations", &PdpConfig::max_evaluations, 1, 1'000'000),
      pdp_int("pdp.max_policies", &PdpConfig::max_policies, 1, 10'000'000),
      pdp_int("pdp.approval_ttl_seconds", &PdpConfig::approval_ttl_seconds, 10, 30LL * 24 * 3600),
      {"ssf.scope",
       [](Config& c, const std::string& t) -> Status {
         if (t.empty())
           return Error::invalid("config key ssf.scope: must not be empty", "ssf.scope");
         c.ssf.scope = t;
         return ok_status();
       }},
      ssf_int("ssf.push_timeout_ms", &SsfConfig::push_timeout_ms, 100, 600'000),
      ssf_int("ssf.push_max_attempts", &SsfConfig::push_max_attempts, 1, 1'000'000),
      ssf_int("ssf.push_retry_base_ms", &SsfConfig::push_retry_base_ms, 10, 3'600'000),
      ssf_int("ssf.push_retry_max_ms", &SsfConfig::push_retry_max_ms, 10, 86'400'000),
      ssf_int("ssf.push_scan_ms", &SsfConfig::push_scan_ms, 10, 3'600'000),
      ssf_int("ssf.max_poll_events", &SsfConfig::max_poll_events, 1, 10'000),
      approvals_url("approvals.webhook_url", &ApprovalsConfig::webhook_url),
      {"approvals.webhook_secret",
       [](Config& c, const std::string& t) -> Status {
         if (!t.empty() && t.size() < 16)
           return Error::invalid("config key approvals.webhook_secret: at least 16 characters",
                                 "approvals.webhook_secret");
         c.approvals.webhook_secret = t;
         return ok_status();
       }},
      approvals_url("approvals.callback_base_url", &ApprovalsConfig::callback_base_url),
      approvals_int("approvals.notify_timeout_ms", &ApprovalsConfig::notify_timeout_ms, 100,
                    600'000),
      approvals_int("approvals.notify_max_attempts", &ApprovalsConfig::notify_max_attempts, 1,
                    1'000'000),
      approvals_int("approvals.notify_retry_base_ms", &ApprovalsConfig::notify_retry_base_ms, 10,
                    3'600'000),
      approvals_int("approvals.notify_retry_max_ms", &ApprovalsConfig::notify_retry_max_ms, 10,
                    86'400'000),
      approvals_int("approvals.notify_scan_ms", &ApprovalsConfig::notify_scan_ms, 10, 3'600'000),
      device_int("device.posture_max_age_seconds", &DeviceConfig::posture_max_age_seconds, 10,
                 30LL * 24 * 3600),
      device_int("device.stale_check_ms", &DeviceConfig::stale_check_ms, 100, 3'600'000),
      device_int("device.enrolment_token_ttl_seconds", &DeviceConfig::enrolment_token_ttl_seconds,
                 10, 30LL * 24 * 3600),
      device_int("device.request_max_lifetime_seconds", &DeviceConfig::request_max_lifetime_seconds,
                 10, 3600),
      device_int("device.assertion_ttl_seconds", &DeviceConfig::assertion_ttl_seconds, 10, 3600),
      device_int("device.max_report_bytes", &DeviceConfig::max_report_bytes, 64 * 1024,
                 64LL * 1024 * 1024),
      gateway_str("gateway.identity", &GatewayConfig::identity),
      gateway_int("gateway.threads", &GatewayConfig::threads, 1, 64),
      gateway_int("gateway.connect_timeout_ms", &GatewayConfig::connect_timeout_ms, 10, 600'000),
      gateway_int("gateway.upstream_timeout_ms", &GatewayConfig::upstream_timeout_ms, 10,
                  86'400'000),
      gateway_int("gateway.max_message_bytes", &GatewayConfig::max_message_bytes, 1024,
                  256LL * 1024 * 1024),
      gateway_int("gateway.max_sessions", &GatewayConfig::max_sessions, 1, 10'000'000),
      gateway_int("gateway.session_idle_seconds", &GatewayConfig::session_idle_seconds, 1,
                  30LL * 24 * 3600),
      gateway_int("gateway.max_argument_depth", &GatewayConfig::max_argument_depth, 1, 64),
      {"gateway.audit_arguments",
       [](Config& c, const std::string& t) -> Status {
         bool yes = t == "true" || t == "1" || t == "yes" || t == "on";
         bool no = t == "false" || t == "0" || t == "no" || t == "off";
         if (!yes && !no)
           return Error::invalid("config key gateway.audit_arguments: expected true or false",
                                 "gateway.audit_arguments");
         c.gateway.audit_arguments = yes;
         return ok_status();
       }},
      gateway_str("gateway.allowed_origins", &GatewayConfig::allowed_origins),
      gateway_int("gateway.approval_wait_seconds", &GatewayConfig::approval_wait_seconds, 0,
                  86'400),
      gateway_int("gateway.approval_poll_ms", &GatewayConfig::approval_poll_ms, 10, 600'000),
      gateway_int("gateway.approval_heartbeat_ms", &GatewayConfig::approval_heartbeat_ms, 100,
                  3'600'000),
      gateway_int("gateway.max_approval_waits", &GatewayConfig::max_approval_waits, 0, 1'000'000),
      {"discovery.enforcement",
       [](Config& c, const std::string& t) -> Status {
         if (t != "deny" && t != "alert")
           return Error::invalid("config key discovery.enforcement: must be deny or alert",
                                 "discovery.enforcement");
         c.discovery_enforcement = t;
         return ok_status();
       }},
  };
  return all;
}

std::string env_name(const std::string& key) {
  std::string out = "CUSTODY_";
  for (char c : key) out += (c == '.') ? '_' : static_cast<char>(std::toupper(c));
  return out;
}

const Key* find_key(const std::string& name) {
  for (const auto& k : keys())
    if (k.name == name) return &k;
  return nullptr;
}

// Flattens a YAML mapping into dotted keys; sequences and nested non-maps are errors.
Status flatten(const YAML::Node& node, const std::string& prefix,
               std::vector<std::pair<std::string, std::string>>* out) {
  if (!node.IsMap())
    return Error::invalid(
        "config: " + (prefix.empty() ? std::string("the document") : prefix) + " must be a mapping",
        prefix);
  for (const auto& kv : node) {
    std::string key =
        prefix.empty() ? kv.first.as<std::string>() : prefix + "." + kv.first.as<std::string>();
    if (kv.second.IsMap()) {
      CUSTODY_TRY(flatten(kv.second, key, out));
    } else if (kv.second.IsScalar()) {
      out->emplace_back(key, kv.second.as<std::string>());
    } else if (kv.second.IsNull()) {
      out->emplace_back(key, "");
    } else {
      return Error::invalid("config key " + key + ": expected a scalar value", key);
    }
  }
  return ok_status();
}

}  // namespace

std::string Config::store_url() const {
  if (!store.empty()) return store;
  return "sqlite:" + (std::filesystem::path(data_dir) / "custody.db").string();
}

std::string Config::server_secret_path() const {
  if (!server_secret_file.empty()) return server_secret_file;
  return (std::filesystem::path(data_dir) / "server.secret").string();
}

std::string Config::kek_path() const {
  if (!kek_file.empty()) return kek_file;
  return (std::filesystem::path(data_dir) / "kek").string();
}

Result<Config> load_config(const std::optional<std::string>& file,
                           const std::map<std::string, std::string>& env) {
  Config config;
  std::optional<std::string> path = file;
  if (!path) {
    auto it = env.find("CUSTODY_CONFIG");
    if (it != env.end() && !it->second.empty()) {
      path = it->second;
    } else if (std::filesystem::exists("custody.yaml")) {
      path = "custody.yaml";
    }
  }
  if (path) {
    std::vector<std::pair<std::string, std::string>> entries;
    try {
      YAML::Node root = YAML::LoadFile(*path);
      if (root.IsDefined() && !root.IsNull()) CUSTODY_TRY(flatten(root, "", &entries));
    } catch (const YAML::Exception& e) {
      return Error::invalid("config file " + *path + ": " + e.what());
    }
    for (const auto& [k, v] : entries) {
      const Key* key = find_key(k);
      if (!key) return Error::invalid("config file " + *path + ": unknown key " + k, k);
      CUSTODY_TRY(key->set(config, v));
    }
  }
  for (const auto& [name, value] : env) {
    if (name.rfind("CUSTODY_", 0) != 0) continue;
    for (const auto& k : keys()) {
      if (env_name(k.name) == name) {
        Status s = k.set(config, value);
        if (!s.ok()) return Error::invalid(s.error().message + " (from " + name + ")", k.name);
      }
    }
  }
  if (config.tls.cert_file.empty() != config.tls.key_file.empty())
    return Error::invalid("config keys tls.cert_file and tls.key_file must be set together",
                          "tls.cert_file");
  if (!config.approvals.webhook_url.empty() && config.approvals.webhook_secret.empty())
    return Error::invalid(
        "config key approvals.webhook_url needs approvals.webhook_secret (webhooks are signed)",
        "approvals.webhook_secret");
  return config;
}

std::map<std::string, std::string> environment_map() {
  std::map<std::string, std::string> out;
  for (char** e = environ; e && *e; ++e) {
    std::string s(*e);
    auto eq = s.find('=');
    if (eq != std::string::npos) out[s.substr(0, eq)] = s.substr(eq + 1);
  }
  return out;
}

std::vector<std::pair<std::string, std::string>> config_keys() {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& k : keys()) out.emplace_back(k.name, env_name(k.name));
  return out;
}

}  // namespace custody
