// How the posture collectors run external programs (nft, iptables-save, apt-get, gsettings): a
// small interface, so that tests substitute canned outputs for the OS and the collectors never
// depend on what is installed on the test machine.
//
// A CommandRunner never throws. A program that cannot be started, runs past its timeout or dies
// on a signal is an Error; a program that exits with a non-zero status is a CommandOutput (some
// programs report through their status: `dnf check-update` exits 100 when updates are pending).
#pragma once

#include <chrono>
#include <cstddef>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/result.h"

namespace custody::posture {

struct CommandOptions {
  std::chrono::milliseconds timeout{5000};
  std::size_t max_output = 4 * 1024 * 1024;  // stdout beyond this is an error (kTooLarge)
  // Run as this user and group (supplementary groups dropped) when the caller is root; -1 keeps
  // the caller's identity. Ignored when the caller is not root (it could not switch anyway).
  int run_as_uid = -1;
  int run_as_gid = -1;
};

struct CommandOutput {
  int exit_status = 0;  // the program's exit status, 0..255
  std::string out;      // its standard output
};

class CommandRunner {
 public:
  virtual ~CommandRunner() = default;
  // Runs argv[0] (an absolute path or a name looked up in the fixed PATH
  // /usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin) with argv, no shell, stdin from
  // /dev/null, stderr discarded, LC_ALL=C, plus the variables of `env` (which override).
  // kNotFound when the program does not exist; kUnavailable when it timed out (it is killed, with
  // its process group), died on a signal or could not be started (or switch to run_as_uid);
  // kTooLarge when its output passed options.max_output (it is killed too).
  virtual Result<CommandOutput> run(const std::vector<std::string>& argv,
                                    const std::map<std::string, std::string>& env,
                                    const CommandOptions& options) = 0;
};

// The real runner: fork/exec. Safe to call from several threads at once.
class ProcessCommandRunner final : public CommandRunner {
 public:
  Result<CommandOutput> run(const std::vector<std::string>& argv,
                            const std::map<std::string, std::string>& env,
                            const CommandOptions& options) override;
};

}  // namespace custody::posture
