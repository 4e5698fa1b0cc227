// The server secret: 32 random bytes that key the hashes of client secrets and admin tokens.
// Kept in a file (mode 0600, hex) so that every custodyd node of one deployment can share it.
#pragma once

#include <string>

#include "common/result.h"

namespace custody::app {

struct ServerSecret {
  std::string key;       // raw bytes
  bool created = false;  // a new file was written
};

// Reads the secret from `path`, or creates it when the file does not exist. Refuses a file that
// others can read, or that does not hold 64 hex characters.
Result<ServerSecret> load_or_create_server_secret(const std::string& path);

}  // namespace custody::app
