#include "app/server_secret.h"

#include "app/private_file.h"
#include "common/encoding.h"
#include "common/random.h"

namespace custody::app {

Result<ServerSecret> load_or_create_server_secret(const std::string& path) {
  CUSTODY_ASSIGN(auto stored, read_private_file(path, "server secret file", "server_secret_file"));
  if (stored) {
    std::string text = std::move(*stored);
    while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == ' '))
      text.pop_back();
    auto key = hex_decode(text);
    if (!key || key->size() != 32)
      return Error::invalid("server secret file " + path + " must hold 64 hex characters",
                            "server_secret_file");
    return ServerSecret{*key, false};
  }
  std::string key = random_bytes(32);
  CUSTODY_TRY(create_private_file(path, hex_encode(key) + "\n", "server secret file"));
  return ServerSecret{key, true};
}

}  // namespace custody::app
