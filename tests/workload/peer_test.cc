// Peer identification: /proc parsing on fixture trees, SO_PEERCRED on real sockets of the test
// process, and a child that exits before it is attested.
#include "workload/peer.h"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>

namespace custody::workload {
namespace {

const std::string kProc = std::string(WORKLOAD_FIXTURES_DIR) + "/proc";
constexpr const char* kFakeAgentSha256 =
    "8299a9429dc8971b3128ef9b17d2450768a5a6d76792c42e81e64f351ac184f9";

TEST(StatParse, PlainComm) {
  auto t = parse_stat_start_time(
      "4242 (python3) S 1 4242 4242 0 -1 4194560 2755 0 0 0 12 3 0 0 20 0 1 0 987654 25591808 "
      "2560\n");
  ASSERT_TRUE(t.ok()) << t.error().message;
  EXPECT_EQ(t.value(), 987654u);
}

TEST(StatParse, CommWithSpacesAndParentheses) {
  // comm "a) b) S (c" ends at the LAST ')': a parser splitting on the first would read the
  // fields shifted by three.
  auto t = parse_stat_start_time(
      "4243 (a) b) S (c) R 1 4243 4243 0 -1 4194560 0 0 0 0 0 0 0 0 20 0 1 0 1234567890123 9");
  ASSERT_TRUE(t.ok()) << t.error().message;
  EXPECT_EQ(t.value(), 1234567890123u);
  auto spaces =
      parse_stat_start_time("7 (my agent  x) S 1 7 7 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 42 0 0");
  ASSERT_TRUE(spaces.ok());
  EXPECT_EQ(spaces.value(), 42u);
}

TEST(StatParse, Refusals) {
  EXPECT_FALSE(parse_stat_start_time("").ok());
  EXPECT_FALSE(parse_stat_start_time("4242 python3 S 1 2 3").ok());
  EXPECT_FALSE(parse_stat_start_time("4242 (python3) S 1 4242 4242").ok());  // truncated
  EXPECT_FALSE(parse_stat_start_time("1 (x) S 1 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 12ab 0").ok());
  EXPECT_FALSE(parse_stat_start_time("1 (x) S 1 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 -5 0").ok());
  EXPECT_FALSE(parse_stat_start_time("1 (x)").ok());
}

TEST(Cmdline, SplitsOnNul) {
  using namespace std::string_literals;
  EXPECT_EQ(parse_cmdline("/usr/bin/python3\0-m\0agent\0"s),
            (std::vector<std::string>{"/usr/bin/python3", "-m", "agent"}));
  EXPECT_EQ(parse_cmdline("no-final-nul"s), (std::vector<std::string>{"no-final-nul"}));
  EXPECT_EQ(parse_cmdline("a\0\0b\0"s), (std::vector<std::string>{"a", "", "b"}));
  EXPECT_TRUE(parse_cmdline("").empty());
}

TEST(Cgroup, PathsOfWellFormedLines) {
  EXPECT_EQ(parse_cgroup("12:pids:/system.slice/x.service\n0::/user.slice\nbadline\n3:x\n"),
            (std::vector<std::string>{"/system.slice/x.service", "/user.slice"}));
}

TEST(ProcReader, ReadsAFixtureProcess) {
  ProcReader reader(ProcOptions{.proc_root = kProc});
  PeerInfo p;
  ASSERT_TRUE(reader.read(4242, p).ok());
  EXPECT_EQ(p.exe_path, "../../bin/fake-agent");
  EXPECT_EQ(p.exe_sha256, kFakeAgentSha256);
  EXPECT_EQ(p.args, (std::vector<std::string>{"/usr/bin/python3", "-m", "agent.main", "--profile",
                                              "tickets"}));
  EXPECT_EQ(p.cgroups,
            (std::vector<std::string>{"/user.slice/user-1000.slice/user@1000.service/app.slice/"
                                      "agent.service"}));
  EXPECT_EQ(p.start_time, 987654u);

  PeerInfo nasty;
  ASSERT_TRUE(reader.read(4243, nasty).ok());
  EXPECT_EQ(nasty.start_time, 1234567890123u);
  EXPECT_EQ(nasty.args, (std::vector<std::string>{"agent"}));
  EXPECT_EQ(nasty.cgroups.size(), 3u);
}

TEST(ProcReader, HashesAreCachedByFileIdentity) {
  ProcReader reader(ProcOptions{.proc_root = kProc});
  PeerInfo a, b;
  ASSERT_TRUE(reader.read(4242, a).ok());
  ASSERT_TRUE(reader.read(4243, b).ok());  // same executable
  EXPECT_EQ(a.exe_sha256, b.exe_sha256);
  EXPECT_EQ(reader.hashes_computed(), 1u);
}

TEST(ProcReader, MissingExeOrProcessIsARefusal) {
  ProcReader reader(ProcOptions{.proc_root = kProc});
  PeerInfo zombie;
  Status s = reader.read(4244, zombie);  // no exe link, like a zombie
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, Code::kPermissionDenied);
  EXPECT_EQ(zombie.start_time, 555u);  // what was read is kept for the audit
  PeerInfo gone;
  EXPECT_FALSE(reader.read(9999999, gone).ok());
}

TEST(ProcReader, OversizedExecutableIsRefused) {
  ProcReader reader(ProcOptions{.proc_root = kProc, .max_exe_bytes = 4});
  PeerInfo p;
  Status s = reader.read(4242, p);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().message.find("exceeds"), std::string::npos);
}

