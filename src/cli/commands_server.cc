// custody init and custody serve: the server's own entry points (app/app.h), configured exactly
// like custodyd (app/custodyd_main.cc): custody.yaml, then CUSTODY_* variables, then these flags.
#include <iostream>

#include "app/app.h"
#include "cli/commands.h"
#include "common/config.h"

namespace custody::cli {
namespace {

struct ServerFlags {
  std::string config_file, listen, data_dir, store;
  bool demo = false;
};

void add_config_flags(CLI::App* cmd, ServerFlags* f) {
  cmd->add_option("-c,--config", f->config_file,
                  "custody.yaml path (default: ./custody.yaml if present)");
  cmd->add_option("--data-dir", f->data_dir, "data directory (CUSTODY_DATA_DIR)");
  cmd->add_option("--store", f->store, "store URL: sqlite:PATH or postgres://... (CUSTODY_STORE)");
}

// Flags override the environment by being written into the map load_config reads, as custodyd
// does. Prints the error and returns nullopt on a bad configuration.
std::optional<Config> load(const ServerFlags& f) {
  auto env = environment_map();
  if (!f.listen.empty()) env["CUSTODY_LISTEN"] = f.listen;
  if (!f.data_dir.empty()) env["CUSTODY_DATA_DIR"] = f.data_dir;
  if (!f.store.empty()) env["CUSTODY_STORE"] = f.store;
  auto config = load_config(
      f.config_file.empty() ? std::nullopt : std::optional<std::string>(f.config_file), env);
  if (!config.ok()) {
    std::cerr << "custody: " << config.error().message << "\n";
    return std::nullopt;
  }
  return std::move(config).value();
}

int run_init(const ServerFlags& f) {
  auto config = load(f);
  if (!config) return kExitUsage;
  auto result = app::init(*config);
  if (!result.ok()) {
    std::cerr << "custody: init failed: " << result.error().message << "\n";
    return kExitFailure;
  }
  if (result->created_secret) {
    std::cerr << "custody: wrote a new server secret to " << config->server_secret_path() << "\n";
  }
  if (result->admin_token.empty()) {
    std::cerr << "custody: an admin token already exists; no new one was created (mint more "
                 "with `custody token create`)\n";
    return kExitOk;
  }
  // Only the token goes to stdout, so `custody init > token` or $(custody init) captures it.
  std::cerr << "custody: created admin token " << result->admin_token_id
            << "; it is shown once and cannot be retrieved again, store it now "
               "(e.g. `token = ...` in ~/.config/custody/config, mode 600):\n";
  std::cout << result->admin_token << std::endl;
  return kExitOk;
}

}  // namespace

void add_server_commands(CLI::App& app, Action& action) {
  auto init_flags = std::make_shared<ServerFlags>();
  auto* init = app.add_subcommand(
      "init", "Prepare the data directory, server secret and store; print the first admin token");
  add_config_flags(init, init_flags.get());
  on_run(init, action, init_flags, [](ServerFlags& f) { return run_init(f); });

  auto serve_flags = std::make_shared<ServerFlags>();
  auto* serve = app.add_subcommand("serve", "Run the custody server (like custodyd)");
  add_config_flags(serve, serve_flags.get());
  serve->add_option("--listen", serve_flags->listen, "HOST:PORT to listen on (CUSTODY_LISTEN)");
  serve->add_flag("--demo", serve_flags->demo, "seed demo identities when the store is empty");
  on_run(serve, action, serve_flags, [](ServerFlags& f) {
    auto config = load(f);
    if (!config) return kExitUsage;
    return app::serve(*config, {.demo = f.demo});
  });
}

}  // namespace custody::cli
