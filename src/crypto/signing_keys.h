// The authorization server's own signing keys: one current key that signs, and previous keys
// that stay published (JWKS) and accepted until every token they signed has expired. Rotation
// scheduling and persistence (wrapped with key_wrap.h) are built on top of this; this class only
// holds the set and publishes it.
//
// Thread safety: readers (current(), find(), jwks(), snapshot()) never lock — they load an
// immutable Snapshot through an atomic shared_ptr and keep it alive as long as they hold it, so
// a token signed with a key found in a snapshot verifies against that same snapshot even while a
// rotation swaps in the next one. Writers (install(), rotate(), prune()) are serialised by a
// mutex and publish a new snapshot atomically.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.h"
#include "common/result.h"
#include "crypto/jwk.h"

namespace custody::crypto {

struct SigningKey {
  Jwk key;  // private, with a kid
  Micros created = 0;
  // The last instant a token signed with this key can be valid; after it the key is dropped
  // from the set (prune) and from JWKS. For the current key: when it stops being used plus the
  // longest token lifetime, or kForever while that is not decided yet.
  Micros not_after = kForever;

  static constexpr Micros kForever = INT64_MAX;
};

class SigningKeys {
 public:
  struct Snapshot {
    std::shared_ptr<const SigningKey> current;                // null until a key is installed
    std::vector<std::shared_ptr<const SigningKey>> previous;  // newest first
    JwkSet verification_keys;  // current and previous, to verify custody's own tokens
    std::string jwks;          // the public JWK Set document (jwks_uri), JSON text
  };

  SigningKeys();  // no keys: current() is null, jwks() is {"keys":[]}

  // Replaces the whole set (at startup, from the store). Every key must be private with a
  // unique, non-empty kid; at most JwkSet::kMaxKeys keys. kInvalidArgument otherwise, and the
  // published set is unchanged.
  Status install(SigningKey current, std::vector<SigningKey> previous);
  // Makes `next` the current key. The old current key (if any) becomes the newest previous key
  // with not_after = old_not_after.
  Status rotate(SigningKey next, Micros old_not_after);
  // Drops previous keys whose not_after is before `now`. The current key always stays.
  void prune(Micros now);

  std::shared_ptr<const Snapshot> snapshot() const;
  // The key to sign with; null when none is installed.
  std::shared_ptr<const SigningKey> current() const;
  // The current or a previous key by kid; null when unknown.
  std::shared_ptr<const SigningKey> find(std::string_view kid) const;
  // The public JWK Set: each key's public members with "kid", "alg" and "use": "sig".
  std::string jwks() const;

 private:
  Status publish(std::shared_ptr<const SigningKey> current,
                 std::vector<std::shared_ptr<const SigningKey>> previous);

  std::mutex writer_;
  std::atomic<std::shared_ptr<const Snapshot>> snapshot_;
};

}  // namespace custody::crypto
