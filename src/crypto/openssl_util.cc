// Only the OpenSSL 3 API: deprecated low-level calls (EC_KEY, RSA, ...) must not compile here.
#define OPENSSL_NO_DEPRECATED
#include "crypto/openssl_util.h"

#include <openssl/crypto.h>
#include <openssl/err.h>

namespace custody::crypto::ossl {

std::string drain_errors() {
  std::string first;
  const unsigned long code = ERR_peek_error();
  if (code != 0) {
    char buf[256];
    ERR_error_string_n(code, buf, sizeof buf);
    first = buf;
  }
  ERR_clear_error();
  return first;
}

void wipe(std::string& secret) {
  if (!secret.empty()) OPENSSL_cleanse(secret.data(), secret.size());
  secret.clear();
}

std::string ecdsa_p256_raw(const ECDSA_SIG* sig) {
  constexpr int kHalf = 32;
  const BIGNUM* r = nullptr;
  const BIGNUM* s = nullptr;
  ECDSA_SIG_get0(sig, &r, &s);
  std::string raw(2 * kHalf, '\0');
  auto* out = reinterpret_cast<unsigned char*>(raw.data());
  if (BN_bn2binpad(r, out, kHalf) != kHalf || BN_bn2binpad(s, out + kHalf, kHalf) != kHalf)
    return {};
  return raw;
}

}  // namespace custody::crypto::ossl
