#include "crypto/keyed_hash.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "common/encoding.h"
#include "common/random.h"

namespace custody::crypto {

std::string hmac_sha256(std::string_view key, std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), out, &len);
  return std::string(reinterpret_cast<char*>(out), len);
}

std::string sha256(std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), out, &len, EVP_sha256(), nullptr);
  return std::string(reinterpret_cast<char*>(out), len);
}

bool constant_time_equal(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

std::string SecretHasher::hash_hex(std::string_view secret) const {
  return hex_encode(hmac_sha256(key_, secret));
}

bool SecretHasher::matches(std::string_view secret, std::string_view stored_hex) const {
  return constant_time_equal(hash_hex(secret), stored_hex);
}

std::string new_secret(std::string_view prefix) {
  return std::string(prefix) + base64url_encode(random_bytes(32));
}

}  // namespace custody::crypto
