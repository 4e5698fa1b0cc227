// End to end through the real custody-agent (docs/devices.md): enrol a device with
// `custody-agent enrol`, run `custody-agent run` on a posture root that is healthy, obtain a
// device-bound token through the workload API with libcustody (this test process is the
// workload), then make the posture unhealthy and see the token revoked and a new one refused.
//
// The posture root is a symlink to one of tests/posture/fixtures/ trees, re-pointed to change
// what the agent reads. The fixtures have no firewall state (commands do not run on a fixture
// root), so the test pushes an organisation's posture policy that trusts an encrypted root
// filesystem with a fresh report.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "crypto/jwk.h"
#include "crypto/jws.h"
#include "custody/workload_client.h"
#include "oauth_fixture.h"

namespace custody::apitest {
namespace {

namespace fs = std::filesystem;

std::string read_file(const fs::path& p) {
  std::ifstream in(p);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

// Runs a command to completion; its exit code and combined output.
std::pair<int, std::string> run_command(const std::vector<std::string>& argv) {
  std::string cmd;
  for (const auto& a : argv) cmd += "'" + a + "' ";
  cmd += "2>&1";
  FILE* f = ::popen(cmd.c_str(), "r");
  if (!f) return {-1, "popen failed"};
  std::string out;
  char buf[4096];
  while (std::size_t n = std::fread(buf, 1, sizeof buf, f)) out.append(buf, n);
  int status = ::pclose(f);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

// A background process, killed (SIGTERM) when destroyed; its output goes to a file.
class Daemon {
 public:
  Daemon(const std::vector<std::string>& argv, const std::string& log) {
    pid_ = ::fork();
    if (pid_ == 0) {
      int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
      ::dup2(fd, 1);
      ::dup2(fd, 2);
      std::vector<char*> args;
      for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
      args.push_back(nullptr);
      ::execv(args[0], args.data());
      ::_exit(127);
    }
  }
  ~Daemon() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGTERM);
    int status = 0;
    for (int i = 0; i < 100 && ::waitpid(pid_, &status, WNOHANG) == 0; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, &status, 0);
  }

 private:
  pid_t pid_ = -1;
};

std::string self_exe_sha256() {
  auto [rc, out] = run_command({"sha256sum", fs::read_symlink("/proc/self/exe").string()});
  return rc == 0 ? out.substr(0, 64) : "";
}

class DeviceAgentE2E : public OAuthFixture {};

TEST_F(DeviceAgentE2E, HealthyPostureGetsATokenAndDegradationRevokesIt) {
  const fs::path source = CUSTODY_SOURCE_DIR;
  const fs::path fixtures = source / "tests/posture/fixtures";
  fs::path dir = fs::temp_directory_path() / ("custody-e2e-" + random_hex(6));
  fs::create_directories(dir);
  fs::path root = dir / "root";
  fs::create_directory_symlink(fixtures / "debian-luks-nft", root);
  std::string socket = (dir / "workload.sock").string();

  // The organisation's posture policy, with the default directory policies.
  json files = json::array();
  for (const char* name : {"custody.cedar", "delegation.cedar"})
    files.push_back({{"name", name}, {"text", read_file(source / "policies" / name)}});
  files.push_back({{"name", "posture.cedar"},
                   {"text",
                    "@id(\"org/encrypted-and-fresh\")\n"
                    "permit (principal, action == Action::\"trust_device\", resource)\n"
                    "when { principal.os.known && principal.disk_encryption.known &&\n"
                    "       principal.disk_encryption.root_encrypted &&\n"
                    "       principal.report_age_seconds <= 60 };\n"}});
  Response pushed = admin().post(
      "/api/v1/policies",
      json{{"files", files},
           {"schema",
            {{"format", "cedar"}, {"text", read_file(source / "policies/custody.cedarschema")}}}});
  ASSERT_EQ(pushed.status, 201) << pushed.describe();

  // Enrol.
  Response t = admin().post("/api/v1/devices/enrolment-tokens", json{{"owner", owner_}});
  ASSERT_EQ(t.status, 201) << t.describe();
  auto [rc, out] = run_command({CUSTODY_AGENT_BIN, "enrol", "--server", server().url(), "--token",
                                t.json()["token"], "--state-dir", (dir / "state").string(),
                                "--hostname", "e2e-host"});
  ASSERT_EQ(rc, 0) << out;
  std::string device = json::parse(read_file(dir / "state/device.json"))["device_id"];
  EXPECT_NE(out.find(device), std::string::npos) << out;
  EXPECT_EQ(fs::status(dir / "state/device.key").permissions() & fs::perms::all,
            fs::perms::owner_read | fs::perms::owner_write);

  // This test process is the workload: its uid and executable.
  Agent a = agent("e2e-workload");
  entitle(a, "tickets:read", "https://tickets.example");
  Response allowed = admin().request(
      "PUT", "/api/v1/devices/" + device + "/identities/" + a.id,
      json{
          {"selectors", {"uid:" + std::to_string(::getuid()), "exe_sha256:" + self_exe_sha256()}}});
  ASSERT_EQ(allowed.status, 200) << allowed.describe();

  std::string log = (dir / "agent.log").string();
  Daemon agent_process({CUSTODY_AGENT_BIN, "run", "--state-dir", (dir / "state").string(),
                        "--socket", socket, "--root", root.string(), "--check-interval", "0.2",
                        "--report-interval", "5", "--bindings-ttl", "0"},
                       log);
  json shown;
  for (int i = 0; i < 100; ++i) {
    shown = admin().get("/api/v1/devices/" + device).json();
    if (shown["trust"] == "trusted") break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_EQ(shown["trust"], "trusted") << shown.dump() << "\n" << read_file(log);

  custody::WorkloadClient client({.socket_path = socket});
  auto token =
      client.access_token({.scope = "tickets:read", .audience = "https://tickets.example"});
  ASSERT_TRUE(token.ok()) << token.error().code << ": " << token.error().description << "\n"
                          << read_file(log);
  json claims = claims_of(token.value().access_token);
  EXPECT_EQ(claims["sub"], a.id);
  EXPECT_EQ(claims["device_id"], device);

  // A process that holds a DPoP key has custody certify it in the assertion, then makes the
  // token request itself: the token is DPoP-bound, and the assertion is useless without a proof
  // by that key.
  auto dpop_key = crypto::Jwk::generate(crypto::KeyType::kEcP256).value();
  auto certified = client.client_assertion({.dpop_jkt = dpop_key.thumbprint()});
  ASSERT_TRUE(certified.ok()) << certified.error().description;
  EXPECT_EQ(claims_of(certified.value().assertion)["cnf"]["jkt"], dpop_key.thumbprint());
  auto token_request = [&](const std::string& assertion, const Headers& extra) {
    Headers headers = {{"Content-Type", "application/x-www-form-urlencoded"}};
    headers.insert(headers.end(), extra.begin(), extra.end());
    Client c(server().port());
    return c.request_raw(
        "POST", "/oauth2/token",
        form({{"grant_type", "client_credentials"},
              {"client_id", a.id},
              {"client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"},
              {"client_assertion", assertion},
              {"audience", "https://tickets.example"}}),
        headers);
  };
  EXPECT_TRUE(Refused(token_request(certified.value().assertion, {}), 400, "invalid_dpop_proof", "",
                      "certifies a DPoP key"));
  auto certified_again = client.client_assertion({.dpop_jkt = dpop_key.thumbprint()});
  ASSERT_TRUE(certified_again.ok());
  auto now = std::chrono::duration_cast<std::chrono::seconds>(
                 std::chrono::system_clock::now().time_since_epoch())
                 .count();
  std::string proof = crypto::jws_sign({{"typ", "dpop+jwt"}, {"jwk", dpop_key.public_json()}},
                                       json{{"htm", "POST"},
                                            {"htu", server().url() + "/oauth2/token"},
                                            {"iat", now},
                                            {"jti", random_hex(8)}}
                                           .dump(),
                                       dpop_key)
                          .value();
  Response bound = token_request(certified_again.value().assertion, {{"DPoP", proof}});
  ASSERT_EQ(bound.status, 200) << bound.describe();
  EXPECT_EQ(bound.json()["token_type"], "DPoP");
  EXPECT_EQ(claims_of(token_of(bound))["cnf"]["jkt"], dpop_key.thumbprint());
  EXPECT_EQ(claims_of(token_of(bound))["device_id"], device);

  Agent rs = agent("e2e-rs");
  entitle(rs, "custody:introspect", "custody");
  EXPECT_EQ(
      post_form("/oauth2/introspect", rs, {{"token", token.value().access_token}}).json()["active"],
      true);

  // The host degrades: its root filesystem is no longer encrypted.
  fs::remove(root);
  fs::create_directory_symlink(fixtures / "ubuntu-plain-iptables", root);
  for (int i = 0; i < 100; ++i) {
    shown = admin().get("/api/v1/devices/" + device).json();
    if (shown["trust"] == "untrusted") break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_EQ(shown["trust"], "untrusted") << shown.dump() << "\n" << read_file(log);
  EXPECT_EQ(post_form("/oauth2/introspect", rs, {{"token", token.value().access_token}}).json(),
            json({{"active", false}}));

  // A new token is refused, and the refusal says why.
  WorkloadResult<AccessToken> refused = token;
  for (int i = 0; i < 50; ++i) {
    refused = client.access_token({.scope = "tickets:read", .audience = "https://tickets.example"});
    if (!refused.ok()) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().status, 403) << refused.error().description;
  EXPECT_NE(refused.error().description.find("untrusted"), std::string::npos)
      << refused.error().description;
  auto events = audit_events(admin(), "target=" + device + "&action=device.trust");
  ASSERT_FALSE(events.empty());
  EXPECT_EQ(events[0]["details"]["after"], "untrusted");
  EXPECT_FALSE(events[0]["details"]["revoked"].empty());

  std::error_code ec;
  fs::remove_all(dir, ec);
}

}  // namespace
}  // namespace custody::apitest
