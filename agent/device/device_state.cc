#include "device/device_state.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

namespace custody::agent {
namespace {

Status write_private(const std::string& path, const std::string& text, mode_t mode) {
  std::string tmp = path + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode);
  if (fd < 0) return Error::internal("cannot write " + tmp + ": " + std::strerror(errno));
  ::fchmod(fd, mode);  // whatever the umask said
  std::size_t done = 0;
  while (done < text.size()) {
    ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      ::close(fd);
      return Error::internal("cannot write " + tmp + ": " + std::strerror(errno));
    }
    done += static_cast<std::size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0)
    return Error::internal("cannot write " + tmp + ": " + std::strerror(errno));
  if (::rename(tmp.c_str(), path.c_str()) != 0)
    return Error::internal("cannot rename " + tmp + ": " + std::strerror(errno));
  return ok_status();
}

Result<std::string> read_small(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Error::not_found(path + " does not exist (enrol first: custody-agent enrol)");
  std::ostringstream out;
  out << in.rdbuf();
  if (out.str().size() > 64 * 1024) return Error::invalid(path + " is too large");
  return out.str();
}

}  // namespace

Result<DeviceState> load_state(const std::string& dir) {
  struct stat st {};
  std::string key_path = dir + "/device.key";
  if (::stat(key_path.c_str(), &st) == 0 && (st.st_mode & 077) != 0)
    return Error::denied(key_path + " is readable by others (mode must be 0600)");
  CUSTODY_ASSIGN(auto meta_text, read_small(dir + "/device.json"));
  CUSTODY_ASSIGN(auto key_text, read_small(key_path));
  auto meta = nlohmann::json::parse(meta_text, nullptr, false);
  auto jwk = nlohmann::json::parse(key_text, nullptr, false);
  if (!meta.is_object()) return Error::invalid(dir + "/device.json is not a JSON object");
  DeviceState s;
  for (auto [name, out] : {std::pair{"server", &s.server},
                           {"issuer", &s.issuer},
                           {"device_id", &s.device_id},
                           {"owner", &s.owner},
                           {"enrolled_at", &s.enrolled_at}}) {
    if (!meta.contains(name) || !meta[name].is_string())
      return Error::invalid(dir + "/device.json has no \"" + name + "\"");
    *out = meta[name].get<std::string>();
  }
  auto key = crypto::Jwk::parse_private(jwk, key_path);
  if (!key.ok()) return key.error();
  s.key = *key;
  return s;
}

Status save_state(const std::string& dir, const DeviceState& s) {
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST)
    return Error::internal("cannot create " + dir + ": " + std::strerror(errno));
  if (!s.key) return Error::invalid("no device key to save");
  CUSTODY_ASSIGN(auto jwk, s.key->private_json());
  CUSTODY_TRY(write_private(dir + "/device.key", jwk.dump(), 0600));
  nlohmann::json meta = {{"server", s.server},
                         {"issuer", s.issuer},
                         {"device_id", s.device_id},
                         {"owner", s.owner},
                         {"enrolled_at", s.enrolled_at}};
  return write_private(dir + "/device.json", meta.dump(2) + "\n", 0600);
}

}  // namespace custody::agent
