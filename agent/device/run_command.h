// `custody-agent run`: the daemon (docs/devices.md). Reports posture on a schedule and on change,
// and serves the workload API on its Unix socket, until SIGTERM or SIGINT.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>

namespace custody::agent {

// Registers the subcommand; the returned function runs it when chosen (exit code) and returns
// -1 otherwise.
std::function<int()> add_run_command(CLI::App& app);

}  // namespace custody::agent
