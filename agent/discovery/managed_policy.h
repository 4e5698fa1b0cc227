// Claude Code's managed MCP policy (DISCOVERY.md §1 "Also scan"): managed-settings.json (and, on
// Linux, managed-settings.d/*.json) beside managed-mcp.json may list allowedMcpServers and
// deniedMcpServers, matched by serverName, serverCommand (exact argv) or serverUrl (with '*'
// wildcards). The scanner does not enforce it; it reports each Claude Code finding the policy
// denies or does not allow, as risk signals — a configured server the organisation already
// decided against is worth knowing about.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "discovery/finding.h"

namespace custody::discovery {

struct ManagedMcpPolicy {
  std::string file;  // view path of the settings file
  bool has_allowlist = false;
  std::vector<nlohmann::json> allowed;
  std::vector<nlohmann::json> denied;
};

// The policy members of one parsed managed-settings document; nullopt when it has none.
std::optional<ManagedMcpPolicy> managed_policy_of(const nlohmann::json& settings, std::string file);

// True when policy entry `entry` ({serverName} | {serverCommand} | {serverUrl}) matches `f`.
bool policy_entry_matches(const nlohmann::json& entry, const Finding& f);

// Adds to every claude-code finding (not process-only ones) `denied-by-managed-policy` when a
// denied entry matches, else `not-in-managed-allowlist` when some policy has an allowlist that no
// entry of matches.
void apply_managed_policies(const std::vector<ManagedMcpPolicy>& policies,
                            std::vector<Finding>& findings);

// '*' matches any run of characters (including none); everything else literally.
bool wildcard_match(std::string_view pattern, std::string_view text);

}  // namespace custody::discovery
