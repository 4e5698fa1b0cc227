// Custodyd: runs the real server binary as a child process, one data directory (and, on
// PostgreSQL, one database) per instance, so tests never see each other's state.
#include "harness.h"

#include <fcntl.h>
#include <libpq-fe.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>

#include "../common/pg_exec.h"

extern char** environ;

namespace custody::apitest {
namespace {

// custodyd's ready line: "listening on http://127.0.0.1:PORT" (https:// when TLS is on).
constexpr std::string_view kListening = "listening on http";
constexpr std::string_view kLoopback = "://127.0.0.1:";

// Where the port starts in the ready line found at `at`, or npos.
std::size_t port_offset(const std::string& out, std::size_t at) {
  std::size_t p = out.find(kLoopback, at);
  // "http" or "https" stands between the two parts, nothing else.
  if (p == std::string::npos || p > at + kListening.size() + 1) return std::string::npos;
  return p + kLoopback.size();
}

std::string env_or(const char* name, std::string fallback = {}) {
  const char* v = std::getenv(name);
  return v ? std::string(v) : fallback;
}

std::string trim(std::string s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.pop_back();
  std::size_t i = 0;
  while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i]))) ++i;
  return s.substr(i);
}

// The build tree's directory: the test binary lives in <build>/tests/.
std::filesystem::path build_dir() {
  std::error_code ec;
  auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
  return ec ? std::filesystem::path() : self.parent_path().parent_path();
}

// CUSTODY_TEST_PG_URL_FILE, else where tests/CMakeLists.txt has the fixture write it.
std::string pg_url_file() {
  std::string file = env_or("CUSTODY_TEST_PG_URL_FILE");
  if (!file.empty() || build_dir().empty()) return file;
  return (build_dir() / "pg" / "url").string();
}

// The cluster URL written by the postgres.start fixture; empty when there is none.
std::string pg_cluster_url() {
  std::string file = pg_url_file();
  if (file.empty()) return {};
  std::ifstream in(file);
  if (!in) return {};
  std::string url;
  std::getline(in, url);
  return trim(url);
}

// postgres://user@host:port/db?x=y → the same URL naming database `db`.
std::string with_database(const std::string& url, const std::string& db) {
  auto scheme = url.find("://");
  std::size_t authority = scheme == std::string::npos ? 0 : scheme + 3;
  auto query = url.find('?', authority);
  std::string head = url.substr(0, query);
  std::string tail = query == std::string::npos ? "" : url.substr(query);
  auto slash = head.find('/', authority);
  if (slash != std::string::npos) head.erase(slash);
  return head + "/" + db + tail;
}

// Runs one statement on the cluster; the error text (naming the statement), empty on success.
std::string pg_exec(const std::string& url, const std::string& sql) {
  std::string error = test_support::pg_exec(url, sql);
  return error.empty() ? error : sql + ": " + error;
}

// CUSTODY_TEST_CUSTODYD, else the build tree's src/custodyd beside tests/ (for running the test
// binary by hand).
std::string custodyd_binary() {
  std::string binary = env_or("CUSTODY_TEST_CUSTODYD");
  if (!binary.empty() || build_dir().empty()) return binary;
  std::error_code ec;
  auto sibling = build_dir() / "src" / "custodyd";
  return std::filesystem::exists(sibling, ec) ? sibling.string() : std::string();
}

}  // namespace

std::string test_backend() {
  std::string b = env_or("CUSTODY_TEST_STORE", "sqlite");
  return b.empty() ? "sqlite" : b;
}

std::string backend_skip_reason() {
  if (test_backend() != "postgres") return {};
  if (env_or("CUSTODY_REQUIRE_POSTGRES") == "1") return {};  // start() fails loudly instead
  if (pg_cluster_url().empty())
    return "no PostgreSQL cluster (" + pg_url_file() +
           " is missing); set CUSTODY_REQUIRE_POSTGRES=1 to fail instead";
  return {};
}

double metric_value(const std::string& exposition, const std::string& name) {
  const std::string key = "\n" + name + " ";  // a sample line, not a # TYPE line
  const auto at = exposition.find(key);
  return at == std::string::npos ? -1 : std::stod(exposition.substr(at + key.size()));
}

std::string random_hex(std::size_t bytes) {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  for (std::size_t i = 0; i < bytes; ++i) {
    auto b = static_cast<unsigned>(rng() & 0xff);
    out += kDigits[b >> 4];
    out += kDigits[b & 0xf];
  }
  return out;
}

Custodyd::Custodyd(Env env) : env_(std::move(env)) {
  // Printable ASCII, ≥ 32 characters: what custody accepts as a bootstrap token.
  admin_token_ = "cst_apitest_" + random_hex(24);
}

