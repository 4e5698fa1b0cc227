// custody: the command-line client of the custody admin API, plus `init` and `serve` for running
// the server itself. Exit codes: 0 success, 1 the server refused or could not be reached, 2 usage
// errors (bad flags, missing arguments).
#include <CLI/CLI.hpp>
#include <exception>
#include <iostream>

#include "cli/commands.h"

int main(int argc, char** argv) {
  using namespace custody::cli;
  CLI::App app{
      "custody: manage identities, entitlements, credentials and tokens on a custody "
      "server"};
  app.require_subcommand(1);
  Action action;
  add_server_commands(app, action);
  add_identity_commands(app, action);
  add_entitlement_commands(app, action);
  add_credential_commands(app, action);
  add_token_commands(app, action);
  add_audit_commands(app, action);
  add_delegation_commands(app, action);
  add_policy_commands(app, action);
  add_device_commands(app, action);
  add_discovery_commands(app, action);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // CLI11 prints help (exit 0) or the error; its own codes (105, 106, ...) are collapsed to 2,
    // the conventional usage-error status.
    return app.exit(e) == 0 ? kExitOk : kExitUsage;
  }
  if (!action) return kExitUsage;  // unreachable: require_subcommand ensures a leaf ran
  try {
    return action();
  } catch (const std::exception& e) {
    // Commands report through Result; this is the last line for allocation failures and the like.
    std::cerr << "custody: " << e.what() << "\n";
    return kExitFailure;
  }
}
