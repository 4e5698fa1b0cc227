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

}  // namespace custody::crypto::ossl
