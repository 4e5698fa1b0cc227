#include "crypto/keyed_hash.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
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

namespace {

// SHA-256 fetched once: EVP_sha256() makes every EVP_Digest look the algorithm up in the
// provider store again (OpenSSL 3), which cost about as much as hashing a token. Never freed (one
// per process). Null when the fetch fails; sha256() then lets EVP_Digest look it up each time.
const EVP_MD* fetched_sha256() {
  static const EVP_MD* const md = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  return md;
}

}  // namespace

std::string sha256(std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  const EVP_MD* md = fetched_sha256();
  EVP_Digest(data.data(), data.size(), out, &len, md != nullptr ? md : EVP_sha256(), nullptr);
  return std::string(reinterpret_cast<char*>(out), len);
}

bool constant_time_equal(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

namespace {

std::shared_ptr<const EVP_MAC_CTX> keyed_hmac_sha256(std::string_view key) {
  EVP_MAC* mac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
  if (mac == nullptr) return nullptr;
  std::shared_ptr<EVP_MAC_CTX> ctx(EVP_MAC_CTX_new(mac), EVP_MAC_CTX_free);
  EVP_MAC_free(mac);  // the context holds its own reference
  char digest[] = "SHA256";
  OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
                         OSSL_PARAM_construct_end()};
  static const unsigned char kNoKey = 0;
  const auto* k = key.empty() ? &kNoKey : reinterpret_cast<const unsigned char*>(key.data());
  if (!ctx || EVP_MAC_init(ctx.get(), k, key.size(), params) != 1) {
    ERR_clear_error();
    return nullptr;
  }
  return ctx;
}

}  // namespace

SecretHasher::SecretHasher(std::string key)
    : key_(std::move(key)), keyed_(keyed_hmac_sha256(key_)) {}

std::string SecretHasher::hash_hex(std::string_view secret) const {
  if (keyed_) {
    // Duplicating reads the keyed template only, so threads may do it at once.
    std::unique_ptr<EVP_MAC_CTX, decltype(&EVP_MAC_CTX_free)> ctx(EVP_MAC_CTX_dup(keyed_.get()),
                                                                  EVP_MAC_CTX_free);
    unsigned char out[EVP_MAX_MD_SIZE];
    std::size_t len = 0;
    if (ctx &&
        EVP_MAC_update(ctx.get(), reinterpret_cast<const unsigned char*>(secret.data()),
                       secret.size()) == 1 &&
        EVP_MAC_final(ctx.get(), out, &len, sizeof out) == 1)
      return hex_encode(std::string_view(reinterpret_cast<const char*>(out), len));
    ERR_clear_error();
  }
  return hex_encode(hmac_sha256(key_, secret));
}

bool SecretHasher::matches(std::string_view secret, std::string_view stored_hex) const {
  return constant_time_equal(hash_hex(secret), stored_hex);
}

std::string new_secret(std::string_view prefix) {
  return std::string(prefix) + base64url_encode(random_bytes(32));
}

}  // namespace custody::crypto
