// Cryptographically secure randomness (OpenSSL's CSPRNG). Aborts the process if the CSPRNG
// fails: issuing a predictable secret is worse than stopping.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace custody {

void random_bytes(void* out, std::size_t n);
std::string random_bytes(std::size_t n);

}  // namespace custody
