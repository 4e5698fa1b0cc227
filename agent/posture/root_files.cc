#include "posture/root_files.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace custody::posture {

namespace {

Error io_error(std::string_view path, int err) {
  std::string msg = std::string(path) + ": " + std::strerror(err);
  if (err == ENOENT || err == ENOTDIR) return Error::not_found(std::move(msg));
  return Error::unavailable(std::move(msg));
}

// Closes a descriptor on every path out of read().
struct Fd {
  int fd;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

}  // namespace

RootFiles::RootFiles(std::string root) : root_(std::move(root)) {
  while (root_.size() > 1 && root_.back() == '/') root_.pop_back();
  if (root_.empty()) root_ = "/";
  real_root_ = root_ == "/";
}

std::string RootFiles::host_path(std::string_view path) const {
  if (real_root_) return std::string(path);
  std::string out = root_;
  if (path.empty() || path.front() != '/') out += '/';
  out += path;
  return out;
}

Result<std::string> RootFiles::read(std::string_view path, std::size_t max_bytes) const {
  const std::string p = host_path(path);
  // Opening a device can act (a watchdog starts counting): look before opening. O_NONBLOCK keeps
  // a FIFO swapped in after the look from blocking the open; fstat then refuses it.
  struct stat before {};
  if (::stat(p.c_str(), &before) != 0) return io_error(path, errno);
  if (!S_ISREG(before.st_mode)) return Error::invalid(std::string(path) + ": not a regular file");
  Fd f{::open(p.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY)};
  if (f.fd < 0) return io_error(path, errno);
  struct stat st {};
  if (::fstat(f.fd, &st) != 0) return io_error(path, errno);
  if (!S_ISREG(st.st_mode)) return Error::invalid(std::string(path) + ": not a regular file");
  if (static_cast<std::size_t>(st.st_size) > max_bytes) {
    return Error{Code::kTooLarge,
                 std::string(path) + ": larger than " + std::to_string(max_bytes) + " bytes",
                 {},
                 {}};
  }
  // /proc and /sys files report size 0 or 4096 whatever they hold: read until EOF, capped.
  std::string data;
  char buf[8192];
  for (;;) {
    ssize_t n = ::read(f.fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      return io_error(path, errno);
    }
    if (n == 0) break;
    if (data.size() + static_cast<std::size_t>(n) > max_bytes) {
      return Error{Code::kTooLarge,
                   std::string(path) + ": larger than " + std::to_string(max_bytes) + " bytes",
                   {},
                   {}};
    }
    data.append(buf, static_cast<std::size_t>(n));
  }
  return data;
}

Result<std::string> RootFiles::read_line(std::string_view path) const {
  CUSTODY_ASSIGN(std::string s, read(path, 64 * 1024));
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ' || s.back() == '\t' ||
                        s.back() == '\r' || s.back() == '\0')) {
    s.pop_back();
  }
  return s;
}

Result<std::vector<std::string>> RootFiles::list(std::string_view path) const {
  const std::string p = host_path(path);
  DIR* d = ::opendir(p.c_str());
  if (d == nullptr) return io_error(path, errno);
  std::vector<std::string> names;
  while (dirent* e = ::readdir(d)) {
    std::string_view n = e->d_name;
    if (n == "." || n == "..") continue;
    names.emplace_back(n);
    if (names.size() > 100000) break;  // a bound, not a real directory's size
  }
  ::closedir(d);
  std::sort(names.begin(), names.end());
  return names;
}

Result<std::string> RootFiles::read_link(std::string_view path) const {
  char buf[4096];
  ssize_t n = ::readlink(host_path(path).c_str(), buf, sizeof buf);
  if (n < 0) {
    if (errno == EINVAL) return Error::invalid(std::string(path) + ": not a symlink");
    return io_error(path, errno);
  }
  if (static_cast<std::size_t>(n) == sizeof buf) {
    return Error::invalid(std::string(path) + ": symlink target too long");
  }
  return std::string(buf, static_cast<std::size_t>(n));
}

bool RootFiles::exists(std::string_view path) const {
  struct stat st {};
  return ::stat(host_path(path).c_str(), &st) == 0;
}

bool RootFiles::is_directory(std::string_view path) const {
  struct stat st {};
  return ::stat(host_path(path).c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

}  // namespace custody::posture
