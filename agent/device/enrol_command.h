// `custody-agent enrol` and `custody-agent report` (docs/devices.md).
#pragma once

#include <CLI/CLI.hpp>
#include <functional>

namespace custody::agent {

// Registers the subcommands on `app`; the returned function runs whichever was chosen and
// returns the exit code (-1 when neither was).
std::function<int()> add_device_commands(CLI::App& app);

}  // namespace custody::agent
