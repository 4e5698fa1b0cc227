// Risk signals that can be decided on the endpoint from one finding and its raw entry
// (DISCOVERY.md §4; issue 8 part 3). Registration-based signals (not registered, drifted since
// registration) need custodyd's inventory and are added server-side.
//
// Signals: plaintext-secret, auto-approve, unpinned-package, unpinned-image, insecure-http,
// env-file.
#pragma once

#include <nlohmann/json.hpp>
#include <string_view>
#include <vector>

#include "discovery/finding.h"

namespace custody::discovery {

// Appends to f.risks the signals of `f` (its secrets, command, args and URL) and of its raw
// `entry` (autoApprove, alwaysAllow, trust, envFile).
void add_risk_signals(Finding& f, const nlohmann::json& entry);

// The package a package-runner invocation fetches, and whether its version is pinned; nullopt
// when `command` is not a known runner (npx, bunx, pnpx, pnpm/yarn dlx, npm exec, uvx, uv tool
// run, pipx run) or no package is named.
struct PackageRef {
  std::string runner;
  std::string package;
  bool pinned = false;
};
std::optional<PackageRef> package_of(std::string_view command,
                                     const std::vector<std::string>& args);

// True when `url` is http:// to a host other than localhost, 127.0.0.0/8 or [::1].
bool insecure_remote_http(std::string_view url);

}  // namespace custody::discovery
