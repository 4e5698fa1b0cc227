#include "app/kek.h"

#include <algorithm>

#include "app/private_file.h"
#include "common/encoding.h"
#include "common/random.h"

namespace custody::app {

Result<LoadedKek> load_kek(const Config& config) {
  if (!config.kek.empty()) {
    auto kek = crypto::KeyEncryptionKey::from_text(config.kek);
    if (!kek.ok())
      return Error::invalid("config key kek (CUSTODY_KEK): " + kek.error().message, "kek");
    return LoadedKek{std::move(kek).value(), false};
  }
  std::string path = config.kek_path();
  CUSTODY_ASSIGN(auto stored, read_private_file(path, "KEK file", "kek_file"));
  if (stored) {
    auto kek = crypto::KeyEncryptionKey::from_text(*stored);
    std::fill(stored->begin(), stored->end(), '\0');
    if (!kek.ok())
      return Error::invalid("KEK file " + path + ": " + kek.error().message, "kek_file");
    return LoadedKek{std::move(kek).value(), false};
  }
  std::string raw = random_bytes(crypto::KeyEncryptionKey::kBytes);
  auto kek = crypto::KeyEncryptionKey::from_bytes(raw);
  std::string text = hex_encode(raw) + "\n";
  std::fill(raw.begin(), raw.end(), '\0');
  if (!kek.ok()) return kek.error();
  Status written = create_private_file(path, text, "KEK file");
  std::fill(text.begin(), text.end(), '\0');
  CUSTODY_TRY(written);
  return LoadedKek{std::move(kek).value(), true};
}

}  // namespace custody::app
