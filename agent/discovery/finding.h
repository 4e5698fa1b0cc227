// The one model every discovery source is normalised into: a Finding is one MCP server (or A2A
// remote agent) definition seen in one config file or one running process, as the report carries
// it. Nothing here holds a secret value: secrets become SecretFlags (field path, classification,
// length, keyed hash), env and header values are dropped, and args/URLs are redacted before they
// are stored (see redact.h). The report writer serialises these structs as they are.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace custody::discovery {

// Who configured the server: a user's own config, a project checked into a repository, a
// user-private per-project entry (Claude Code's ~/.claude.json projects), an administrator's
// managed/system file, a client extension, or a running process with no config behind it.
enum class Scope { kUser, kProject, kLocal, kManaged, kExtension, kProcess };
std::string_view scope_name(Scope s);

enum class Transport { kStdio, kStreamableHttp, kSse, kBuiltin, kA2a, kUnknown };
std::string_view transport_name(Transport t);

// How a credential-holding field was classified. kReference names another variable or input
// (`${GITHUB_TOKEN}`); kLiteral is the credential itself written into the file.
enum class SecretClass { kLiteral, kReference, kEmpty };
std::string_view secret_class_name(SecretClass c);

struct SecretFlag {
  std::string field;  // e.g. "mcpServers.github.env.GITHUB_TOKEN" or "args[3]"
  SecretClass classification = SecretClass::kLiteral;
  std::string reference;   // the referenced name for kReference ("GITHUB_TOKEN", "input:pat")
  std::string pattern;     // what the literal looks like: "github-token", "high-entropy", ...
  std::size_t length = 0;  // length of the value in bytes
  std::string hmac;        // hex HMAC-SHA-256 under the run's hash key (literals only)
};

struct RiskSignal {
  std::string signal;  // stable name: plaintext-secret, auto-approve, unpinned-package, ...
  std::string detail;  // one line for a human; never contains a secret value
};

// What the opt-in loopback probe (loopback_probe.h) learnt: an MCP server answered `initialize`
// at `url`. On a config finding it confirms the configured server is running.
struct ProbeEvidence {
  std::string url;               // http://127.0.0.1:PORT/path (or http://[::1]:PORT/path)
  std::string protocol_version;  // as the server answered
  std::string server_name;       // serverInfo.name, printable ASCII, capped
  std::string server_version;    // serverInfo.version, may be empty
  int pid = 0;                   // owner of the listening socket, 0 when unknown
  std::string process;           // its name, when pid != 0
};

struct Finding {
  std::string client;  // catalogue id: "claude-code", "cursor", ...
  Scope scope = Scope::kUser;
  std::string config_file;  // path as seen from the scanned root ("/home/a/.cursor/mcp.json")
  std::string project;      // project directory for project/local scope, else empty
  std::string server_name;  // key or name of the entry in its config
  std::string kind = "mcp-server";  // or "a2a-agent"
  Transport transport = Transport::kUnknown;
  std::string transport_raw;           // the spelling in the file ("streamableHttp"), may be empty
  bool transport_inferred = false;     // true when no explicit type said it
  std::string command;                 // stdio: the program (home prefix shown as ~)
  std::vector<std::string> args;       // stdio: redacted arguments
  std::string url;                     // remote: URL without userinfo, query values redacted
  std::vector<std::string> env_names;  // names only, sorted
  std::vector<std::string> header_names;  // names only, sorted
  bool enabled = true;
  std::string fingerprint;  // hex SHA-256 of the normalised launch definition, per device
  std::vector<SecretFlag> secrets;
  std::vector<RiskSignal> risks;
  std::vector<int> running_pids;       // processes matched back to this entry
  std::optional<ProbeEvidence> probe;  // set when the loopback probe got an answer at the URL
};

// A credential store whose existence is noted; its contents are never read.
struct CredentialStore {
  std::string client;
  std::string path;
  std::string what;
};

// A running AI client or a stdio MCP server process.
struct ProcessRecord {
  int pid = 0;
  int ppid = 0;
  std::string role;    // "client" or "mcp-server"
  std::string client;  // catalogue id of the client (for servers: of the client above it)
  std::string name;    // comm from /proc/<pid>/status
  std::vector<std::string> argv;            // redacted command line
  std::string matched_fingerprint;          // servers: the config entry that launched it, if found
  std::vector<SecretFlag> environ_secrets;  // secret-looking variables in its environment
};

// Something that could not be read; the scan went on without it.
struct ScanWarning {
  std::string path;
  std::string reason;
};

struct ScanStats {
  std::uint64_t config_files_read = 0;
  std::uint64_t config_files_skipped = 0;
  std::uint64_t project_dirs_walked = 0;
  std::uint64_t project_entries_seen = 0;
  std::uint64_t processes_seen = 0;
  std::uint64_t loopback_listeners = 0;  // loopback TCP listeners seen (probe only)
  std::uint64_t loopback_probes = 0;     // initialize requests sent (probe only)
  std::uint64_t duration_ms = 0;
  bool project_walk_truncated = false;  // a depth/entry/time limit stopped the walk
};

struct Report {
  std::string root;
  std::string device_id_source;  // "option", "machine-id" or "none"
  std::string scanned_at;        // RFC 3339 UTC
  std::vector<Finding> findings;
  std::vector<CredentialStore> credential_stores;
  std::vector<ProcessRecord> processes;
  std::vector<ScanWarning> warnings;
  ScanStats stats;
};

}  // namespace custody::discovery
