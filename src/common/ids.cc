#include "common/ids.h"

#include <array>
#include <cstdint>
#include <cstring>
#include <mutex>

#include "common/random.h"

namespace custody {
namespace {

constexpr char kCrockford[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

struct Generator {
  std::mutex mu;
  uint64_t last_ms = 0;
  std::array<uint8_t, 10> last_rand{};
};

Generator& generator() {
  static Generator g;
  return g;
}

bool is_crockford(char c) {
  return c != '\0' && std::strchr(kCrockford, c) != nullptr;
}

}  // namespace

std::string new_id(std::string_view prefix, Micros now) {
  uint64_t ms = now < 0 ? 0 : static_cast<uint64_t>(now / 1000);
  std::array<uint8_t, 16> bytes{};
  {
    Generator& g = generator();
    std::lock_guard lock(g.mu);
    if (ms <= g.last_ms) {
      // Same (or earlier) millisecond: increment the random part so ids stay strictly ordered.
      ms = g.last_ms;
      for (int i = 9; i >= 0; --i) {
        if (++g.last_rand[i] != 0) break;
      }
    } else {
      g.last_ms = ms;
      random_bytes(g.last_rand.data(), g.last_rand.size());
      g.last_rand[0] &= 0x7f;  // leave headroom so increments do not overflow in practice
    }
    for (int i = 0; i < 6; ++i) bytes[i] = uint8_t(ms >> (8 * (5 - i)));
    std::memcpy(bytes.data() + 6, g.last_rand.data(), 10);
  }
  // 128 bits → 26 base32 characters (the first carries 3 bits).
  std::string out(prefix);
  out += '_';
  char enc[26];
  unsigned __int128 v = 0;
  for (uint8_t b : bytes) v = (v << 8) | b;
  for (int i = 25; i >= 0; --i) {
    enc[i] = kCrockford[static_cast<unsigned>(v & 31)];
    v >>= 5;
  }
  out.append(enc, 26);
  return out;
}

bool is_valid_id(std::string_view id, std::string_view prefix) {
  if (id.size() != prefix.size() + 1 + 26) return false;
  if (id.substr(0, prefix.size()) != prefix || id[prefix.size()] != '_') return false;
  std::string_view ulid = id.substr(prefix.size() + 1);
  if (ulid[0] > '7') return false;
  for (char c : ulid)
    if (!is_crockford(c)) return false;
  return true;
}

bool looks_like_id(std::string_view id) {
  auto us = id.find('_');
  if (us == std::string_view::npos || us == 0 || us > 8) return false;
  return is_valid_id(id, id.substr(0, us));
}

}  // namespace custody
