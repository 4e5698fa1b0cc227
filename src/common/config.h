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

struct Config {
  std::string listen = "127.0.0.1:8080";  // HOST:PORT; port 0 picks a free port
  std::string data_dir = "./var";
  std::string store;                  // empty → sqlite:<data_dir>/custody.db
  std::int64_t threads = 0;           // io threads; 0 → one per core
  std::string bootstrap_admin_token;  // sets the first admin token non-interactively
  std::string server_secret_file;     // empty → <data_dir>/server.secret
  std::int64_t shutdown_drain_ms = 10'000;
  std::string log_level = "info";   // debug | info | warn | error
  std::string log_format = "json";  // json | text
  bool access_log = true;           // one line per request
  std::int64_t credential_max_age_seconds = 90LL * 24 * 3600;
  std::int64_t admin_token_default_ttl_seconds = 0;  // 0 → tokens do not expire unless asked
  std::int64_t store_read_connections = 4;
  std::int64_t store_max_queued_writes = 100000;  // 503 beyond this many waiting writes
  TlsConfig tls;
  Limits limits;
  AuditConfig audit;

  std::string store_url() const;           // resolved store URL
  std::string server_secret_path() const;  // resolved secret file path
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
