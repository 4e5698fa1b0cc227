#include "app/kek.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

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
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0) {
    if (st.st_mode & (S_IRWXG | S_IRWXO))
      return Error::invalid("KEK file " + path + " is readable by others; chmod 600 it",
                            "kek_file");
    std::ifstream in(path);
    std::stringstream text;
    text << in.rdbuf();
    auto kek = crypto::KeyEncryptionKey::from_text(text.str());
    if (!kek.ok())
      return Error::invalid("KEK file " + path + ": " + kek.error().message, "kek_file");
    return LoadedKek{std::move(kek).value(), false};
  }
  std::error_code ec;
  auto parent = std::filesystem::path(path).parent_path();
  if (!parent.empty()) std::filesystem::create_directories(parent, ec);
  std::string raw = random_bytes(crypto::KeyEncryptionKey::kBytes);
  auto kek = crypto::KeyEncryptionKey::from_bytes(raw);
  std::string text = hex_encode(raw) + "\n";
  std::fill(raw.begin(), raw.end(), '\0');
  if (!kek.ok()) return kek.error();
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL, 0600);
  if (fd < 0) return Error::unavailable("cannot create KEK file " + path);
  bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) &&
            ::fsync(fd) == 0;
  ::close(fd);
  std::fill(text.begin(), text.end(), '\0');
  if (!ok) return Error::unavailable("cannot write KEK file " + path);
  return LoadedKek{std::move(kek).value(), true};
}

}  // namespace custody::app
