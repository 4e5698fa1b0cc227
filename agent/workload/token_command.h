// `custody-agent token`: asks the local agent's workload API (through libcustody) for an access
// token, or with --assertion a client assertion, and prints it on stdout. Errors go to stderr
// and the exit code is 1.
#pragma once

#include <CLI/CLI.hpp>
#include <string>

namespace custody::workload {

// Registers the subcommand on `app` when constructed; run() after app.parse() when selected().
// Not copyable: CLI11 holds pointers to its members.
class TokenCommand {
 public:
  explicit TokenCommand(CLI::App& app);
  TokenCommand(const TokenCommand&) = delete;
  TokenCommand& operator=(const TokenCommand&) = delete;

  bool selected() const;
  // 0 on success, 1 on any failure (described on stderr).
  int run() const;

 private:
  CLI::App* command_ = nullptr;
  std::string socket_, identity_, scope_, resource_, audience_;
  bool assertion_ = false;
};

}  // namespace custody::workload
