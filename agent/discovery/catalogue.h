// The catalogue of AI clients the scanner knows (../shared/DISCOVERY.md §1): where each keeps its
// MCP configuration, in which format and under which root key. Data only; path_resolver.h turns
// the entries into files under a scanned root, config_layouts.h reads the entries out of them.
#pragma once

#include <string_view>
#include <vector>

namespace custody::discovery {

enum class Format { kJson, kJsonc, kToml, kYaml, kMarkdownFrontMatter };

// Where the server entries sit inside a parsed file.
enum class Layout {
  kMcpServers,      // {"mcpServers": {name: entry}}
  kClaudeJson,      // ~/.claude.json: mcpServers plus projects["<abs path>"].mcpServers
  kVscodeServers,   // VS Code mcp.json: {"servers": {name: entry}, "inputs": [...]}
  kVscodeSettings,  // VS Code settings.json: {"mcp": {"servers": {...}}}
  kZed,             // {"context_servers": {name: entry}}
  kContinue,        // YAML/JSON {"mcpServers": [{name, ...}]}
  kCodex,           // TOML [mcp_servers.<name>]
  kGoose,           // YAML {"extensions": {key: entry}}
  kOpencode,        // {"mcp": {name: entry}} (v2: mcp.servers)
  kGeminiAgent,     // Markdown front-matter of a remote A2A subagent
};

// Where a path is anchored: a user's home, the filesystem root (managed/system files) or a
// project directory found by the project walk. A path may end in a one-level glob ("*.json") or
// contain "{editor}" for the host editors' user dirs (Cline, Roo).
enum class Anchor { kHome, kSystem, kProject };

// kLinux entries are read on every platform (most clients use the same dot-directory in the home
// everywhere); kMacos and kWindows entries only when that platform's locations are resolved. On a
// Windows layout a home is /Users/<name> (%USERPROFILE%), %APPDATA% is <home>/AppData/Roaming,
// %LOCALAPPDATA% <home>/AppData/Local, %ProgramData% /ProgramData and %ProgramFiles%
// /Program Files: the system drive (C:) is the scanned root.
enum class Platform { kLinux, kMacos, kWindows };

struct ConfigLocation {
  std::string_view client;  // catalogue id
  Anchor anchor;
  Platform platform;
  std::string_view path;
  Format format;
  Layout layout;
  bool managed = false;  // scope managed rather than user (system files)
};

// Every location known, in a stable order. Project locations are relative to a project root.
const std::vector<ConfigLocation>& config_locations();

// Host editors whose user dir holds the Cline and Roo extension settings, relative to a home.
const std::vector<std::string_view>& editor_user_dirs(Platform platform);

// Credential stores that are noted (never read): client id, path relative to home, description.
struct CredentialStoreLocation {
  std::string_view client;
  std::string_view path;
  std::string_view what;
};
const std::vector<CredentialStoreLocation>& credential_store_locations();

// Process signatures: an executable or script name that identifies a running client.
struct ProcessSignature {
  std::string_view client;
  std::string_view
      name;  // basename of argv[0] / comm, or a package path fragment ("@openai/codex")
  bool fragment = false;  // true: match as a substring of any of the first argv entries
};
const std::vector<ProcessSignature>& process_signatures();

}  // namespace custody::discovery
