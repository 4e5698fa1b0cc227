// Credentials already handed out, reused until 80% of their lifetime has passed so that a
// workload asking in a loop does not cost custodyd a signature each time. Keyed by everything
// that makes two requests equivalent: kind, identity, exe SHA-256, uid and the request
// parameters. Bounded: beyond max_entries the least recently used entry is dropped.
//
// Thread-safe. Two concurrent misses for one key both go to the broker; the later one wins.
#pragma once

#include <chrono>
#include <cstddef>
#include <list>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

#include "common/clock.h"
#include "workload/broker.h"

namespace custody::workload {

// The cache key of a request; built by the server.
std::string cache_key(std::string_view kind, const WorkloadBinding& binding,
                      const PeerInfo& process, std::string_view params);

class CredentialCache {
 public:
  // `clock` must outlive the cache.
  CredentialCache(const Clock& clock, std::size_t max_entries);
  CredentialCache(const CredentialCache&) = delete;
  CredentialCache& operator=(const CredentialCache&) = delete;

  // The cached credential if less than 80% of its lifetime (from when it was put) has passed.
  std::optional<Credential> get(const std::string& key);
  // Stores a credential obtained now. One already expired is not stored.
  void put(const std::string& key, const Credential& credential);
  std::size_t size() const;
  // Drops every credential (the device stopped being trusted: custodyd revoked them).
  void clear();

 private:
  struct Entry {
    Credential credential;
    Micros reuse_until = 0;
    std::list<std::string>::iterator lru;
  };
  const Clock& clock_;
  std::size_t max_entries_;
  mutable std::mutex mu_;
  std::list<std::string> lru_;  // most recently used first
  std::unordered_map<std::string, Entry> entries_;
};

}  // namespace custody::workload
