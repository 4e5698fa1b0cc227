// One discovery scan: the catalogue's user, managed and project locations under a root, the
// configured project roots, the running processes and, when asked, the MCP servers listening on
// the loopback interface, normalised into one Report. Nothing a
// scanned file or process contains can stop the scan: each problem is a warning in the report.
//
// Thread-compatible: one scan per call, no shared state.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "discovery/finding.h"
#include "discovery/loopback_probe.h"
#include "discovery/project_walk.h"

namespace custody::discovery {

struct ScanOptions {
  // The tree read as if it were "/" (default: the real root).
  std::string root = "/";
  // Project roots as paths inside the scanned root ("/home/alice/src"), walked for project-level
  // configs. Default none.
  std::vector<std::string> project_roots;
  // Salts fingerprints so that they are per device. Default: <root>/etc/machine-id; when that is
  // missing too, fingerprints are unsalted and device_id_source says "none".
  std::optional<std::string> device_id;
  // Key of the HMAC over literal secrets. Default (empty): 32 random bytes for this run only.
  std::string hash_key;
  // Config files larger than this are skipped with a warning. ~/.claude.json holds history as
  // well as servers and gets its own, larger cap.
  std::size_t max_file_bytes = 4 * 1024 * 1024;
  std::size_t max_claude_json_bytes = 64 * 1024 * 1024;
  WalkLimits walk;
  // Also resolve macOS locations (~/Library/..., /Library/..., /Users/*). Default: on macOS only.
#ifdef __APPLE__
  bool macos_paths = true;
#else
  bool macos_paths = false;
#endif
  // Also resolve Windows locations (%APPDATA%, %LOCALAPPDATA%, %ProgramData%, %ProgramFiles%
  // and %USERPROFILE% mapped under the root as catalogue.h says; homes under /Users). Default: on
  // Windows only, where the root is the system drive.
#ifdef _WIN32
  bool windows_paths = true;
#else
  bool windows_paths = false;
#endif
  bool processes = true;  // read <root>/proc
  // Send an MCP initialize request to each loopback TCP listener and to each configured loopback
  // URL (loopback_probe.h). Off by default: the rest of the scan only reads.
  bool probe_loopback = false;
  LoopbackProbeOptions probe;
};

Report scan(const ScanOptions& options);

}  // namespace custody::discovery
