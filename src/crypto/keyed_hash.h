// Keyed hashing of random secrets (client secrets, admin tokens): HMAC-SHA-256 under the server
// secret. Secrets issued by custody carry ≥ 256 random bits, so a slow password hash would add
// nothing but latency; the key means a stolen database alone does not allow offline checks.
#pragma once

#include <memory>
#include <string>
#include <string_view>

struct evp_mac_ctx_st;  // OpenSSL's EVP_MAC_CTX

namespace custody::crypto {

// HMAC-SHA-256(key, data) as 32 raw bytes.
std::string hmac_sha256(std::string_view key, std::string_view data);
// SHA-256(data) as 32 raw bytes.
std::string sha256(std::string_view data);
// Constant-time comparison (the time depends only on the lengths).
bool constant_time_equal(std::string_view a, std::string_view b);

// Hashes secrets under one server secret. Thread-safe (immutable after construction); copies
// share the keyed state.
class SecretHasher {
 public:
  explicit SecretHasher(std::string key);
  // Lowercase hex of HMAC-SHA-256(key, secret); what the store keeps.
  std::string hash_hex(std::string_view secret) const;
  // True when hash_hex(secret) equals stored_hex, compared in constant time.
  bool matches(std::string_view secret, std::string_view stored_hex) const;

 private:
  std::string key_;
  // HMAC-SHA-256 with the key already set (the key's pads hashed once), duplicated for each
  // hash: a fresh HMAC() would look the algorithms up in the provider and key them every time.
  // Null when OpenSSL could not make it; hash_hex then keys a fresh HMAC.
  std::shared_ptr<const evp_mac_ctx_st> keyed_;
};

// A new random secret: prefix + base64url(32 random bytes), e.g. "cs_Q2h…".
std::string new_secret(std::string_view prefix);

}  // namespace custody::crypto
