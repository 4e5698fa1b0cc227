// custodyd's entry points, shared by the `custodyd` binary and `custody serve|init`.
// This is the only place that wires concrete stores, clocks, keys and servers together.
#pragma once

#include <string>

#include "common/config.h"
#include "common/result.h"

namespace custody::app {

struct InitResult {
  std::string admin_token;      // the new admin token, shown once; empty if one already existed
  std::string admin_token_id;   // its tok_ id
  bool created_secret = false;  // a new server secret file was written
};

// Prepares the data directory (mode 0700), the server secret (0600) and the store schema, and
// creates the first admin token when the store has none: the value of
// config.bootstrap_admin_token when set, else a new random one. Idempotent.
Result<InitResult> init(const Config& config);

struct ServeOptions {
  bool demo = false;  // seed demo identities on an empty store
};

// Runs the server until SIGTERM/SIGINT, then drains and flushes. Prints
// "listening on http://HOST:PORT" when ready, and the one-time admin token on first start.
// Returns the process exit code.
int serve(const Config& config, const ServeOptions& options);

}  // namespace custody::app
