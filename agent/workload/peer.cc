#include "workload/peer.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <memory>

namespace custody::workload {
namespace {

#ifndef SO_PEERPIDFD
#define SO_PEERPIDFD 77  // Linux 6.5; older headers lack it
#endif

constexpr std::string_view kGone = "process exited or pid reused during attestation";

// Closes a file descriptor on scope exit.
class Fd {
 public:
  explicit Fd(int fd = -1) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }
  void reset(int fd) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = fd;
  }

 private:
  int fd_;
};

// Reads a small proc file whole (at most `cap` bytes). Nullopt when it cannot be opened/read.
std::optional<std::string> read_small(const std::string& path, std::size_t cap = 64 * 1024) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  if (fd.get() < 0) return std::nullopt;
  std::string out;
  char buf[4096];
  while (out.size() < cap) {
    ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      return std::nullopt;
    }
    if (n == 0) break;
    out.append(buf, static_cast<std::size_t>(n));
  }
  if (out.size() > cap) out.resize(cap);
  return out;
}

std::string to_hex(const unsigned char* data, std::size_t n) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(n * 2);
  for (std::size_t i = 0; i < n; ++i) {
    out.push_back(kDigits[data[i] >> 4]);
    out.push_back(kDigits[data[i] & 0xf]);
  }
  return out;
}

Error refusal(std::string message) {
  return Error::denied(std::move(message)).with("error", "workload_not_attested");
}

// A proc file could not be read: say whether for lack of privilege (errno EACCES/EPERM: the
// agent runs without the right to read another user's /proc/<pid>/exe) or because it is gone.
Error unreadable(std::string_view what) {
  const int err = errno;
  if (err == EACCES || err == EPERM) {
    return refusal("not permitted to read " + std::string(what) +
                   " of the process (the agent lacks the privilege to inspect it)");
  }
  return refusal("cannot read " + std::string(what) + ": " + std::string(kGone));
}

// True while the process behind the pidfd has not exited.
bool pidfd_alive(int pidfd) {
  pollfd p{pidfd, POLLIN, 0};
  int r = ::poll(&p, 1, 0);
  if (r != 0) return false;  // readable: exited (also on error: be safe)
  return ::syscall(SYS_pidfd_send_signal, pidfd, 0, nullptr, 0) == 0;
}

}  // namespace

std::string PeerInfo::describe() const {
  std::string out;
  out += "pid " + (pid > 0 ? std::to_string(pid) : std::string("?"));
  out += ", uid " + (uid >= 0 ? std::to_string(uid) : std::string("?"));
  out += ", exe " + (exe_path.empty() ? std::string("?") : exe_path);
  out += " sha256 " + (exe_sha256.empty() ? std::string("?") : exe_sha256);
  return out;
}

Result<std::uint64_t> parse_stat_start_time(std::string_view line) {
  // comm is everything between the first '(' and the last ')'; fields 3.. follow the last ')'.
  auto close = line.rfind(')');
  if (line.find('(') == std::string_view::npos || close == std::string_view::npos) {
    return Error::invalid("stat: no (comm)");
  }
  std::string_view rest = line.substr(close + 1);
  int field = 2;  // the field just consumed
  std::size_t i = 0;
  while (true) {
    while (i < rest.size() && rest[i] == ' ') ++i;
    if (i >= rest.size()) return Error::invalid("stat: fewer than 22 fields");
    std::size_t end = rest.find(' ', i);
    if (end == std::string_view::npos) end = rest.size();
    ++field;
    if (field == 22) {
      std::string_view token = rest.substr(i, end - i);
      while (!token.empty() && (token.back() == '\n' || token.back() == '\r')) {
        token.remove_suffix(1);
      }
      std::uint64_t value = 0;
      auto [ptr, ec] = std::from_chars(token.data(), token.data() + token.size(), value);
      if (ec != std::errc() || ptr != token.data() + token.size() || token.empty()) {
        return Error::invalid("stat: starttime is not a number");
      }
      return value;
    }
    i = end;
  }
}

std::vector<std::string> parse_cmdline(std::string_view raw) {
  std::vector<std::string> args;
  std::size_t start = 0;
  while (start < raw.size()) {
    std::size_t end = raw.find('\0', start);
    if (end == std::string_view::npos) end = raw.size();
    args.emplace_back(raw.substr(start, end - start));
    start = end + 1;
  }
  return args;
}

std::vector<std::string> parse_cgroup(std::string_view raw) {
  std::vector<std::string> paths;
  std::size_t start = 0;
  while (start < raw.size()) {
    std::size_t end = raw.find('\n', start);
    if (end == std::string_view::npos) end = raw.size();
    std::string_view line = raw.substr(start, end - start);
    start = end + 1;
    auto first = line.find(':');
    if (first == std::string_view::npos) continue;
    auto second = line.find(':', first + 1);
    if (second == std::string_view::npos) continue;
    std::string_view path = line.substr(second + 1);
    if (!path.empty()) paths.emplace_back(path);
  }
  return paths;
}

Result<PeerCredentials> peer_credentials(int fd) {
  ucred cred{};
  socklen_t len = sizeof cred;
  if (::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0 || len != sizeof cred) {
    return Error::invalid(std::string("SO_PEERCRED failed: ") + std::strerror(errno));
  }
  if (cred.pid <= 0) return Error::invalid("SO_PEERCRED gave no pid (not a connected socket)");
  return PeerCredentials{cred.pid, cred.uid, cred.gid};
}

