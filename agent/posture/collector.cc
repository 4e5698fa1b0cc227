#include "posture/collector.h"

#include <algorithm>
#include <exception>

#include "discovery/scanner.h"
#include "posture/disk_encryption.h"
#include "posture/firewall.h"
#include "posture/mdm.h"
#include "posture/os_info.h"
#include "posture/root_files.h"
#include "posture/screen_lock.h"
#include "posture/secure_boot.h"

namespace custody::posture {

namespace {

AiComponentsInfo collect_ai_components(const std::string& root,
                                       std::vector<std::string>* warnings) {
  AiComponentsInfo info;
  // The discovery scanner reports its problems as warnings, but it is another module: a throw
  // from it (allocation, a bug) must not end the posture collection.
  try {
    discovery::ScanOptions options;
    options.root = root;
    discovery::Report report = discovery::scan(options);
    info.known = true;
    info.count = static_cast<std::int64_t>(report.findings.size());
    for (const auto& f : report.findings) info.fingerprints.push_back(f.fingerprint);
    std::sort(info.fingerprints.begin(), info.fingerprints.end());
    if (!report.warnings.empty()) {
      warnings->push_back("ai_components: discovery reported " +
                          std::to_string(report.warnings.size()) + " warnings");
    }
  } catch (const std::exception& e) {
    warnings->push_back(std::string("ai_components: discovery scan failed: ") + e.what());
    info = {};
  }
  return info;
}

}  // namespace

PostureCollector::PostureCollector(PostureOptions options, CommandRunner* runner,
                                   const Clock* clock)
    : options_(std::move(options)),
      owned_runner_(runner == nullptr && RootFiles(options_.root).is_real_root()
                        ? std::make_unique<ProcessCommandRunner>()
                        : nullptr),
      runner_(runner != nullptr ? runner : owned_runner_.get()),
      clock_(clock != nullptr ? clock : &system_clock_),
      updates_(runner_, clock_, options_.updates_max_age, options_.updates_timeout) {}

Posture PostureCollector::collect() {
  const auto start = std::chrono::steady_clock::now();
  const RootFiles root(options_.root);
  Posture p;
  p.collected_at = clock_->now() / kMicrosPerSecond;
  auto* w = &p.warnings;
  p.os = collect_os(root, w);
  p.kernel = collect_kernel(root, w);
  p.updates = updates_.collect(root, p.os, w);
  p.disk_encryption = collect_disk_encryption(root, w);
  p.firewall = collect_firewall(runner_, options_.command_timeout, w);
  p.secure_boot = collect_secure_boot(root, w);
  p.screen_lock = collect_screen_lock(root, runner_, options_.command_timeout, w);
  p.mdm = collect_mdm(root);
  p.agent.version = options_.agent_version;
  if (options_.include_discovery) p.ai_components = collect_ai_components(options_.root, w);
  p.collection_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                        std::chrono::steady_clock::now() - start)
                        .count();
  return p;
}

Posture collect_posture(const PostureOptions& options) {
  PostureCollector collector(options);
  return collector.collect();
}

}  // namespace custody::posture
