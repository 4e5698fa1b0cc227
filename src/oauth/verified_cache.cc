#include "oauth/verified_cache.h"

#include "crypto/keyed_hash.h"

namespace custody::oauth {

std::shared_ptr<const PresentedToken> VerifiedTokenCache::find(
    std::string_view token, Micros now, Micros skew, const crypto::JwkSet& published) const {
  std::string key = crypto::sha256(token);
  std::lock_guard lock(mu_);
  auto it = entries_.find(key);
  if (it == entries_.end()) return nullptr;
  if (it->second.token->expires_at + skew <= now) return nullptr;
  if (published.find(it->second.kid) == nullptr) return nullptr;
  return it->second.token;
}

void VerifiedTokenCache::insert(std::string_view token, std::string kid, PresentedToken verified,
                                Micros now, Micros skew) {
  std::string key = crypto::sha256(token);
  auto shared = std::make_shared<const PresentedToken>(std::move(verified));
  std::lock_guard lock(mu_);
  if (entries_.size() >= capacity_) {
    for (auto it = entries_.begin(); it != entries_.end();)
      it = it->second.token->expires_at + skew <= now ? entries_.erase(it) : std::next(it);
    if (entries_.size() >= capacity_) {
      std::size_t drop = entries_.size() / 2;
      for (auto it = entries_.begin(); it != entries_.end() && drop > 0; --drop)
        it = entries_.erase(it);
    }
  }
  entries_[std::move(key)] = Entry{std::move(kid), std::move(shared)};
}

std::size_t VerifiedTokenCache::size() const {
  std::lock_guard lock(mu_);
  return entries_.size();
}

}  // namespace custody::oauth
