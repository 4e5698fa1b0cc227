// The API test harness: a real custodyd process per test (or per suite) on a random loopback
// port, an HTTP client, a raw-socket helper for hand-crafted bytes, and assertions for the
// contract shapes of docs/api.md (problem+json, audited refusals).
//
// Environment (set by tests/CMakeLists.txt):
//   CUSTODY_TEST_CUSTODYD       the custodyd binary (default: <build>/src/custodyd)
//   CUSTODY_TEST_STORE          sqlite (default) or postgres
//   CUSTODY_TEST_PG_URL_FILE    file holding the postgres:// URL of a throw-away cluster
//                               (default: <build>/pg/url, where the postgres.start fixture writes
//                               it)
//   CUSTODY_REQUIRE_POSTGRES=1  a missing cluster fails the tests instead of skipping them
// The defaults let the test binary run by hand from the build tree.
#pragma once

#include <gtest/gtest.h>
#include <sys/types.h>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

namespace custody::apitest {

using nlohmann::json;
using Headers = std::vector<std::pair<std::string, std::string>>;
using Millis = std::chrono::milliseconds;

inline constexpr std::string_view kProblemPrefix = "https://custody.dev/problems/";

// "sqlite" or "postgres", from CUSTODY_TEST_STORE.
std::string test_backend();
// Non-empty when this backend cannot run here and the tests should be skipped.
std::string backend_skip_reason();
// Random lowercase hex of 2*bytes characters.
std::string random_hex(std::size_t bytes);
// The value of the unlabelled-or-labelled sample `name` (e.g. `x_total` or `x{k="v"}`) in a
// Prometheus exposition such as /metrics returns; -1 when it is not there.
double metric_value(const std::string& exposition, const std::string& name);
// Seconds since the epoch now, as JWT times (iat, exp) count them.
inline std::int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

struct Response {
  int status = 0;
  Headers headers;
  std::string body;

  // The first header with this name (case-insensitive); empty when absent.
  std::string header(std::string_view name) const;
  bool has_header(std::string_view name) const;
  // The body as JSON; a discarded value when it is not JSON.
  nlohmann::json json() const;
  // For problem responses: the `type` after the documented prefix; empty otherwise.
  std::string problem_type() const;
  // One line for assertion messages.
  std::string describe() const;
};

// A small synchronous HTTP/1.1 client (Beast over a tcp_stream). With keep-alive it reuses one
// connection and transparently reconnects once when a reused connection turns out to be closed.
class Client {
 public:
  explicit Client(std::uint16_t port, std::string token = {}, bool keep_alive = true);
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  void set_token(std::string token) { token_ = std::move(token); }
  void set_timeout(Millis timeout) { timeout_ = timeout; }

  // Sends one request; a JSON body is sent with Content-Type: application/json unless the
  // headers name a Content-Type. Transport failures are reported as status 0 with the error in
  // the body (so threads can keep going; the main thread asserts).
  Response request(std::string_view method, std::string_view target,
                   const std::optional<nlohmann::json>& body = std::nullopt,
                   const Headers& headers = {});
  // The body is sent verbatim, with exactly the given headers (plus Host/Authorization).
  Response request_raw(std::string_view method, std::string_view target, std::string body,
                       const Headers& headers);

  Response get(std::string_view target) { return request("GET", target); }
  Response post(std::string_view target, const nlohmann::json& body) {
    return request("POST", target, body);
  }
  Response patch(std::string_view target, const nlohmann::json& body, const Headers& headers = {}) {
    return request("PATCH", target, body, headers);
  }
  Response del(std::string_view target) { return request("DELETE", target); }

  // TCP connections opened so far.
  int connects() const { return connects_; }
  void disconnect();

 private:
  struct Conn;
  Response send_once(std::string_view method, std::string_view target, const std::string& body,
                     const Headers& headers, bool* retryable);

  std::uint16_t port_;
  std::string token_;
  bool keep_alive_;
  Millis timeout_{10'000};
  std::unique_ptr<Conn> conn_;
  int connects_ = 0;
};

// A plain TCP connection to 127.0.0.1:port for hand-crafted bytes.
class RawConnection {
 public:
  explicit RawConnection(std::uint16_t port);
  ~RawConnection();
  RawConnection(const RawConnection&) = delete;
  RawConnection& operator=(const RawConnection&) = delete;

  bool connected() const { return fd_ >= 0; }
  // False when the peer has closed the connection (EPIPE/ECONNRESET).
  bool send(std::string_view bytes);
  // Reads whatever arrives within `timeout`; stops early at EOF (then closed_by_peer() is true).
  std::string read_for(Millis timeout);
  // Reads one whole HTTP response (head + Content-Length body) or until timeout/EOF.
  std::string read_response(Millis timeout);
  // Waits until the peer closes (EOF or reset); true when it did within `timeout`. Any bytes
  // that arrive meanwhile are kept in received().
  bool wait_closed(Millis timeout);
  bool closed_by_peer() const { return peer_closed_; }
  const std::string& received() const { return received_; }
  void close();

 private:
  // One poll+recv step; false on timeout.
  bool read_step(Millis timeout);

  int fd_ = -1;
  bool peer_closed_ = false;
  std::string received_;
};

// A custodyd process with its own data directory and (PostgreSQL) its own database.
class Custodyd {
 public:
  using Env = std::vector<std::pair<std::string, std::string>>;

