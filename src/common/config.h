// custodyd configuration: defaults, then custody.yaml, then CUSTODY_* environment variables, then
// command-line flags (each later source wins). Every key of the YAML file has an environment
// variable: "CUSTODY_" + the key in upper case with "." → "_" (limits.max_body_bytes →
// CUSTODY_LIMITS_MAX_BODY_BYTES). An unknown key, a value of the wrong type or out of range stops
// start-up with an error that names the key.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"

namespace custody {

struct TlsConfig {
  std::string cert_file;  // PEM certificate chain; TLS is on when both files are set
  std::string key_file;   // PEM private key
  bool enabled() const { return !cert_file.empty() && !key_file.empty(); }
};

struct Limits {
  std::int64_t max_header_bytes = 16 * 1024;  // request line + headers
  std::int64_t max_body_bytes = 1024 * 1024;  // 413 beyond this
  std::int64_t max_json_depth = 32;           // 400 beyond this nesting depth
  std::int64_t read_timeout_ms = 10'000;      // a request must arrive whole within this
  std::int64_t idle_timeout_ms = 60'000;      // keep-alive connection with no request
  std::int64_t write_timeout_ms = 10'000;     // a response must be taken within this
  std::int64_t max_connections = 10'000;      // connections beyond this are closed at once
  std::int64_t max_page_size = 1000;          // list endpoints' largest `limit`
};

// The tamper-evident audit log (docs/audit-integrity.md).
struct AuditConfig {
  std::int64_t sth_every_events = 1000;          // sign a tree head after this many new events ...
  std::int64_t sth_every_ms = 1000;              // ... or this long after the first unsigned one
  std::string sth_export_file;                   // append every signed head here (JSON Lines)
  std::string witness_url;                       // POST every signed head here (http://)
  std::int64_t retention_days = 0;               // 0: never archive; else archive older events
  std::int64_t archive_segment_events = 10'000;  // most events per archive segment
};

// The authorization server (docs/oauth.md).
struct OAuthConfig {
  std::string issuer;  // empty → http(s)://<listen host:bound port>
  std::int64_t access_token_ttl_seconds = 600;
  std::int64_t max_delegation_depth = 5;  // "act" hops a token may carry
  std::int64_t clock_skew_seconds = 60;
  std::string signing_alg = "ES256";  // ES256 | EdDSA | RS256
  std::int64_t key_rotation_seconds = 30LL * 24 * 3600;
  // ES256 nonces precomputed on idle cores (crypto/ecdsa_presign.h); 0: every signature in one
  // step.
  std::int64_t es256_presign = 4096;
  std::int64_t client_assertion_max_lifetime_seconds = 300;
  bool dpop_required = false;  // every token request must carry a DPoP proof
  bool dpop_nonce = false;     // DPoP proofs must carry a server nonce (RFC 9449 §8)
  std::int64_t dpop_proof_max_age_seconds = 300;
  std::string trusted_issuers_file;  // JSON: external issuers whose JWTs may be exchanged
  // Brute-force protection (oauth/client_auth_limiter.h): this many failed client
  // authentications of one client_id from one address within the window lock that pair out
  // until the window ends; 0: no limit.
  std::int64_t client_auth_max_failures = 100;
  std::int64_t client_auth_failure_window_seconds = 60;
  std::int64_t client_auth_max_tracked = 100'000;  // (address, client_id) pairs remembered
};

// The policy decision point (docs/policy.md, docs/authzen.md).
struct PdpConfig {
  std::string audience;                   // a PEP token's aud must include it; empty → the issuer
  std::string scope = "custody:pdp";      // a PEP token must carry this scope
  std::string type_map;                   // "authzen_type=CedarType,…" over the built-in mapping
  std::string action_type = "Action";     // Cedar entity type of actions
  std::int64_t audit_permit_percent = 1;  // permits audited (sampled); denies always are
  std::int64_t refresh_ms = 1000;         // how often a node re-reads the active versions
  std::int64_t max_evaluations = 1000;    // questions in one /access/v1/evaluations request
  std::int64_t max_policies = 100'000;    // policies in one pushed bundle
  std::int64_t approval_ttl_seconds = 3600;  // how long an approval request stays answerable
};

// The OpenID Shared Signals transmitter (docs/ssf.md).
struct SsfConfig {
  std::string scope = "custody:ssf";         // a receiver's access token must carry this scope
  std::int64_t push_timeout_ms = 5000;       // connect, and then send + response, per push
  std::int64_t push_max_attempts = 20;       // a SET still refused after this many is failed
  std::int64_t push_retry_base_ms = 1000;    // first retry delay; doubles per attempt ...
  std::int64_t push_retry_max_ms = 300'000;  // ... up to this
  std::int64_t push_scan_ms = 1000;          // how often the push worker looks for new SETs
  std::int64_t max_poll_events = 100;        // most SETs in one poll response
};

// Notifications about approvals (docs/approvals.md): approver webhooks with signed callbacks, and
// OpenID CIBA ping notifications. Both are delivered from an outbox after the commit, retried.
struct ApprovalsConfig {
  std::string webhook_url;        // POST each new approval request here; empty → none
  std::string webhook_secret;     // signs webhooks (Custody-Signature); needed with any webhook
  std::string callback_base_url;  // base of the signed callback links; empty → the issuer
  std::int64_t notify_timeout_ms = 5000;       // connect, and then send + response
  std::int64_t notify_max_attempts = 20;       // a notification still failing is then failed
  std::int64_t notify_retry_base_ms = 1000;    // first retry delay; doubles per attempt ...
  std::int64_t notify_retry_max_ms = 300'000;  // ... up to this
  std::int64_t notify_scan_ms = 1000;          // how often the worker looks for due ones
};

// Device trust (docs/devices.md).
struct DeviceConfig {
  std::int64_t posture_max_age_seconds = 900;       // an older report makes the device untrusted
  std::int64_t stale_check_ms = 10'000;             // how often stale devices are demoted
  std::int64_t enrolment_token_ttl_seconds = 900;   // default lifetime of an enrolment token
  std::int64_t request_max_lifetime_seconds = 300;  // exp - iat of what a device signs
  std::int64_t assertion_ttl_seconds = 300;         // device-attested client assertions
  // Largest signed discovery report a device may upload (the JWT's bytes). The HTTP body limit
  // of POST /api/v1/devices/{id}/discovery is the larger of this and limits.max_body_bytes.
  std::int64_t max_report_bytes = 4 * 1024 * 1024;
};

// The MCP gateway (docs/mcp-gateway.md).
struct GatewayConfig {
  std::string identity;                              // the gateway's service identity (svc_…)
  std::int64_t threads = 1;                          // threads of the upstream client
  std::int64_t connect_timeout_ms = 5'000;           // to an upstream
  std::int64_t upstream_timeout_ms = 60'000;         // to the response head, and between body bytes
  std::int64_t max_message_bytes = 4 * 1024 * 1024;  // one JSON-RPC message, either way
  std::int64_t max_sessions = 100'000;               // MCP sessions remembered
  std::int64_t session_idle_seconds = 3'600;         // a session unused this long is forgotten
  std::int64_t max_argument_depth = 16;  // tool arguments deeper than this reach Cedar as text
  bool audit_arguments = false;          // put the arguments themselves in gateway.call events
  std::string allowed_origins;           // comma-separated; empty: only the issuer's origin
  // A call held for approval whose caller asked for progress (params._meta.progressToken) waits
  // on its event stream this long for the decision; 0: answer at once with the approval id.
  std::int64_t approval_wait_seconds = 300;
  std::int64_t approval_poll_ms = 1000;         // how often waited approvals are read
  std::int64_t approval_heartbeat_ms = 10'000;  // progress notifications while a call waits
  std::int64_t max_approval_waits = 1000;       // calls waiting at once; more are answered at once
};

struct Config {
  std::string listen = "127.0.0.1:8080";  // HOST:PORT; port 0 picks a free port
  std::string data_dir = "./var";
  std::string store;                  // empty → sqlite:<data_dir>/custody.db
  std::int64_t threads = 0;           // io threads; 0 → one per core
  std::string bootstrap_admin_token;  // sets the first admin token non-interactively
  std::string server_secret_file;     // empty → <data_dir>/server.secret
  // The key-encryption key for private keys at rest: its text (CUSTODY_KEK) wins over the file.
  std::string kek;       // 64 hex digits or base64url of 32 bytes
  std::string kek_file;  // empty → <data_dir>/kek (created on first start)
  std::int64_t shutdown_drain_ms = 10'000;
  std::string log_level = "info";   // debug | info | warn | error
  std::string log_format = "json";  // json | text
  bool access_log = true;           // one line per request
  std::int64_t credential_max_age_seconds = 90LL * 24 * 3600;
  std::int64_t admin_token_default_ttl_seconds = 0;  // 0 → tokens do not expire unless asked
  std::int64_t store_read_connections = 4;
  // PostgreSQL: statements running longer are cancelled (the request fails with 503); 0: none.
  std::int64_t store_statement_timeout_ms = 30'000;
  std::int64_t store_max_queued_writes = 100000;  // 503 beyond this many waiting writes
  // While busy, how long the writer gathers arriving works before the next group commit
  // (store.h, StoreOptions::commit_interval_us); 0: off.
  std::int64_t store_commit_interval_us = 2000;
  // Cached directory reads (store/tracked_cache.h); 0 turns the cache off.
  std::int64_t store_read_cache_entries = 10000;
  TlsConfig tls;
  Limits limits;
  AuditConfig audit;
  OAuthConfig oauth;
  PdpConfig pdp;
  SsfConfig ssf;
  ApprovalsConfig approvals;
  DeviceConfig device;
  GatewayConfig gateway;
  // What the PDP and token issuance do with an unregistered or drifted discovered component:
  // "deny" (default) refuses, "alert" allows and writes an audit event (docs/find-agents.md).
  std::string discovery_enforcement = "deny";

  std::string store_url() const;           // resolved store URL
  std::string server_secret_path() const;  // resolved secret file path
  std::string kek_path() const;            // resolved KEK file path
};

// Loads the configuration. `file` is the YAML path (nullopt: ./custody.yaml when it exists);
// `env` is the process environment (only CUSTODY_* entries are read).
Result<Config> load_config(const std::optional<std::string>& file,
                           const std::map<std::string, std::string>& env);

// The process environment as a map.
std::map<std::string, std::string> environment_map();

// The documented keys, in order, with their environment variable names; used by docs and tests.
std::vector<std::pair<std::string, std::string>> config_keys();

}  // namespace custody