TEST(PeerCredentials, SocketpairNamesThisProcess) {
  int fds[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
  auto c = peer_credentials(fds[0]);
  ::close(fds[0]);
  ::close(fds[1]);
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->pid, ::getpid());
  EXPECT_EQ(c->uid, ::getuid());
  EXPECT_EQ(c->gid, ::getgid());
}

TEST(PeerCredentials, NotASocket) {
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  EXPECT_FALSE(peer_credentials(fds[0]).ok());
  ProcReader reader;
  PeerInfo partial;
  auto a = attest_peer(fds[0], reader, partial);
  ::close(fds[0]);
  ::close(fds[1]);
  ASSERT_FALSE(a.ok());
  EXPECT_EQ(a.error().code, Code::kPermissionDenied);
}

// A listening Unix socket in a fresh temporary directory.
class Listener {
 public:
  Listener() {
    char tmpl[] = "/tmp/custody-peer-XXXXXX";
    dir_ = ::mkdtemp(tmpl);
    path_ = dir_ + "/s";
    fd_ = ::socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un addr = address();
    EXPECT_EQ(::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    EXPECT_EQ(::listen(fd_, 8), 0);
  }
  ~Listener() {
    ::close(fd_);
    std::filesystem::remove_all(dir_);
  }
  sockaddr_un address() const {
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, path_.c_str(), sizeof addr.sun_path - 1);
    return addr;
  }
  int accept() { return ::accept(fd_, nullptr, nullptr); }

 private:
  std::string dir_, path_;
  int fd_ = -1;
};

TEST(AttestPeer, RealConnectionFromThisProcess) {
  Listener listener;
  int client = ::socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un addr = listener.address();
  ASSERT_EQ(::connect(client, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  int server = listener.accept();
  ASSERT_GE(server, 0);
  ProcReader reader;
  PeerInfo partial;
  auto p = attest_peer(server, reader, partial);
  ::close(server);
  ::close(client);
  ASSERT_TRUE(p.ok()) << p.error().message;
  EXPECT_EQ(p->pid, ::getpid());
  EXPECT_EQ(p->uid, static_cast<std::int64_t>(::getuid()));
  EXPECT_EQ(p->exe_path, std::filesystem::read_symlink("/proc/self/exe").string());
  EXPECT_EQ(p->exe_sha256.size(), 64u);
  EXPECT_GT(p->start_time, 0u);
  EXPECT_FALSE(p->args.empty());
}

// Forks a child that connects and exits at once; returns its pid.
pid_t connect_and_exit(const sockaddr_un& addr) {
  pid_t child = ::fork();
  if (child == 0) {
    int s = ::socket(AF_UNIX, SOCK_STREAM, 0);
    ::connect(s, reinterpret_cast<const sockaddr*>(&addr), sizeof addr);
    ::_exit(0);
  }
  return child;
}

TEST(AttestPeer, ReapedPeerIsRefused) {
  Listener listener;
  pid_t child = connect_and_exit(listener.address());
  ASSERT_GT(child, 0);
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  int server = listener.accept();
  ASSERT_GE(server, 0);
  ProcReader reader;
  PeerInfo partial;
  auto p = attest_peer(server, reader, partial);
  ::close(server);
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.error().code, Code::kPermissionDenied);
  EXPECT_NE(p.error().message.find("process exited or pid reused"), std::string::npos)
      << p.error().message;
  EXPECT_EQ(partial.pid, child);  // the kernel's credentials are kept for the audit
}

TEST(AttestPeer, ZombiePeerIsRefused) {
  Listener listener;
  pid_t child = connect_and_exit(listener.address());
  ASSERT_GT(child, 0);
  siginfo_t info{};
  ASSERT_EQ(::waitid(P_PID, static_cast<id_t>(child), &info, WEXITED | WNOWAIT), 0);  // zombie
  int server = listener.accept();
  ASSERT_GE(server, 0);
  ProcReader reader;
  PeerInfo partial;
  auto p = attest_peer(server, reader, partial);
  ::close(server);
  int status = 0;
  ::waitpid(child, &status, 0);
  ASSERT_FALSE(p.ok());
  EXPECT_NE(p.error().message.find("process exited or pid reused"), std::string::npos)
      << p.error().message;
}

}  // namespace
}  // namespace custody::workload