  explicit Custodyd(Env env = {});
  ~Custodyd();
  Custodyd(const Custodyd&) = delete;
  Custodyd& operator=(const Custodyd&) = delete;

  // Launches custodyd and waits (20 s at most) for its "listening on" line.
  ::testing::AssertionResult start();
  // Same data directory and store, new process (and port).
  ::testing::AssertionResult restart() { return start(); }
  // Launches without waiting for readiness (for start-up failures).
  ::testing::AssertionResult launch();
  // Waits for the process to exit; its exit code (128+signal when killed), nullopt on timeout.
  std::optional<int> wait_exit(Millis timeout);
  // Sends `sig` and waits for exit (SIGKILL after `timeout`); returns the exit code.
  int stop(int sig = 15 /* SIGTERM */, Millis timeout = Millis(20'000));
  // SIGKILL: no chance to flush or clean up.
  void kill9();
  // Sends a signal without waiting.
  void signal(int sig);
  bool running() const { return pid_ > 0; }

  std::uint16_t port() const { return port_; }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  const std::string& admin_token() const { return admin_token_; }
  const std::string& data_dir() const { return data_dir_; }
  // The store URL custodyd runs on (sqlite:<data_dir>/custody.db by default); for tools such as
  // `custody audit verify` and for tests that tamper with the database directly.
  std::string store_url() const {
    return store_url_.empty() ? "sqlite:" + data_dir_ + "/custody.db" : store_url_;
  }
  pid_t pid() const { return pid_; }
  // Everything custodyd wrote on stdout and stderr, across restarts.
  std::string logs() const;
  // Waits until the output since the last launch contains `needle`.
  bool wait_for_log(std::string_view needle, Millis timeout) const;

  // An admin client for this process.
  std::unique_ptr<Client> admin(bool keep_alive = true) const {
    return std::make_unique<Client>(port_, admin_token_, keep_alive);
  }

 private:
  ::testing::AssertionResult prepare_store();
  void reap(int status);
  void drain_output(int fd);

  Env env_;
  std::string data_dir_;
  std::string admin_token_;
  std::string store_url_;     // empty: custodyd's default (sqlite in the data dir)
  std::string pg_admin_url_;  // the cluster's URL, to drop our database at the end
  std::string pg_database_;
  pid_t pid_ = -1;
  std::optional<int> exit_code_;
  std::uint16_t port_ = 0;

  mutable std::mutex mu_;
  mutable std::condition_variable cv_;
  std::string output_;
  std::size_t launch_offset_ = 0;  // where the current process's output starts
  bool output_eof_ = true;
  std::thread reader_;
};

// Runs one SQL statement directly on `server`'s database, whichever backend it is (for tests that
// tamper with or age stored rows); "" on success, else the backend's error.
std::string run_sql(const Custodyd& server, const std::string& sql);

// Fails unless `r` is an RFC 9457 problem with this status and type suffix (and `field`, when
// given), whose request_id is the X-Request-Id header.
::testing::AssertionResult IsProblem(const Response& r, int status, std::string_view type,
                                     std::optional<std::string_view> field = std::nullopt);

// The audit event recorded for the request answered by `r` (matched on request id), found with
// GET /api/v1/audit?outcome=…&action=…; nullopt when there is none.
std::optional<json> find_audit_event(Client& admin, const Response& r, std::string_view outcome,
                                     std::string_view action);
// Fails unless `r`'s refusal was audited with this outcome and action.
::testing::AssertionResult RefusalAudited(Client& admin, const Response& r,
                                          std::string_view outcome, std::string_view action);

// Every identity visible to `client` (follows next_cursor with the largest page).
std::vector<json> all_identities(Client& client);
// Audit events matching a query string ("target=…&action=…"), all pages.
std::vector<json> audit_events(Client& client, const std::string& query);

// Request bodies for the common cases.
json human_body(std::string display_name = "");
json owned_body(std::string_view kind, std::string_view owner_id, std::string display_name = "");
// Creates an identity as `client`, failing the test (non-fatally) unless 201; the identity JSON.
json create_identity(Client& client, const json& body);
json create_human(Client& client, std::string display_name = "");
json create_agent(Client& client, std::string_view owner_id, std::string display_name = "");

// A test fixture whose tests share one default-configured custodyd (started on first use, so that
// failures and skips land on a test; stopped when the suite ends).
class SharedCustodydTest : public ::testing::Test {
 protected:
  void SetUp() override;
  static void TearDownTestSuite();

  static Custodyd& server() { return *shared_; }
  // A keep-alive admin client on the shared server.
  Client& admin() { return *admin_; }

 private:
  static std::unique_ptr<Custodyd> shared_;
  std::unique_ptr<Client> admin_;
};

}  // namespace custody::apitest

// Starts `server` (a Custodyd), or skips the test when its backend is not available here.
#define CUSTODY_START_OR_SKIP(server)                             \
  do {                                                            \
    std::string why_ = ::custody::apitest::backend_skip_reason(); \
    if (!why_.empty()) GTEST_SKIP() << why_;                      \
    ASSERT_TRUE((server).start()) << "custodyd did not start";    \
  } while (0)
