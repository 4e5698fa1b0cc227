#include "posture/firewall.h"

#include <nlohmann/json.hpp>
#include <sstream>

namespace custody::posture {

Result<RulesetCounts> parse_nft_json(std::string_view text) {
  auto doc = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object() || !doc.contains("nftables") ||
      !doc["nftables"].is_array()) {
    return Error::invalid("nft: output is not an nftables JSON ruleset");
  }
  RulesetCounts c;
  for (const auto& item : doc["nftables"]) {
    if (!item.is_object()) continue;
    if (item.contains("rule")) ++c.rules;
    auto chain = item.find("chain");
    if (chain != item.end() && chain->is_object()) {
      auto policy = chain->find("policy");
      if (policy != chain->end() && policy->is_string() && *policy != "accept") {
        c.blocking_policy = true;
      }
    }
  }
  return c;
}

RulesetCounts parse_iptables_save(std::string_view text) {
  RulesetCounts c;
  std::istringstream in{std::string(text)};
  std::string line;
  while (std::getline(in, line)) {
    if (line.starts_with("-A ")) {
      ++c.rules;
    } else if (line.starts_with(":")) {
      std::istringstream f(line);
      std::string chain, policy;
      f >> chain >> policy;
      if (!policy.empty() && policy != "ACCEPT" && policy != "-") c.blocking_policy = true;
    }
  }
  return c;
}

FirewallInfo collect_firewall(CommandRunner* runner, std::chrono::milliseconds timeout,
                              std::vector<std::string>* warnings) {
  FirewallInfo info;
  if (runner == nullptr) {
    warnings->push_back("firewall: not inspected (scanned root is not / and no command runner)");
    return info;
  }
  CommandOptions limits;
  limits.timeout = timeout;
  std::string failures;

  auto nft = runner->run({"nft", "-j", "list", "ruleset"}, {}, limits);
  if (nft.ok() && nft->exit_status == 0) {
    auto counts = parse_nft_json(nft->out);
    if (counts.ok()) {
      info.known = true;
      info.backend = "nftables";
      info.rules = counts->rules;
      info.active = counts->rules > 0 || counts->blocking_policy;
      if (info.active) return info;  // else iptables-legacy may hold the rules
    } else {
      failures += counts.error().message;
    }
  } else {
    failures += nft.ok() ? "nft exited with status " + std::to_string(nft->exit_status)
                         : nft.error().message;
  }

  auto ipt = runner->run({"iptables-save"}, {}, limits);
  if (ipt.ok() && ipt->exit_status == 0) {
    auto counts = parse_iptables_save(ipt->out);
    if (counts.rules > 0 || counts.blocking_policy || !info.known) {
      info.known = true;
      info.backend = "iptables";
      info.rules = counts.rules;
      info.active = counts.rules > 0 || counts.blocking_policy;
    }
    return info;
  }
  if (info.known) return info;
  failures +=
      "; " + (ipt.ok() ? "iptables-save exited with status " + std::to_string(ipt->exit_status)
                       : ipt.error().message);
  warnings->push_back("firewall: " + failures);
  return info;
}

}  // namespace custody::posture
