// Whether a host firewall is active: the nftables ruleset (`nft -j list ruleset`), else the
// iptables one (`iptables-save`), both read through the CommandRunner (listing a ruleset needs
// CAP_NET_ADMIN: an agent without it reports known=false). Active means at least one rule, or a
// base chain whose policy drops or rejects. ufw and firewalld are front ends that write these
// rulesets, so they are seen through them.
#pragma once

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "posture/command_runner.h"
#include "posture/posture.h"

namespace custody::posture {

struct RulesetCounts {
  std::int64_t rules = 0;
  bool blocking_policy = false;  // a chain policy other than accept
};

// `nft -j list ruleset` output: counts the "rule" objects and the chains whose policy is "drop".
// kInvalidArgument when it is not the nftables JSON schema.
Result<RulesetCounts> parse_nft_json(std::string_view text);
// `iptables-save` output: counts "-A" lines and built-in chain policies other than ACCEPT
// (":INPUT DROP [0:0]").
RulesetCounts parse_iptables_save(std::string_view text);

// runner null: known=false with a warning (nothing is run).
FirewallInfo collect_firewall(CommandRunner* runner, std::chrono::milliseconds timeout,
                              std::vector<std::string>* warnings);

}  // namespace custody::posture
