// MCP sessions seen through the gateway. The upstream's Mcp-Session-Id is passed through
// unchanged, and bound here to the caller that initialized it (token subject and client), so that
// a session id another caller learned cannot be used to ride on that session. Sessions are kept
// in memory on this node: after a restart (or on another node) the id is unknown, the client gets
// 404 and initializes again, as the MCP transport specifies.
//
// Thread safety: all methods may be called from any thread.
#pragma once

#include <cstddef>
#include <map>
#include <mutex>
#include <string>
#include <utility>

#include "common/clock.h"

namespace custody::gateway {

class SessionTable {
 public:
  // At most `max_sessions` are kept (the least recently used goes first); a session unused for
  // `idle_ttl` is forgotten.
  SessionTable(std::size_t max_sessions, Micros idle_ttl)
      : max_sessions_(max_sessions), idle_ttl_(idle_ttl) {}

  void add(const std::string& route, const std::string& session_id, const std::string& owner,
           Micros now);

  enum class Check { kOk, kUnknown, kForeign };
  // kOk (and the session counts as used now), kUnknown (never seen, ended or expired), or
  // kForeign (another caller's).
  Check check(const std::string& route, const std::string& session_id, const std::string& owner,
              Micros now);

  void remove(const std::string& route, const std::string& session_id);
  std::size_t size() const;

 private:
  struct Entry {
    std::string owner;
    Micros last_used = 0;
  };
  void evict(Micros now);

  std::size_t max_sessions_;
  Micros idle_ttl_;
  mutable std::mutex mu_;
  std::map<std::pair<std::string, std::string>, Entry> sessions_;
};

}  // namespace custody::gateway
