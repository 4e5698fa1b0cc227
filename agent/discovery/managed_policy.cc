#include "discovery/managed_policy.h"

#include "discovery/config_layouts.h"

namespace custody::discovery {

bool wildcard_match(std::string_view pattern, std::string_view text) {
  // Greedy matching with backtracking to the last star: linear in practice, no recursion.
  std::size_t p = 0, t = 0, star = std::string_view::npos, mark = 0;
  while (t < text.size()) {
    if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      mark = t;
    } else if (p < pattern.size() && pattern[p] == text[t]) {
      ++p;
      ++t;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      t = ++mark;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

std::optional<ManagedMcpPolicy> managed_policy_of(const nlohmann::json& settings,
                                                  std::string file) {
  if (!settings.is_object()) return std::nullopt;
  ManagedMcpPolicy policy;
  policy.file = std::move(file);
  bool any = false;
  if (auto it = settings.find("allowedMcpServers"); it != settings.end() && it->is_array()) {
    policy.has_allowlist = true;
    policy.allowed.assign(it->begin(), it->end());
    any = true;
  }
  if (auto it = settings.find("deniedMcpServers"); it != settings.end() && it->is_array()) {
    policy.denied.assign(it->begin(), it->end());
    any = true;
  }
  if (!any) return std::nullopt;
  return policy;
}

bool policy_entry_matches(const nlohmann::json& entry, const Finding& f) {
  if (!entry.is_object()) return false;
  if (auto name = string_at(entry, "serverName")) return *name == f.server_name;
  if (auto cmd = entry.find("serverCommand"); cmd != entry.end() && cmd->is_array()) {
    if (f.command.empty() || cmd->size() != f.args.size() + 1) return false;
    if (scalar_text((*cmd)[0]).value_or("") != f.command) return false;
    for (std::size_t i = 0; i < f.args.size(); ++i) {
      if (scalar_text((*cmd)[i + 1]).value_or("") != f.args[i]) return false;
    }
    return true;
  }
  if (auto url = string_at(entry, "serverUrl"))
    return !f.url.empty() && wildcard_match(*url, f.url);
  return false;
}

void apply_managed_policies(const std::vector<ManagedMcpPolicy>& policies,
                            std::vector<Finding>& findings) {
  for (auto& f : findings) {
    if (f.client != "claude-code" || f.scope == Scope::kProcess) continue;
    bool denied = false;
    for (const auto& p : policies) {
      for (const auto& e : p.denied) {
        if (!denied && policy_entry_matches(e, f)) {
          f.risks.push_back({"denied-by-managed-policy", "deniedMcpServers in " + p.file});
          denied = true;
        }
      }
    }
    if (denied) continue;
    for (const auto& p : policies) {
      if (!p.has_allowlist) continue;
      bool allowed = false;
      for (const auto& e : p.allowed) allowed = allowed || policy_entry_matches(e, f);
      if (!allowed) {
        f.risks.push_back({"not-in-managed-allowlist", "allowedMcpServers in " + p.file});
        break;
      }
    }
  }
}

}  // namespace custody::discovery
