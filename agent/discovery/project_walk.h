// The walk of configured project roots (`--project-root`) for project-level configs (.mcp.json,
// .vscode/mcp.json, ...). Bounded: depth, number of directory entries seen, wall time. Symlinked
// directories are followed once: a directory already walked (same device and inode, e.g. a
// symlink loop) is skipped with a warning, as is a symlink that cannot be resolved (ELOOP) or a
// directory that cannot be opened. Dependency and VCS directories (.git, node_modules, virtual
// environments) are not entered: their configs are not the user's.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "discovery/catalogue.h"
#include "discovery/finding.h"
#include "discovery/path_resolver.h"

namespace custody::discovery {

struct WalkLimits {
  int max_depth = 8;                          // directories below the project root
  std::uint64_t max_entries = 1000000;        // directory entries seen, over all roots
  std::chrono::milliseconds max_time{10000};  // over all roots
};

// Called for each candidate project config file (real path) in project directory `project_dir`
// (real path); the file may not exist (the callback's read decides).
using ProjectFileVisitor = std::function<void(
    const std::string& project_dir, const ConfigLocation& location, const std::string& file)>;

class ProjectWalker {
 public:
  ProjectWalker(const RootView& root, WalkLimits limits, Report& report)
      : root_(root), limits_(limits), report_(report), start_(std::chrono::steady_clock::now()) {}

  // Walks the real directory `project_root`. Limits are shared by every call on this walker;
  // once one is hit the walk stops, report.stats.project_walk_truncated is set and a warning
  // names the limit.
  void walk(const std::string& project_root, const ProjectFileVisitor& visit);

 private:
  bool out_of_budget();

  const RootView& root_;
  WalkLimits limits_;
  Report& report_;
  std::chrono::steady_clock::time_point start_;
  std::vector<std::pair<dev_t, ino_t>> visited_;  // sorted
  bool stopped_ = false;
};

}  // namespace custody::discovery
