// `custody-agent posture [--root DIR] [--json] [--discovery]`: collects the device posture once
// and prints it as text or JSON (docs/posture.md).
#pragma once

#include <CLI/CLI.hpp>
#include <memory>

namespace custody::posture {

struct PostureCommandArgs;

// Adds the `posture` subcommand to `app`. The returned function runs it when it was the parsed
// subcommand and returns the process exit code (0 success, 1 failure); it returns -1 when
// `posture` was not the subcommand given. Call it after app.parse().
struct PostureCommand {
  CLI::App* subcommand = nullptr;
  std::shared_ptr<PostureCommandArgs> args;
  int run_if_selected() const;
};
PostureCommand add_posture_command(CLI::App& app);

}  // namespace custody::posture
