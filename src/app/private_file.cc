#include "app/private_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

namespace custody::app {

Result<std::optional<std::string>> read_private_file(const std::string& path, std::string_view what,
                                                     const std::string& field) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return std::optional<std::string>();
  if (st.st_mode & (S_IRWXG | S_IRWXO))
    return Error::invalid(std::string(what) + " " + path + " is readable by others; chmod 600 it",
                          field);
  std::ifstream in(path);
  if (!in) return Error::unavailable("cannot read " + std::string(what) + " " + path);
  std::stringstream text;
  text << in.rdbuf();
  return std::optional<std::string>(text.str());
}

Status create_private_file(const std::string& path, std::string_view text, std::string_view what) {
  std::error_code ec;
  auto parent = std::filesystem::path(path).parent_path();
  if (!parent.empty()) std::filesystem::create_directories(parent, ec);
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL, 0600);
  if (fd < 0) return Error::unavailable("cannot create " + std::string(what) + " " + path);
  bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) &&
            ::fsync(fd) == 0;
  ::close(fd);
  if (!ok) return Error::unavailable("cannot write " + std::string(what) + " " + path);
  return ok_status();
}

}  // namespace custody::app
