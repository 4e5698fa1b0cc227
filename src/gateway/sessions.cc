#include "gateway/sessions.h"

#include <algorithm>

namespace custody::gateway {

void SessionTable::add(const std::string& route, const std::string& session_id,
                       const std::string& owner, Micros now) {
  std::lock_guard lock(mu_);
  sessions_[{route, session_id}] = Entry{owner, now};
  if (sessions_.size() > max_sessions_) evict(now);
}

SessionTable::Check SessionTable::check(const std::string& route, const std::string& session_id,
                                        const std::string& owner, Micros now) {
  std::lock_guard lock(mu_);
  auto it = sessions_.find({route, session_id});
  if (it == sessions_.end()) return Check::kUnknown;
  if (now - it->second.last_used > idle_ttl_) {
    sessions_.erase(it);
    return Check::kUnknown;
  }
  if (it->second.owner != owner) return Check::kForeign;
  it->second.last_used = now;
  return Check::kOk;
}

void SessionTable::remove(const std::string& route, const std::string& session_id) {
  std::lock_guard lock(mu_);
  sessions_.erase({route, session_id});
}

std::size_t SessionTable::size() const {
  std::lock_guard lock(mu_);
  return sessions_.size();
}

// Drops expired sessions, then the least recently used ones until within the cap. Runs only when
// the table is over its cap, so its linear scans are rare.
void SessionTable::evict(Micros now) {
  for (auto it = sessions_.begin(); it != sessions_.end();)
    it = now - it->second.last_used > idle_ttl_ ? sessions_.erase(it) : std::next(it);
  while (sessions_.size() > max_sessions_) {
    auto oldest = std::min_element(sessions_.begin(), sessions_.end(), [](auto& a, auto& b) {
      return a.second.last_used < b.second.last_used;
    });
    sessions_.erase(oldest);
  }
}

}  // namespace custody::gateway
