#include "oauth/request.h"

#include <algorithm>
#include <set>

namespace custody::oauth {

std::optional<std::string> OAuthRequest::param(std::string_view name) const {
  for (const auto& [k, v] : params)
    if (k == name && !v.empty()) return v;
  return std::nullopt;
}

std::vector<std::string> OAuthRequest::params_named(std::string_view name) const {
  std::vector<std::string> out;
  for (const auto& [k, v] : params)
    if (k == name && !v.empty()) out.push_back(v);
  return out;
}

std::optional<OAuthError> OAuthRequest::check_no_repeats(
    const std::vector<std::string>& repeatable) const {
  std::set<std::string_view> seen;
  for (const auto& [k, v] : params) {
    if (v.empty()) continue;
    if (std::find(repeatable.begin(), repeatable.end(), k) != repeatable.end()) continue;
    if (!seen.insert(k).second)
      return OAuthError::invalid_request("parameter \"" + k + "\" is included more than once");
  }
  return std::nullopt;
}

}  // namespace custody::oauth
