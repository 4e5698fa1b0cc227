// A bounded cache of access tokens that verified, so that a token presented again (an agent
// exchanging the same subject token for each downstream call, a resource server introspecting it
// per request) skips the signature check, which costs three times a signature (ES256 verify).
//
// Keyed by SHA-256 of the whole token text, so only byte-identical tokens hit. An entry is used
// only before the token's exp (+ skew) and only while its signing key is still published: the
// cache answers "this exact token verified with this key", nothing about revocation or identity
// state, which callers check in the store every time. Capacity-bounded; when full, expired
// entries go first, then an arbitrary half (cheap, and a miss only costs a verification).
// Thread-safe.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "common/clock.h"
#include "crypto/jwk.h"
#include "oauth/access_token.h"

namespace custody::oauth {

class VerifiedTokenCache {
 public:
  explicit VerifiedTokenCache(std::size_t capacity = 20000) : capacity_(capacity) {}

  // The cached token when `token` verified before with a key that is still in `published`, and
  // has not expired at `now` (exp + skew).
  std::shared_ptr<const PresentedToken> find(std::string_view token, Micros now, Micros skew,
                                             const crypto::JwkSet& published) const;
  void insert(std::string_view token, std::string kid, PresentedToken verified, Micros now,
              Micros skew);
  std::size_t size() const;

 private:
  struct Entry {
    std::string kid;
    std::shared_ptr<const PresentedToken> token;
  };
  std::size_t capacity_;
  mutable std::mutex mu_;
  std::unordered_map<std::string, Entry> entries_;
};

}  // namespace custody::oauth
