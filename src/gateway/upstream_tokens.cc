#include "gateway/upstream_tokens.h"

namespace custody::gateway {

std::optional<std::string> UpstreamTokens::find(const std::string& key, Micros now,
                                                Micros margin) const {
  std::lock_guard lock(mu_);
  auto it = entries_.find(key);
  if (it == entries_.end() || it->second.expires_at - margin <= now) return std::nullopt;
  return it->second.token;
}

void UpstreamTokens::put(const std::string& key, std::string token, Micros expires_at, Micros now) {
  std::lock_guard lock(mu_);
  if (entries_.size() >= max_entries_) {
    // Expired entries first; if that is not enough, start over (each is one exchange away).
    for (auto it = entries_.begin(); it != entries_.end();)
      it = it->second.expires_at <= now ? entries_.erase(it) : std::next(it);
    if (entries_.size() >= max_entries_) entries_.clear();
  }
  entries_[key] = Entry{std::move(token), expires_at};
}

}  // namespace custody::gateway