std::size_t ProcReader::FileKeyHash::operator()(const FileKey& k) const {
  std::size_t h = std::hash<std::uint64_t>{}(k.dev);
  for (std::uint64_t v : {k.ino, k.size, static_cast<std::uint64_t>(k.mtime_ns)}) {
    h ^= std::hash<std::uint64_t>{}(v) + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2);
  }
  return h;
}

ProcReader::ProcReader(ProcOptions options) : options_(std::move(options)) {}

std::size_t ProcReader::hashes_computed() const {
  std::lock_guard lock(mu_);
  return computed_;
}

Result<std::string> ProcReader::hash_exe(const std::string& exe_link) const {
  // Opened through the link: the kernel's own reference to the mapped file, whatever now sits
  // at its path.
  Fd fd(::open(exe_link.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) return unreadable("the executable");
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode)) {
    return refusal("the executable is not a regular file");
  }
  if (static_cast<std::uint64_t>(st.st_size) > options_.max_exe_bytes) {
    return refusal("the executable exceeds " + std::to_string(options_.max_exe_bytes) +
                   " bytes (max_exe_bytes)");
  }
  FileKey key{static_cast<std::uint64_t>(st.st_dev), static_cast<std::uint64_t>(st.st_ino),
              static_cast<std::uint64_t>(st.st_size),
              static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec};
  {
    std::lock_guard lock(mu_);
    auto it = hashes_.find(key);
    if (it != hashes_.end()) return it->second;
  }
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  if (!ctx || EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr) != 1) {
    return Error::internal("SHA-256 unavailable");
  }
  std::vector<char> buf(64 * 1024);
  std::uint64_t total = 0;
  while (true) {
    ssize_t n = ::read(fd.get(), buf.data(), buf.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return refusal("cannot read the executable");
    }
    if (n == 0) break;
    total += static_cast<std::uint64_t>(n);
    if (total > options_.max_exe_bytes) return refusal("the executable grew while hashed");
    EVP_DigestUpdate(ctx.get(), buf.data(), static_cast<std::size_t>(n));
  }
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_DigestFinal_ex(ctx.get(), digest, &len);
  std::string hex = to_hex(digest, len);
  std::lock_guard lock(mu_);
  ++computed_;
  if (hashes_.emplace(key, hex).second) {
    order_.push_back(key);
    while (order_.size() > options_.hash_cache_entries && !order_.empty()) {
      hashes_.erase(order_.front());
      order_.erase(order_.begin());
    }
  }
  return hex;
}

Result<std::uint64_t> ProcReader::start_time(pid_t pid) const {
  auto stat = read_small(options_.proc_root + "/" + std::to_string(pid) + "/stat", 4096);
  if (!stat) return unreadable("stat");
  auto start = parse_stat_start_time(*stat);
  if (!start.ok()) return refusal("unreadable stat: " + start.error().message);
  return start.value();
}

Status ProcReader::read(pid_t pid, PeerInfo& out) const {
  const std::string dir = options_.proc_root + "/" + std::to_string(pid);
  CUSTODY_ASSIGN(out.start_time, start_time(pid));
  char target[4096];
  ssize_t n = ::readlink((dir + "/exe").c_str(), target, sizeof target - 1);
  if (n <= 0) return unreadable("the executable link");
  out.exe_path.assign(target, static_cast<std::size_t>(n));
  CUSTODY_ASSIGN(out.exe_sha256, hash_exe(dir + "/exe"));
  auto cmdline = read_small(dir + "/cmdline");
  if (!cmdline) return unreadable("cmdline");
  out.args = parse_cmdline(*cmdline);
  auto cgroup = read_small(dir + "/cgroup");
  if (!cgroup) return unreadable("cgroup");
  out.cgroups = parse_cgroup(*cgroup);
  return ok_status();
}

Result<AttestedProcess> attest_peer(int fd, const ProcReader& reader, PeerInfo& partial) {
  auto creds = peer_credentials(fd);
  if (!creds.ok()) return refusal(creds.error().message);
  partial.pid = creds->pid;
  partial.uid = creds->uid;
  partial.gid = creds->gid;

  // The pidfd pins the process the kernel saw connect (SO_PEERPIDFD), or failing that the one
  // now holding the pid.
  Fd pidfd;
  int pfd = -1;
  socklen_t len = sizeof pfd;
  if (::getsockopt(fd, SOL_SOCKET, SO_PEERPIDFD, &pfd, &len) == 0 && pfd >= 0) {
    pidfd.reset(pfd);
  } else {
    pidfd.reset(static_cast<int>(::syscall(SYS_pidfd_open, creds->pid, 0)));
  }
  if (pidfd.get() < 0) return refusal(std::string(kGone));

  CUSTODY_ASSIGN(std::uint64_t before, reader.start_time(creds->pid));
  CUSTODY_TRY(reader.read(creds->pid, partial));
  auto after = reader.start_time(creds->pid);
  if (!after.ok() || after.value() != before || partial.start_time != before ||
      !pidfd_alive(pidfd.get())) {
    return refusal(std::string(kGone));
  }
  AttestedProcess process;
  static_cast<PeerInfo&>(process) = partial;
  return process;
}

}  // namespace custody::workload
