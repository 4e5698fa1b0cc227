#include "common/random.h"

#include <openssl/rand.h>

#include <cstdio>
#include <cstdlib>

namespace custody {

void random_bytes(void* out, std::size_t n) {
  if (RAND_bytes(static_cast<unsigned char*>(out), static_cast<int>(n)) != 1) {
    std::fputs("custody: the OpenSSL CSPRNG failed; refusing to continue\n", stderr);
    std::abort();
  }
}

std::string random_bytes(std::size_t n) {
  std::string s(n, '\0');
  random_bytes(s.data(), n);
  return s;
}

}  // namespace custody
