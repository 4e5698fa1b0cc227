#include "oauth/client_auth_limiter.h"

#include <algorithm>
#include <vector>

namespace custody::oauth {

std::string_view address_without_port(std::string_view remote) {
  std::size_t colon = remote.rfind(':');
  return colon == std::string_view::npos ? remote : remote.substr(0, colon);
}

std::optional<Micros> ClientAuthLimiter::locked(const std::string& key, Micros now) const {
  if (options_.max_failures <= 0) return std::nullopt;
  std::lock_guard lock(mu_);
  auto it = windows_.find(key);
  if (it == windows_.end()) return std::nullopt;
  const Window& w = it->second;
  Micros end = w.start + options_.window;
  if (now >= end || w.failures < options_.max_failures) return std::nullopt;
  return end - now;
}

void ClientAuthLimiter::failed(const std::string& key, Micros now) {
  if (options_.max_failures <= 0) return;
  std::lock_guard lock(mu_);
  auto it = windows_.find(key);
  if (it == windows_.end()) {
    if (windows_.size() >= options_.max_keys) make_room(now);
    it = windows_.emplace(key, Window{now, 0}).first;
  } else if (now >= it->second.start + options_.window) {
    it->second = Window{now, 0};  // a new window
  }
  ++it->second.failures;
}

void ClientAuthLimiter::make_room(Micros now) {
  std::erase_if(windows_, [&](const auto& w) { return now >= w.second.start + options_.window; });
  if (windows_.size() < options_.max_keys || windows_.empty()) return;
  // Still full: drop the tenth whose windows started earliest, so that the next insertions do
  // not each pay for a scan.
  std::vector<Micros> starts;
  starts.reserve(windows_.size());
  for (const auto& [k, w] : windows_) starts.push_back(w.start);
  auto nth = starts.begin() + static_cast<std::ptrdiff_t>(starts.size() / 10);
  std::nth_element(starts.begin(), nth, starts.end());
  Micros cut = *nth;
  std::erase_if(windows_, [&](const auto& w) { return w.second.start <= cut; });
}

std::size_t ClientAuthLimiter::tracked() const {
  std::lock_guard lock(mu_);
  return windows_.size();
}

}  // namespace custody::oauth
