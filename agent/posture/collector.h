// One device posture collection: every section of posture.h read from a root directory, plus the
// warnings that say what could not be determined. Nothing in the scanned system can stop or hang
// a collection: files are read bounded (root_files.h), commands run with a timeout and an output
// cap (command_runner.h), and every failure becomes known=false and a warning.
//
// A PostureCollector is meant to live as long as the agent: it keeps the pending-updates answer
// for updates_max_age, so that collecting every few minutes does not simulate an upgrade each
// time. Not thread-safe (one collection at a time per object); not copyable.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "common/clock.h"
#include "posture/agent_version.h"
#include "posture/command_runner.h"
#include "posture/posture.h"
#include "posture/updates.h"

namespace custody::posture {

struct PostureOptions {
  // The tree read as if it were "/" (default: the real root).
  std::string root = "/";
  // Reported as agent.version.
  std::string agent_version = CUSTODY_AGENT_VERSION;
  // How long a pending-updates answer is reused. 0: ask every time.
  std::chrono::seconds updates_max_age = std::chrono::hours(6);
  // Timeout of the package manager's simulation, and of every other command.
  std::chrono::milliseconds updates_timeout{60000};
  std::chrono::milliseconds command_timeout{5000};
  // Also run the discovery scan (agent/discovery) on the root and report its findings'
  // fingerprints under ai_components. Default off: it walks home directories.
  bool include_discovery = false;
};

class PostureCollector {
 public:
  // runner: how commands run. Null means the real ProcessCommandRunner when options.root is "/",
  // and no commands at all otherwise (a fixture tree is not the machine the commands would
  // describe). A runner given is used whatever the root. clock: the time source (collected_at,
  // update cache); null means the system clock. Both, when given, must outlive the collector.
  explicit PostureCollector(PostureOptions options, CommandRunner* runner = nullptr,
                            const Clock* clock = nullptr);
  PostureCollector(const PostureCollector&) = delete;
  PostureCollector& operator=(const PostureCollector&) = delete;

  // Collects every section. Never fails and never throws: what is unknown is marked so.
  Posture collect();

  const PostureOptions& options() const { return options_; }

 private:
  PostureOptions options_;
  std::unique_ptr<CommandRunner> owned_runner_;
  CommandRunner* runner_;
  SystemClock system_clock_;
  const Clock* clock_;
  UpdateCheck updates_;
};

// One collection with `options` by a collector made for it (so no cached updates answer), for
// one-shot callers such as the CLI.
Posture collect_posture(const PostureOptions& options);

}  // namespace custody::posture
