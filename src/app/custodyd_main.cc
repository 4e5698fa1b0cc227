// custodyd: the custody server. Flags override custody.yaml and CUSTODY_* variables.
#include <CLI/CLI.hpp>
#include <iostream>

#include "app/app.h"

int main(int argc, char** argv) {
  CLI::App cli{"custodyd: the custody agentic IAM server"};
  std::string config_file, listen, data_dir, store;
  bool demo = false;
  cli.add_option("-c,--config", config_file,
                 "custody.yaml path (default: ./custody.yaml if present)");
  cli.add_option("--listen", listen, "HOST:PORT to listen on (CUSTODY_LISTEN)");
  cli.add_option("--data-dir", data_dir, "data directory (CUSTODY_DATA_DIR)");
  cli.add_option("--store", store, "store URL: sqlite:PATH or postgres://... (CUSTODY_STORE)");
  cli.add_flag("--demo", demo, "seed demo identities when the store is empty");
  CLI11_PARSE(cli, argc, argv);

  auto env = custody::environment_map();
  if (!listen.empty()) env["CUSTODY_LISTEN"] = listen;
  if (!data_dir.empty()) env["CUSTODY_DATA_DIR"] = data_dir;
  if (!store.empty()) env["CUSTODY_STORE"] = store;
  auto config = custody::load_config(
      config_file.empty() ? std::nullopt : std::optional<std::string>(config_file), env);
  if (!config.ok()) {
    std::cerr << "custodyd: " << config.error().message << "\n";
    return 2;
  }
  return custody::app::serve(*config, {.demo = demo});
}