Custodyd::~Custodyd() {
  if (running()) stop(SIGTERM, Millis(10'000));
  if (!pg_database_.empty()) {
    std::string err =
        pg_exec(pg_admin_url_, "DROP DATABASE IF EXISTS \"" + pg_database_ + "\" WITH (FORCE)");
    if (!err.empty())
      std::fprintf(stderr, "apitest: could not drop %s: %s\n", pg_database_.c_str(), err.c_str());
  }
  if (!data_dir_.empty()) {
    std::error_code ec;
    std::filesystem::remove_all(data_dir_, ec);
  }
}

::testing::AssertionResult Custodyd::prepare_store() {
  if (test_backend() == "sqlite") return ::testing::AssertionSuccess();
  if (test_backend() != "postgres")
    return ::testing::AssertionFailure() << "unknown CUSTODY_TEST_STORE " << test_backend();
  pg_admin_url_ = pg_cluster_url();
  if (pg_admin_url_.empty())
    return ::testing::AssertionFailure()
           << "PostgreSQL requested but the URL file " << pg_url_file()
           << " (CUSTODY_TEST_PG_URL_FILE) is missing or empty";
  std::string db = "custody_" + random_hex(8);
  std::string err = pg_exec(pg_admin_url_, "CREATE DATABASE \"" + db + "\"");
  if (!err.empty()) return ::testing::AssertionFailure() << "cannot create database: " << err;
  pg_database_ = db;
  store_url_ = with_database(pg_admin_url_, db);
  return ::testing::AssertionSuccess();
}

::testing::AssertionResult Custodyd::launch() {
  if (running()) return ::testing::AssertionFailure() << "custodyd is already running";
  std::string binary = custodyd_binary();
  if (binary.empty())
    return ::testing::AssertionFailure()
           << "CUSTODY_TEST_CUSTODYD is not set and there is no custodyd next to the tests";
  if (data_dir_.empty()) {
    auto base = std::filesystem::temp_directory_path() / "custody-apitest-XXXXXX";
    std::string tmpl = base.string();
    if (!::mkdtemp(tmpl.data()))
      return ::testing::AssertionFailure() << "mkdtemp failed: " << std::strerror(errno);
    data_dir_ = tmpl;
    auto prepared = prepare_store();
    if (!prepared) return prepared;
  }

  // Everything the child needs is built before fork: only async-signal-safe calls after it.
  std::vector<std::string> args = {binary, "--listen", "127.0.0.1:0", "--data-dir", data_dir_};
  if (!store_url_.empty()) {
    args.push_back("--store");
    args.push_back(store_url_);
  }
  // The test's own CUSTODY_* variables (and any a developer has set) must not configure the
  // server under test: only what the test asks for.
  std::vector<std::string> envs;
  for (char** e = environ; e && *e; ++e)
    if (std::string_view(*e).rfind("CUSTODY_", 0) != 0) envs.emplace_back(*e);
  envs.push_back("CUSTODY_BOOTSTRAP_ADMIN_TOKEN=" + admin_token_);
  for (const auto& [k, v] : env_) envs.push_back(k + "=" + v);
  std::vector<char*> argv, envp;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  for (auto& e : envs) envp.push_back(e.data());
  envp.push_back(nullptr);

  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0)
    return ::testing::AssertionFailure() << "pipe2: " << std::strerror(errno);
  int devnull = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  {
    std::lock_guard lock(mu_);
    launch_offset_ = output_.size();
    output_eof_ = false;
  }
  exit_code_.reset();
  pid_t pid = ::fork();
  if (pid < 0) {
    ::close(pipe_fds[0]);
    ::close(pipe_fds[1]);
    ::close(devnull);
    return ::testing::AssertionFailure() << "fork: " << std::strerror(errno);
  }
  if (pid == 0) {
    // A crashed or killed test run must not leave servers behind.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    ::dup2(devnull, 0);
    ::dup2(pipe_fds[1], 1);
    ::dup2(pipe_fds[1], 2);
    // The test's sockets must not stay open in the child: a closed client must look closed.
    ::close_range(3, ~0U, 0);
    // No stray ./custody.yaml may configure the server.
    if (::chdir(data_dir_.c_str()) != 0) ::_exit(126);
    ::execve(argv[0], argv.data(), envp.data());
    ::_exit(127);
  }
  ::close(pipe_fds[1]);
  ::close(devnull);
  pid_ = pid;
  if (reader_.joinable()) reader_.join();
  reader_ = std::thread([this, fd = pipe_fds[0]] { drain_output(fd); });
  return ::testing::AssertionSuccess();
}

void Custodyd::drain_output(int fd) {
  char buf[8192];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    std::lock_guard lock(mu_);
    output_.append(buf, static_cast<std::size_t>(n));
    cv_.notify_all();
  }
  ::close(fd);
  std::lock_guard lock(mu_);
  output_eof_ = true;
  cv_.notify_all();
}

