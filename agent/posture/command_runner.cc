#include "posture/command_runner.h"

#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace custody::posture {

namespace {

constexpr const char* kSearchPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

// The executable for argv[0]: itself when it holds a slash, else the first hit in kSearchPath.
std::string resolve_program(const std::string& name) {
  if (name.find('/') != std::string::npos) return name;
  std::string_view dirs = kSearchPath;
  while (!dirs.empty()) {
    auto colon = dirs.find(':');
    std::string candidate = std::string(dirs.substr(0, colon)) + "/" + name;
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
    if (colon == std::string_view::npos) break;
    dirs.remove_prefix(colon + 1);
  }
  return {};
}

void kill_and_reap(pid_t pid) {
  ::kill(-pid, SIGKILL);  // the child leads its own process group: its children die too
  ::kill(pid, SIGKILL);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
}

}  // namespace

Result<CommandOutput> ProcessCommandRunner::run(const std::vector<std::string>& argv,
                                                const std::map<std::string, std::string>& env,
                                                const CommandOptions& options) {
  const bool switch_user = options.run_as_uid >= 0 && options.run_as_gid >= 0 && ::geteuid() == 0 &&
                           static_cast<uid_t>(options.run_as_uid) != 0;
  if (argv.empty()) return Error::invalid("empty command");
  const std::string program = resolve_program(argv[0]);
  if (program.empty() || ::access(program.c_str(), X_OK) != 0) {
    return Error::not_found(argv[0] + ": not installed");
  }

  // Everything the child needs is built before fork: after it only async-signal-safe calls.
  std::map<std::string, std::string> vars = {{"PATH", kSearchPath}, {"LC_ALL", "C"}};
  for (const auto& [k, v] : env) vars[k] = v;
  std::vector<std::string> env_strings;
  for (const auto& [k, v] : vars) env_strings.push_back(k + "=" + v);
  std::vector<char*> cargv, cenv;
  for (const auto& a : argv) cargv.push_back(const_cast<char*>(a.c_str()));
  cargv.push_back(nullptr);
  for (const auto& e : env_strings) cenv.push_back(const_cast<char*>(e.c_str()));
  cenv.push_back(nullptr);

  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0)
    return Error::unavailable(std::string("pipe: ") + strerror(errno));
  const auto deadline = std::chrono::steady_clock::now() + options.timeout;
  pid_t pid = ::fork();
  if (pid < 0) {
    int err = errno;
    ::close(fds[0]);
    ::close(fds[1]);
    return Error::unavailable(std::string("fork: ") + std::strerror(err));
  }
  if (pid == 0) {
    ::setpgid(0, 0);
    int devnull = ::open("/dev/null", O_RDWR | O_CLOEXEC);
    if (devnull >= 0) {
      ::dup2(devnull, 0);
      ::dup2(devnull, 2);
    }
    ::dup2(fds[1], 1);
    if (switch_user &&
        (::setgroups(0, nullptr) != 0 || ::setgid(static_cast<gid_t>(options.run_as_gid)) != 0 ||
         ::setuid(static_cast<uid_t>(options.run_as_uid)) != 0)) {
      ::_exit(126);
    }
    ::execve(program.c_str(), cargv.data(), cenv.data());
    ::_exit(127);
  }
  ::setpgid(pid, pid);  // also from the parent: no race with an early kill
  ::close(fds[1]);

  CommandOutput result;
  char buf[16384];
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      ::close(fds[0]);
      kill_and_reap(pid);
      return Error::unavailable(argv[0] + ": timed out after " +
                                std::to_string(options.timeout.count()) + " ms");
    }
    pollfd p{fds[0], POLLIN, 0};
    int r = ::poll(&p, 1, static_cast<int>(left.count()));
    if (r < 0 && errno == EINTR) continue;
    if (r == 0) continue;  // the deadline check above ends it
    ssize_t n = ::read(fds[0], buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;  // EOF (or an error): the child closed its stdout
    if (result.out.size() + static_cast<std::size_t>(n) > options.max_output) {
      ::close(fds[0]);
      kill_and_reap(pid);
      return Error{
          Code::kTooLarge,
          argv[0] + ": output larger than " + std::to_string(options.max_output) + " bytes",
          {},
          {}};
    }
    result.out.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fds[0]);

  // Stdout is closed but the program may still run (or have handed stdout to nobody): wait for
  // it within what is left of the timeout.
  int status = 0;
  for (;;) {
    pid_t w = ::waitpid(pid, &status, WNOHANG);
    if (w == pid) break;
    if (w < 0 && errno != EINTR) return Error::unavailable(argv[0] + ": waitpid failed");
    if (std::chrono::steady_clock::now() >= deadline) {
      kill_and_reap(pid);
      return Error::unavailable(argv[0] + ": timed out after " +
                                std::to_string(options.timeout.count()) + " ms");
    }
    ::usleep(2000);
  }
  if (WIFSIGNALED(status)) {
    return Error::unavailable(argv[0] + ": killed by signal " + std::to_string(WTERMSIG(status)));
  }
  result.exit_status = WEXITSTATUS(status);
  if ((result.exit_status == 127 || (switch_user && result.exit_status == 126)) &&
      result.out.empty()) {
    return Error::unavailable(argv[0] + ": could not be executed" +
                              (switch_user ? " as uid " + std::to_string(options.run_as_uid) : ""));
  }
  return result;
}

}  // namespace custody::posture
