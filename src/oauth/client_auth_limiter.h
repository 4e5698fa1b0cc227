// Brute-force protection for client authentication (docs/oauth.md, "Failed client
// authentication"): failed client authentications at the token, introspection, revocation and
// backchannel endpoints are counted per key (the caller's address and the client_id it claims)
// in fixed windows. Once a key has `max_failures` in the current window, every client
// authentication under it is refused (HTTP 429, invalid_client, Retry-After) until the window
// ends, before any credential is read: the right secret gains nothing during the lockout, so
// guessing is held to `max_failures` per window.
//
// The address is part of the key so that an attacker cannot lock a client out of the addresses
// it really calls from; the client_id is, so that clients behind one proxy address do not lock
// each other out. Per node and in memory. At most `max_keys` are tracked: when full, windows
// that ended are dropped first, then the tenth that started earliest.
//
// Thread safety: all methods may be called from any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "common/clock.h"

namespace custody::oauth {

// The address part of a peer's "address:port" text (IPv4 or IPv6: the port is after the last
// colon); the text itself when it has no colon.
std::string_view address_without_port(std::string_view remote);

class ClientAuthLimiter {
 public:
  struct Options {
    std::int64_t max_failures = 100;  // 0: no limit
    Micros window = 60 * kMicrosPerSecond;
    std::size_t max_keys = 100'000;
  };
  explicit ClientAuthLimiter(Options options) : options_(options) {}

  // When `key` is locked out at `now`: the microseconds until its window ends.
  std::optional<Micros> locked(const std::string& key, Micros now) const;
  // Counts a failed client authentication under `key`.
  void failed(const std::string& key, Micros now);

  std::size_t tracked() const;

 private:
  struct Window {
    Micros start = 0;
    std::int64_t failures = 0;
  };
  void make_room(Micros now);

  Options options_;
  mutable std::mutex mu_;
  std::unordered_map<std::string, Window> windows_;
};

}  // namespace custody::oauth
