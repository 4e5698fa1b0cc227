// Peer identification: who is at the other end of an accepted AF_UNIX connection. The kernel
// tells the pid, uid and gid (SO_PEERCRED); <proc_root>/<pid>/ tells the executable, its SHA-256,
// the arguments, the cgroups and the start time. The executable is hashed by opening
// <pid>/exe itself, never the path it names, so replacing the file on disk does not change what
// is hashed. A process that exits, or whose pid is reused, while it is being read is refused.
//
// Limits of the check (documented in docs/workload-api.md): SO_PEERCRED reports the process that
// connect()ed; a socket passed to another process is still attributed to the connecting one.
// Without SO_PEERPIDFD (Linux < 6.5) the pid could in principle be reused between connect() and
// pidfd_open(); the start time read before and after narrows, but cannot close, that window.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/result.h"

namespace custody::workload {

// What the agent learned of a peer. After a refusal only part of it may be known: pid 0 and
// uid/gid -1 mean "not obtained"; empty strings and vectors mean "not read".
struct PeerInfo {
  pid_t pid = 0;
  std::int64_t uid = -1;
  std::int64_t gid = -1;
  std::string exe_path;              // readlink of <pid>/exe
  std::string exe_sha256;            // lowercase hex of the bytes read through <pid>/exe
  std::vector<std::string> args;     // argv, from <pid>/cmdline
  std::vector<std::string> cgroups;  // the path of each line of <pid>/cgroup
  std::uint64_t start_time = 0;      // field 22 of <pid>/stat, clock ticks after boot

  // "uid 1000, exe /usr/bin/python3 sha256 ab12…": for refusals and logs (no arguments: they
  // may hold secrets).
  std::string describe() const;
};

// A peer whose every field was read and confirmed to belong to one process that was alive from
// the first read to the last. Only attest_peer() and ProcReader::read() make one.
struct AttestedProcess : PeerInfo {};

struct ProcOptions {
  std::string proc_root = "/proc";
  // Hashes kept, keyed by (st_dev, st_ino, size, mtime); the oldest entry is dropped beyond it.
  std::size_t hash_cache_entries = 256;
  // An executable larger than this is refused rather than hashed (hashing it would stall).
  std::uint64_t max_exe_bytes = std::uint64_t{1} << 30;
};

// Parses field 22 (starttime) of a /proc/<pid>/stat line. The comm field (2) is between the
// first '(' and the LAST ')' and may contain spaces and parentheses. Error: kInvalidArgument.
Result<std::uint64_t> parse_stat_start_time(std::string_view stat_line);
// Splits /proc/<pid>/cmdline (NUL-terminated arguments) into argv; a missing final NUL is
// tolerated. Never fails: an empty file (kernel thread, zombie) gives no arguments.
std::vector<std::string> parse_cmdline(std::string_view raw);
// The paths of /proc/<pid>/cgroup lines "<id>:<controllers>:<path>"; malformed lines skipped.
std::vector<std::string> parse_cgroup(std::string_view raw);

// The kernel's credentials of the peer of a connected AF_UNIX socket. Error: kInvalidArgument
// when fd is not such a socket.
struct PeerCredentials {
  pid_t pid = 0;
  uid_t uid = 0;
  gid_t gid = 0;
};
Result<PeerCredentials> peer_credentials(int fd);

// Reads processes from a proc tree and hashes their executables, caching the hashes.
// Thread-safe: one instance may serve several threads. Not copyable (it owns the cache).
class ProcReader {
 public:
  explicit ProcReader(ProcOptions options = {});
  ProcReader(const ProcReader&) = delete;
  ProcReader& operator=(const ProcReader&) = delete;

  // Reads exe, its hash, cmdline, cgroup and start time of `pid` into `out` (credentials are
  // left as they are). Error kPermissionDenied when the process is gone or unreadable, with
  // whatever was read left in `out`.
  Status read(pid_t pid, PeerInfo& out) const;
  // Start time alone (field 22 of <pid>/stat). Error kPermissionDenied when unreadable.
  Result<std::uint64_t> start_time(pid_t pid) const;

  // How many hashes were computed (not served from the cache); for tests.
  std::size_t hashes_computed() const;
  const ProcOptions& options() const { return options_; }

 private:
  Result<std::string> hash_exe(const std::string& exe_link) const;

  struct FileKey {
    std::uint64_t dev, ino, size;
    std::int64_t mtime_ns;
    bool operator==(const FileKey&) const = default;
  };
  struct FileKeyHash {
    std::size_t operator()(const FileKey& k) const;
  };

  ProcOptions options_;
  mutable std::mutex mu_;
  mutable std::unordered_map<FileKey, std::string, FileKeyHash> hashes_;
  mutable std::vector<FileKey> order_;  // insertion order, for eviction
  mutable std::size_t computed_ = 0;
};

// The whole attestation of the peer of `fd` against the live kernel: SO_PEERCRED, a pidfd
// (SO_PEERPIDFD, else pidfd_open), start time, reader.read(), start time again, pidfd still
// alive. `partial` receives whatever was learned even on failure (for the audit). Errors are
// kPermissionDenied with a message saying why, e.g. "process exited or pid reused during
// attestation".
Result<AttestedProcess> attest_peer(int fd, const ProcReader& reader, PeerInfo& partial);

}  // namespace custody::workload
