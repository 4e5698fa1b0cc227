// The authorization server's signing keys, persisted and rotated.
//
// Each key row has an activation time. At time t the *current* key (the one that signs) is the
// key with the latest activate_at ≤ t; keys activated later are *upcoming*: already published in
// JWKS, so relying parties that cache JWKS hold a key before the first token it signs; keys
// activated earlier are *previous*: published and accepted until their successor's activate_at +
// the longest token lifetime (+ skew), after which no token they signed can still be valid.
// Nothing but activate_at is stored, so every node of a deployment derives the same set from the
// same rows.
//
// refresh() (at start-up and then periodically) makes sure there is a current key and an upcoming
// one (activate_at = current's + rotation period, at least an hour ahead), creating them as needed
// with private keys wrapped under the KEK, and publishes the set. rotate_now() activates the
// upcoming key at once (for a suspected compromise or an operator's schedule) and creates the
// next one.
//
// Thread safety: keys() is safe from any thread (see crypto/signing_keys.h); refresh() and
// rotate_now() are serialised internally and block on the store writer, so call them from a
// maintenance or admin thread, never from inside a store work.
#pragma once

#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/result.h"
#include "crypto/key_wrap.h"
#include "crypto/signing_keys.h"
#include "store/store.h"

namespace custody::oauth {

struct KeyManagerOptions {
  std::string purpose = "oauth";  // rows of other purposes are ignored
  crypto::KeyType type = crypto::KeyType::kEcP256;
  Micros rotation = 30LL * 24 * 3600 * kMicrosPerSecond;
  // Longest lifetime of a token signed by a key, skew included: how long a key stays published
  // after its successor took over.
  Micros retention = 660 * kMicrosPerSecond;
};

struct KeyInfo {
  std::string kid;
  std::string alg;
  std::string status;  // "current", "upcoming", "previous"
  Micros created_at = 0;
  Micros activate_at = 0;
  Micros published_until = 0;  // crypto::SigningKey::kForever while current or upcoming
};

class KeyManager {
 public:
  KeyManager(store::Store& store, const crypto::KeyEncryptionKey& kek, const Clock& clock,
             KeyManagerOptions options);

  Status refresh();
  // Appends a "keys.rotate" audit event by `actor` in the same transaction.
  Status rotate_now(const std::string& actor = "system", const std::string& request_id = "");

  const crypto::SigningKeys& keys() const { return keys_; }
  std::vector<KeyInfo> describe() const;

 private:
  struct Row {
    std::string kid;
    std::string alg;
    std::string wrapped;
    Micros created_at = 0;
    Micros activate_at = 0;
  };
  // With `rotate_actor`, activates the upcoming key now and audits it.
  Result<std::vector<Row>> load_and_complete(Micros now, const std::string* rotate_actor,
                                             const std::string& request_id);
  Status publish(const std::vector<Row>& rows, Micros now);
  Result<crypto::Jwk> unwrap(const Row& row);

  store::Store& store_;
  const crypto::KeyEncryptionKey& kek_;
  const Clock& clock_;
  KeyManagerOptions options_;
  crypto::SigningKeys keys_;

  mutable std::mutex mu_;  // guards everything below and serialises refresh/rotate
  std::map<std::string, crypto::Jwk> unwrapped_;  // by kid: unwrap each key once
  std::vector<KeyInfo> described_;
};

}  // namespace custody::oauth
