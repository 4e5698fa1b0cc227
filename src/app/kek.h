// The key-encryption key (KEK) that wraps custody's private signing keys at rest
// (crypto/key_wrap.h). It lives outside the store so that a copy of the database alone yields no
// signing key:
//   1. config key `kek` (normally the environment variable CUSTODY_KEK): 64 hex digits or the
//      base64url of 32 bytes; when set, no file is read or written;
//   2. else the file `kek_file` (default <data_dir>/kek, mode 0600), created with a random KEK
//      on first start.
// Every custodyd node of one deployment needs the same KEK (share the file or the variable).
#pragma once

#include "common/config.h"
#include "common/result.h"
#include "crypto/key_wrap.h"

namespace custody::app {

struct LoadedKek {
  crypto::KeyEncryptionKey kek;
  bool created = false;  // a new file was written
};

// kInvalidArgument (field "kek" or "kek_file") for a malformed value or a file others can read;
// kUnavailable when the file cannot be created.
Result<LoadedKek> load_kek(const Config& config);

}  // namespace custody::app
