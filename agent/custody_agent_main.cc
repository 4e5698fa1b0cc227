// custody-agent: the endpoint agent. `scan` finds the AI clients, MCP servers and A2A agents
// configured or running on this machine (docs/discovery.md). Exit codes: 0 success (warnings
// included: they are part of the report), 2 usage errors.
#include <CLI/CLI.hpp>
#include <chrono>
#include <exception>
#include <iostream>

#include "device/device_state.h"
#include "device/discovery_upload.h"
#include "device/enrol_command.h"
#include "device/run_command.h"
#include "discovery/report_json.h"
#include "discovery/scanner.h"
#include "posture/posture_command.h"
#include "workload/token_command.h"

namespace {

constexpr int kExitOk = 0;
constexpr int kExitFailure = 1;
constexpr int kExitUsage = 2;

}  // namespace

int main(int argc, char** argv) {
  using namespace custody::discovery;
  CLI::App app{"custody-agent: the custody endpoint agent"};
  app.require_subcommand(1);

  ScanOptions options;
  bool json = false;
  std::string device_id;
  long long max_time_ms = options.walk.max_time.count();
  CLI::App* scan_cmd = app.add_subcommand(
      "scan", "Find AI clients, MCP servers and A2A agents in config files and processes");
  scan_cmd->add_option("--root", options.root, "Read this directory as if it were /")
      ->capture_default_str();
  scan_cmd->add_option("--project-root", options.project_roots,
                       "A directory (inside the root) to walk for project configs; repeatable");
  scan_cmd->add_option("--device-id", device_id,
                       "Salt for fingerprints (default: <root>/etc/machine-id)");
  // Also from the environment: a key on the command line is visible in the process list.
  scan_cmd
      ->add_option("--hash-key", options.hash_key,
                   "Key of the HMAC over literal secrets (default: random per run)")
      ->envname("CUSTODY_AGENT_HASH_KEY");
  scan_cmd->add_option("--max-file-bytes", options.max_file_bytes, "Size cap per config file")
      ->capture_default_str();
  scan_cmd->add_option("--max-depth", options.walk.max_depth, "Project walk: depth limit")
      ->capture_default_str();
  scan_cmd
      ->add_option("--max-entries", options.walk.max_entries,
                   "Project walk: directory entries limit")
      ->capture_default_str();
  scan_cmd->add_option("--max-time-ms", max_time_ms, "Project walk: time limit in milliseconds")
      ->capture_default_str();
  scan_cmd->add_flag("--macos-paths", options.macos_paths,
                     "Also resolve macOS locations (~/Library/..., /Users/*)");
  scan_cmd->add_flag("--windows-paths", options.windows_paths,
                     "Also resolve Windows locations under the root (%APPDATA%, /Users/*, ...)");
  bool no_processes = false;
  long long probe_timeout_ms = options.probe.timeout.count(),
            probe_total_ms = options.probe.total.count();
  scan_cmd->add_flag("--probe-loopback", options.probe_loopback,
                     "Send an MCP initialize request to each loopback TCP listener (opt-in)");
  scan_cmd
      ->add_option("--probe-max-listeners", options.probe.max_listeners, "Probe: listeners limit")
      ->capture_default_str();
  scan_cmd
      ->add_option("--probe-timeout-ms", probe_timeout_ms, "Probe: per request (connect + read)")
      ->capture_default_str();
  scan_cmd->add_option("--probe-total-ms", probe_total_ms, "Probe: time cap of the whole probe")
      ->capture_default_str();
  scan_cmd->add_option("--probe-path", options.probe.paths, "Probe: request paths, in order")
      ->capture_default_str();
  scan_cmd->add_flag("--no-processes", no_processes, "Do not read <root>/proc");
  scan_cmd->add_flag("--json", json, "Print the report as JSON");
  bool upload = false;
  std::string state_dir = custody::agent::kDefaultStateDir;
  scan_cmd->add_flag("--upload", upload,
                     "Upload the report to custodyd, signed with the enrolled device key");
  scan_cmd->add_option("--state-dir", state_dir, "The enrolment's state directory (--upload)")
      ->capture_default_str();
  auto posture_cmd = custody::posture::add_posture_command(app);
  auto device_cmds = custody::agent::add_device_commands(app);
  auto run_cmd = custody::agent::add_run_command(app);
  custody::workload::TokenCommand token_cmd(app);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? kExitOk : kExitUsage;
  }
  if (int rc = posture_cmd.run_if_selected(); rc >= 0) return rc;
  if (int rc = device_cmds(); rc >= 0) return rc;
  if (int rc = run_cmd(); rc >= 0) return rc;
  if (token_cmd.selected()) return token_cmd.run();
  try {
    if (!device_id.empty()) options.device_id = device_id;
    options.walk.max_time = std::chrono::milliseconds(max_time_ms);
    options.processes = !no_processes;
    options.probe.timeout = std::chrono::milliseconds(probe_timeout_ms);
    options.probe.total = std::chrono::milliseconds(probe_total_ms);
    if (upload) {
      auto state = custody::agent::load_state(state_dir);
      if (!state.ok()) {
        std::cerr << "custody-agent: " << state.error().message << "\n";
        return kExitFailure;
      }
      custody::agent::DeviceClient client(*state);
      auto answer = custody::agent::scan_and_upload(client, options);
      if (!answer.ok()) {
        std::cerr << "custody-agent: upload refused: " << answer.error().message << "\n";
        return kExitFailure;
      }
      std::cout << answer->dump(2) << "\n";
      return kExitOk;
    }
    Report report = scan(options);
    if (json) {
      std::cout << report_to_json(report).dump(2) << "\n";
    } else {
      std::cout << report_to_text(report);
    }
    return kExitOk;
  } catch (const std::exception& e) {
    std::cerr << "custody-agent: " << e.what() << "\n";
    return kExitFailure;
  }
}