::testing::AssertionResult Custodyd::start() {
  auto launched = launch();
  if (!launched) return launched;
  std::unique_lock lock(mu_);
  std::size_t at = std::string::npos;
  bool ready = cv_.wait_for(lock, std::chrono::seconds(20), [&] {
    at = output_.find(kListening, launch_offset_);
    std::size_t begin = at == std::string::npos ? at : port_offset(output_, at);
    if (begin != std::string::npos) {
      // The port is complete once a non-digit follows it.
      std::size_t end = begin;
      while (end < output_.size() && std::isdigit(static_cast<unsigned char>(output_[end]))) ++end;
      if (end < output_.size() && end > begin) return true;
    }
    return output_eof_;
  });
  std::string log = output_.substr(launch_offset_);
  if (ready && at != std::string::npos) {
    port_ = static_cast<std::uint16_t>(std::stoi(output_.substr(port_offset(output_, at), 6)));
    // Says which backend really ran, in ctest's log.
    std::fprintf(stderr, "apitest: custodyd pid %d (%s store) listening on 127.0.0.1:%u\n",
                 static_cast<int>(pid_), test_backend().c_str(), unsigned{port_});
    return ::testing::AssertionSuccess();
  }
  lock.unlock();
  int code = stop(SIGKILL, Millis(5'000));
  return ::testing::AssertionFailure()
         << (ready ? "custodyd exited (code " + std::to_string(code) + ")"
                   : std::string("custodyd did not report listening within 20 s"))
         << " before listening; its output:\n"
         << log;
}

void Custodyd::reap(int status) {
  exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  pid_ = -1;
  // The pipe reaches EOF once the process is gone.
  if (reader_.joinable()) reader_.join();
}

std::optional<int> Custodyd::wait_exit(Millis timeout) {
  if (!running()) return exit_code_;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    int status = 0;
    pid_t r = ::waitpid(pid_, &status, WNOHANG);
    if (r == pid_) {
      reap(status);
      return exit_code_;
    }
    if (r < 0 && errno != EINTR) {
      pid_ = -1;
      return exit_code_;
    }
    if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(Millis(5));
  }
}

int Custodyd::stop(int sig, Millis timeout) {
  if (!running()) return exit_code_.value_or(-1);
  ::kill(pid_, sig);
  auto code = wait_exit(timeout);
  if (!code) {
    ::kill(pid_, SIGKILL);
    code = wait_exit(Millis(10'000));
  }
  return code.value_or(-1);
}

void Custodyd::kill9() {
  stop(SIGKILL, Millis(10'000));
}

void Custodyd::signal(int sig) {
  if (running()) ::kill(pid_, sig);
}

std::string Custodyd::logs() const {
  std::lock_guard lock(mu_);
  return output_;
}

bool Custodyd::wait_for_log(std::string_view needle, Millis timeout) const {
  std::unique_lock lock(mu_);
  return cv_.wait_for(lock, timeout, [&] {
    return output_.find(needle, launch_offset_) != std::string::npos || output_eof_;
  }) && output_.find(needle, launch_offset_) != std::string::npos;
}

std::unique_ptr<Custodyd> SharedCustodydTest::shared_;

void SharedCustodydTest::SetUp() {
  std::string why = backend_skip_reason();
  if (!why.empty()) GTEST_SKIP() << why;
  if (!shared_) {
    auto server = std::make_unique<Custodyd>();
    auto started = server->start();
    ASSERT_TRUE(started) << "custodyd did not start";
    shared_ = std::move(server);
  }
  admin_ = shared_->admin();
}

void SharedCustodydTest::TearDownTestSuite() {
  shared_.reset();
}

std::string run_sql(const Custodyd& server, const std::string& sql) {
  const std::string url = server.store_url();
  if (url.rfind("sqlite:", 0) == 0) {
    sqlite3* db = nullptr;
    std::string err;
    if (sqlite3_open(url.substr(7).c_str(), &db) != SQLITE_OK) err = "open failed";
    sqlite3_busy_timeout(db, 5000);
    char* msg = nullptr;
    if (err.empty() && sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &msg) != SQLITE_OK) {
      err = msg ? msg : "exec failed";
      sqlite3_free(msg);
    }
    sqlite3_close(db);
    return err;
  }
  return test_support::pg_exec(url, sql);
}

}  // namespace custody::apitest
