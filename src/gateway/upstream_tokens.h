// The gateway's own tokens towards each upstream (docs/mcp-gateway.md, "No token passthrough"):
// one RFC 8693 exchange per caller token and route, with the caller's token as subject_token,
// the gateway's identity as actor and the upstream's URL as resource, so that the upstream sees
// an audience-restricted token whose act chain names the gateway and the caller. Kept until
// shortly before it expires (it never outlives the caller's token).
//
// Thread safety: all methods may be called from any thread.
#pragma once

#include <cstddef>
#include <map>
#include <mutex>
#include <optional>
#include <string>

#include "common/clock.h"

namespace custody::gateway {

class UpstreamTokens {
 public:
  explicit UpstreamTokens(std::size_t max_entries) : max_entries_(max_entries) {}

  // `key`: the caller token's jti and the route's server id. nullopt when none is cached or it
  // expires within `margin`.
  std::optional<std::string> find(const std::string& key, Micros now, Micros margin) const;
  void put(const std::string& key, std::string token, Micros expires_at, Micros now);

 private:
  struct Entry {
    std::string token;
    Micros expires_at = 0;
  };
  std::size_t max_entries_;
  mutable std::mutex mu_;
  std::map<std::string, Entry> entries_;
};

}  // namespace custody::gateway
