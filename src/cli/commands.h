// The `custody` command tree. Each commands_*.cc file adds one group of subcommands.
//
// CLI11 only parses: a leaf command's parse callback stores an Action, and main runs it after
// parsing succeeded, so a command's return value becomes the process exit code (session.h:
// kExitOk, kExitFailure, kExitUsage). Flag values live in a shared_ptr that both the option
// bindings and the Action refer to, so each leaf command keeps its state in one place.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>
#include <memory>
#include <optional>
#include <ostream>
#include <string>

#include "cli/session.h"
#include "common/error.h"

namespace custody::cli {

using Action = std::function<int()>;

void add_server_commands(CLI::App& app, Action& action);  // init, serve
void add_identity_commands(CLI::App& app, Action& action);
void add_entitlement_commands(CLI::App& app, Action& action);
void add_credential_commands(CLI::App& app, Action& action);
void add_token_commands(CLI::App& app, Action& action);
void add_audit_commands(CLI::App& app, Action& action);
void add_delegation_commands(CLI::App& app, Action& action);  // trace, delegation, keys
void add_policy_commands(CLI::App& app, Action& action);      // policy, entities
void add_device_commands(CLI::App& app, Action& action);
void add_discovery_commands(CLI::App& app, Action& action);  // discovery list|show|…

// Helpers shared by the commands_*.cc files.

// Binds a leaf command: when `command` is the subcommand parsed, `action` becomes run(*args).
template <class Args, class Run>
void on_run(CLI::App* command, Action& action, std::shared_ptr<Args> args, Run run) {
  command->callback([&action, args, run] { action = [args, run] { return run(*args); }; });
}

// The option's value when the flag was given on the command line, else nullopt; lets the request
// builders tell "--description ''" (clear it) from no flag at all.
std::optional<std::string> given(const CLI::Option* option, const std::string& value);

// Opens a session from the flags and the process environment and runs `body` with it; returns
// kExitFailure when the session cannot be opened (the reason is already printed).
int with_session(const RemoteFlags& flags, const std::function<int(const Session&)>& body);

// Prints "custody: <message>" for a request that could not be built from the flags; returns
// kExitUsage.
int usage_error(const Error& error);

// Calls the API and prints the result: the pretty JSON body with --json, else `render(body)`.
// Returns kExitOk, or kExitFailure when the call failed.
using Renderer = std::function<void(std::ostream&, const Json&)>;
int call_and_print(const Session& session, const ApiCall& call, const Renderer& render);

// GET of a paged list: one page (with a hint on stderr when more exist), or every page with
// `all`. Printing as in call_and_print.
int list_and_print(const Session& session, const ApiCall& call, bool all,
                   const Renderer& render_items);

}  // namespace custody::cli
