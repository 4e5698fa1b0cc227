#include "workload/credential_cache.h"

namespace custody::workload {

std::string cache_key(std::string_view kind, const WorkloadBinding& binding,
                      const PeerInfo& process, std::string_view params) {
  // NUL separates the parts: none of them can contain one (they come from JSON strings that the
  // server rejects with NUL, from hex, or from numbers).
  std::string key;
  for (std::string_view part :
       {kind, std::string_view(binding.identity), std::string_view(process.exe_sha256)}) {
    key.append(part);
    key.push_back('\0');
  }
  key += std::to_string(process.uid);
  key.push_back('\0');
  key.append(params);
  return key;
}

CredentialCache::CredentialCache(const Clock& clock, std::size_t max_entries)
    : clock_(clock), max_entries_(max_entries) {}

std::optional<Credential> CredentialCache::get(const std::string& key) {
  std::lock_guard lock(mu_);
  auto it = entries_.find(key);
  if (it == entries_.end()) return std::nullopt;
  if (clock_.now() >= it->second.reuse_until) {
    lru_.erase(it->second.lru);
    entries_.erase(it);
    return std::nullopt;
  }
  lru_.splice(lru_.begin(), lru_, it->second.lru);
  return it->second.credential;
}

void CredentialCache::put(const std::string& key, const Credential& credential) {
  if (max_entries_ == 0) return;
  const Micros now = clock_.now();
  const Micros expires = std::chrono::duration_cast<std::chrono::microseconds>(
                             credential.expires_at.time_since_epoch())
                             .count();
  if (expires <= now) return;
  const Micros reuse_until = now + (expires - now) * 8 / 10;
  std::lock_guard lock(mu_);
  auto it = entries_.find(key);
  if (it != entries_.end()) {
    lru_.erase(it->second.lru);
    entries_.erase(it);
  }
  lru_.push_front(key);
  entries_.emplace(key, Entry{credential, reuse_until, lru_.begin()});
  while (entries_.size() > max_entries_) {
    entries_.erase(lru_.back());
    lru_.pop_back();
  }
}

std::size_t CredentialCache::size() const {
  std::lock_guard lock(mu_);
  return entries_.size();
}

void CredentialCache::clear() {
  std::lock_guard lock(mu_);
  entries_.clear();
  lru_.clear();
}

}  // namespace custody::workload
