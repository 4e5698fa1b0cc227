// Files that hold secrets (the server secret, the KEK): readable by their owner only, created
// exclusively with mode 0600 and fsynced, so two nodes starting at once cannot each write one.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "common/result.h"

namespace custody::app {

// The file's text, or nullopt when it does not exist. A file that group or others may access is
// refused (kInvalidArgument, `field`), naming `what` ("KEK file") in the message.
Result<std::optional<std::string>> read_private_file(const std::string& path, std::string_view what,
                                                     const std::string& field);

// Creates the file (and its parent directories) with mode 0600 and writes `text` durably;
// kUnavailable when it exists already or cannot be written.
Status create_private_file(const std::string& path, std::string_view text, std::string_view what);

}  // namespace custody::app
