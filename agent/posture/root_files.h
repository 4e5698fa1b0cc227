// Reads files of the scanned tree: a root directory read as if it were "/" (the real "/" on a
// device, a fixture tree in tests). Every read is bounded: only regular files are opened (never a
// FIFO or a device that could block), non-blocking, and at most a cap of bytes is read, so nothing
// in the scanned tree can hang or exhaust a collection.
//
// Paths are absolute as seen from the scanned root ("/etc/os-release"). Symlinks inside the tree
// are followed by the kernel; an absolute symlink in a fixture tree therefore points outside it.
//
// Thread-safe: the object is immutable after construction.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "common/result.h"

namespace custody::posture {

class RootFiles {
 public:
  // Files larger than this are refused (kTooLarge) rather than read in part.
  static constexpr std::size_t kDefaultMaxBytes = 1024 * 1024;

  explicit RootFiles(std::string root);

  // The host path of `path` under the root: "/tmp/fx" + "/etc/os-release".
  std::string host_path(std::string_view path) const;
  // True when the root is the real "/".
  bool is_real_root() const { return real_root_; }
  const std::string& root() const { return root_; }

  // The whole content of a regular file. kNotFound when it does not exist, kTooLarge above
  // max_bytes, kInvalidArgument when it is not a regular file, kUnavailable on another error
  // (permission denied, I/O error); the message names the path and the reason.
  Result<std::string> read(std::string_view path, std::size_t max_bytes = kDefaultMaxBytes) const;
  // read() with one trailing newline (and blanks) removed.
  Result<std::string> read_line(std::string_view path) const;
  // The entry names of a directory, sorted, without "." and "..". kNotFound when it does not exist.
  Result<std::vector<std::string>> list(std::string_view path) const;
  // The target of a symlink, as stored (not resolved). kNotFound when absent, kInvalidArgument
  // when not a symlink.
  Result<std::string> read_link(std::string_view path) const;
  bool exists(std::string_view path) const;
  bool is_directory(std::string_view path) const;

 private:
  std::string root_;
  bool real_root_;
};

}  // namespace custody::posture
