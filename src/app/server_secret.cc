#include "app/server_secret.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "common/encoding.h"
#include "common/random.h"

namespace custody::app {

Result<ServerSecret> load_or_create_server_secret(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0) {
    if (st.st_mode & (S_IRWXG | S_IRWXO))
      return Error::invalid("server secret file " + path + " is readable by others; chmod 600 it",
                            "server_secret_file");
    std::ifstream in(path);
    std::stringstream ss;
    ss << in.rdbuf();
    std::string text = ss.str();
    while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == ' '))
      text.pop_back();
    auto key = hex_decode(text);
    if (!key || key->size() != 32)
      return Error::invalid("server secret file " + path + " must hold 64 hex characters",
                            "server_secret_file");
    return ServerSecret{*key, false};
  }
  std::error_code ec;
  auto parent = std::filesystem::path(path).parent_path();
  if (!parent.empty()) std::filesystem::create_directories(parent, ec);
  std::string key = random_bytes(32);
  std::string text = hex_encode(key) + "\n";
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL, 0600);
  if (fd < 0) return Error::unavailable("cannot create server secret file " + path);
  bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) &&
            ::fsync(fd) == 0;
  ::close(fd);
  if (!ok) return Error::unavailable("cannot write server secret file " + path);
  return ServerSecret{key, true};
}

}  // namespace custody::app
