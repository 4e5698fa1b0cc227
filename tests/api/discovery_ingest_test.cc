// Discovery reports through the API (docs/find-agents.md): device-signed uploads deduplicated
// across devices, drift of a registered component, the registration workflow, the shadow-agent
// inventory in JSON and CSV, the refusals (each with its reason and audit event), and that no
// secret value planted in the scanner's fixtures reaches the store, the logs or the audit log.
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <set>
#include <sstream>

#include "crypto/jwk.h"
#include "crypto/jws.h"
#include "oauth_fixture.h"

namespace custody::apitest {
namespace {

struct TestDevice {
  std::string id;
  crypto::Jwk key;
  std::string owner;
};

// A finding as the scanner reports it (docs/discovery.md, "The report").
json finding(const std::string& name, const std::vector<std::string>& args,
             const std::string& config_file = "~/.cursor/mcp.json") {
  return {{"kind", "mcp-server"},
          {"client", "cursor"},
          {"scope", "user"},
          {"config_file", config_file},
          {"server_name", name},
          {"transport", "stdio"},
          {"transport_inferred", true},
          {"enabled", true},
          {"command", "npx"},
          {"args", args},
          {"env_names", {"GITHUB_PERSONAL_ACCESS_TOKEN"}},
          {"header_names", json::array()},
          {"fingerprint", random_hex(32)},
          {"secrets",
           {{{"field", "mcpServers." + name + ".env.GITHUB_PERSONAL_ACCESS_TOKEN"},
             {"classification", "literal"},
             {"pattern", "github-token"},
             {"length", 40},
             {"hmac", random_hex(32)}}}},
          {"risks",
           {{{"signal", "plaintext-secret"}, {"detail", "1 literal credential(s)"}},
            {{"signal", "unpinned-package"}, {"detail", "npx of a package without a version"}}}},
          {"running_pids", json::array()}};
}

json report(std::vector<json> findings) {
  return {{"schema", "custody.discovery.report/v1"},
          {"root", "/"},
          {"device_id_source", "machine-id"},
          {"scanned_at", "2026-11-30T04:03:17Z"},
          {"findings", json(std::move(findings))},
          {"credential_stores", json::array()},
          {"processes", json::array()},
          {"warnings", json::array()},
          {"stats", json::object()}};
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// One server for the suite, with a small report cap so that "oversized" is cheap to build.
class DiscoveryIngest : public ::testing::Test {
 protected:
  static constexpr int kMaxReportBytes = 256 * 1024;

  void SetUp() override {
    std::string why = backend_skip_reason();
    if (!why.empty()) GTEST_SKIP() << why;
    if (!server_) {
      Custodyd::Env env = {{"CUSTODY_DEVICE_MAX_REPORT_BYTES", std::to_string(kMaxReportBytes)}};
      for (auto& e : extra_env()) env.push_back(std::move(e));
      auto s = std::make_unique<Custodyd>(std::move(env));
      ASSERT_TRUE(s->start()) << "custodyd did not start";
      server_ = std::move(s);
    }
    admin_ = server_->admin();
  }
  static void TearDownTestSuite() { server_.reset(); }
  // More configuration for a suite's server (each suite starts its own).
  virtual Custodyd::Env extra_env() const { return {}; }

  Client& admin() { return *admin_; }
  Custodyd& server() { return *server_; }

  static std::string sign(const crypto::Jwk& key, const json& header, const json& claims) {
    auto jws = crypto::jws_sign(header, claims.dump(), key);
    EXPECT_TRUE(jws.ok());
    return jws.ok() ? *jws : std::string();
  }

  Response post_jwt(const std::string& path, const std::string& body,
                    const std::string& type = "application/jwt") {
    Client c(server().port());
    return c.request_raw("POST", path, body, {{"Content-Type", type}});
  }

  TestDevice enrol(const std::string& owner) {
    TestDevice d{"", crypto::Jwk::generate(crypto::KeyType::kEcP256).value(), owner};
    Response t = admin().post("/api/v1/devices/enrolment-tokens", json{{"owner", owner}});
    EXPECT_EQ(t.status, 201) << t.describe();
    auto now = unix_now();
    std::string proof = sign(d.key, {{"typ", "custody-enrol+jwt"}, {"jwk", d.key.public_json()}},
                             {{"aud", server().url()},
                              {"iat", now},
                              {"exp", now + 60},
                              {"jti", random_hex(8)},
                              {"enrolment_token", t.json().value("token", "")},
                              {"hostname", "laptop-" + owner.substr(owner.size() - 4)},
                              {"platform", "linux"}});
    Response r = post_jwt("/api/v1/devices/enrol", proof);
    EXPECT_EQ(r.status, 201) << r.describe();
    d.id = r.json().value("device_id", "");
    return d;
  }

  std::string discovery_jwt(const TestDevice& d, const json& rep, const json& extra = {}) {
    auto now = unix_now();
    json c = {{"iss", d.id},          {"aud", server().url()}, {"iat", now},   {"exp", now + 60},
              {"jti", random_hex(8)}, {"req", "discovery"},    {"report", rep}};
    if (extra.is_object()) c.update(extra);
    return sign(d.key, {{"typ", "custody-device+jwt"}, {"kid", d.id}}, c);
  }

  Response upload(const TestDevice& d, const json& rep) {
    return post_jwt("/api/v1/devices/" + d.id + "/discovery", discovery_jwt(d, rep));
  }

  std::string human() { return create_human(admin())["id"].get<std::string>(); }

  // Registers discovered component `id` with one entitlement (`scope` at `audience`) and gives it
  // a client secret; an empty secret when either step failed (the failure is reported).
  Agent register_as_client(const std::string& id, const std::string& scope,
                           const std::string& audience) {
    Response reg =
        admin().post("/api/v1/discovery/findings/" + id + "/register",
                     json{{"entitlements", {{{"scope", scope}, {"resource", audience}}}}});
    EXPECT_EQ(reg.status, 200) << reg.describe();
    Response cred =
        admin().post("/api/v1/identities/" + id + "/credentials", json{{"type", "client_secret"}});
    EXPECT_EQ(cred.status, 201) << cred.describe();
    return Agent{id, reg.status == 200 ? cred.json().value("secret", "") : ""};
  }

  Response client_credentials(const Agent& client, const std::string& audience) {
    Client c(server().port());
    return c.request_raw(
        "POST", "/oauth2/token",
        form({{"grant_type", "client_credentials"}, {"audience", audience}}),
        {{"Content-Type", "application/x-www-form-urlencoded"}, {"Authorization", client.basic()}});
  }

  // A refusal with this status whose detail names the reason, audited as device.discovery.
  ::testing::AssertionResult Refused(const Response& r, int status, std::string_view reason) {
    if (r.status != status)
      return ::testing::AssertionFailure() << "expected " << status << ", got " << r.describe();
    if (r.json().value("detail", "").find(reason) == std::string::npos)
      return ::testing::AssertionFailure() << "detail lacks \"" << reason << "\": " << r.describe();
    std::string outcome = status == 401 ? "unauthenticated" : "invalid_argument";
    auto event = find_audit_event(admin(), r, outcome, "device.discovery");
    if (!event) return ::testing::AssertionFailure() << "refusal not audited: " << r.describe();
    if ((*event)["details"].value("reason", "").find(reason) == std::string::npos)
      return ::testing::AssertionFailure() << "audited reason differs: " << event->dump();
    return ::testing::AssertionSuccess();
  }

  static std::unique_ptr<Custodyd> server_;
  std::unique_ptr<Client> admin_;
};

std::unique_ptr<Custodyd> DiscoveryIngest::server_;

TEST_F(DiscoveryIngest, TwoDevicesReportOneDeduplicatedFindingLinkedToBothAndTheirOwners) {
  std::string alice = human(), bob = human();
  TestDevice a = enrol(alice), b = enrol(bob);
  std::string pkg = "@acme/mcp-" + random_hex(4);
  // The same launch definition on two devices: different (salted) fingerprints, other files.
  Response ra = upload(a, report({finding("github", {"-y", pkg})}));
  ASSERT_EQ(ra.status, 200) << ra.describe();
  ASSERT_EQ(ra.json()["created"].size(), 1u) << ra.describe();
  std::string id = ra.json()["created"][0];
  EXPECT_EQ(id.rfind("mcp_", 0), 0u);
  Response rb = upload(b, report({finding("gh", {"-y", pkg}, "~/.config/Code/User/mcp.json")}));
  ASSERT_EQ(rb.status, 200) << rb.describe();
  EXPECT_TRUE(rb.json()["created"].empty()) << rb.describe();
  EXPECT_EQ(rb.json()["known"], 1);

  Response f = admin().get("/api/v1/discovery/findings/" + id);
  ASSERT_EQ(f.status, 200) << f.describe();
  EXPECT_EQ(f.json()["state"], "discovered");
  EXPECT_EQ(f.json()["kind"], "mcp_server");
  EXPECT_EQ(f.json()["owner"], alice);  // the first reporting device's owner
  std::set<std::string> devices, owners;
  const json f_body = f.json();
  for (const auto& d : f_body["devices"]) {
    devices.insert(d["device_id"]);
    owners.insert(d["device_owner"]);
    EXPECT_FALSE(d["first_seen_at"].get<std::string>().empty());
    EXPECT_FALSE(d["last_seen_at"].get<std::string>().empty());
  }
  EXPECT_EQ(devices, (std::set<std::string>{a.id, b.id}));
  EXPECT_EQ(owners, (std::set<std::string>{alice, bob}));

  // The identity is a directory identity in state discovered.
  Response ident = admin().get("/api/v1/identities/" + id);
  ASSERT_EQ(ident.status, 200) << ident.describe();
  EXPECT_EQ(ident.json()["state"], "discovered");

  // Filters: by device and by owner.
  Response by_device = admin().get("/api/v1/discovery/findings?device=" + b.id);
  ASSERT_EQ(by_device.status, 200) << by_device.describe();
  ASSERT_EQ(by_device.json()["items"].size(), 1u);
  EXPECT_EQ(by_device.json()["items"][0]["id"], id);
  Response by_owner = admin().get("/api/v1/discovery/findings?owner=" + alice + "&kind=mcp_server");
  ASSERT_EQ(by_owner.status, 200);
  EXPECT_EQ(by_owner.json()["items"].size(), 1u);

  // The same report again: known, not new; last_seen moves, the upload is audited.
  Response again = upload(a, report({finding("github", {"-y", pkg})}));
  ASSERT_EQ(again.status, 200);
  EXPECT_TRUE(again.json()["created"].empty());
  EXPECT_TRUE(RefusalAudited(admin(), again, "success", "device.discovery"));
}

TEST_F(DiscoveryIngest, RegistrationFlowDiscoveredPendingActiveAndRejectRetires) {
  std::string alice = human(), bob = human();
  TestDevice a = enrol(alice), b = enrol(bob);
  std::string pkg = "@acme/tools-" + random_hex(4);
  Response r =
      upload(a, report({finding("tools", {"-y", pkg}), finding("junk", {"-y", pkg + "-junk"})}));
  ASSERT_EQ(r.status, 200) << r.describe();
  ASSERT_EQ(r.json()["created"].size(), 2u);
  std::string tools = r.json()["created"][0], junk = r.json()["created"][1];

  // discovered → pending: the owner is reassigned to bob.
  Response p = admin().post("/api/v1/discovery/findings/" + tools + "/register",
                            json{{"owner", bob}, {"activate", false}});
  ASSERT_EQ(p.status, 200) << p.describe();
  EXPECT_EQ(p.json()["state"], "pending");
  EXPECT_EQ(p.json()["owner"], bob);
  // pending → active with an entitlement restricted to one tool.
  Response act = admin().post("/api/v1/discovery/findings/" + tools + "/register",
                              json{{"entitlements",
                                    {{{"scope", "tools:call"},
                                      {"resource", "https://mcp.example/tools"},
                                      {"tools", {"search"}}}}}});
  ASSERT_EQ(act.status, 200) << act.describe();
  EXPECT_EQ(act.json()["state"], "active");
  EXPECT_EQ(act.json()["registered_definition_hash"], act.json()["definition_hash"]);
  Response ents = admin().get("/api/v1/identities/" + tools + "/entitlements");
  ASSERT_EQ(ents.status, 200) << ents.describe();
  ASSERT_EQ(ents.json()["items"].size(), 1u) << ents.describe();
  EXPECT_EQ(ents.json()["items"][0]["tools"], json::array({"search"}));
  EXPECT_EQ(admin().get("/api/v1/identities/" + tools).json()["state"], "active");
  Response twice =
      admin().post("/api/v1/discovery/findings/" + tools + "/register", json::object());
  EXPECT_TRUE(IsProblem(twice, 409, "conflict")) << twice.describe();
  EXPECT_TRUE(RefusalAudited(admin(), twice, "conflict", "discovery.register"));

  // Reject: retired, and a later report (another device) does not bring it back as new.
  Response rej = admin().post("/api/v1/discovery/findings/" + junk + "/reject",
                              json{{"reason", "not approved for use"}});
  ASSERT_EQ(rej.status, 200) << rej.describe();
  EXPECT_EQ(rej.json()["state"], "retired");
  EXPECT_EQ(rej.json()["reject_reason"], "not approved for use");
  Response later = upload(b, report({finding("junk", {"-y", pkg + "-junk"})}));
  ASSERT_EQ(later.status, 200) << later.describe();
  EXPECT_TRUE(later.json()["created"].empty()) << later.describe();
  EXPECT_EQ(admin().get("/api/v1/discovery/findings/" + junk).json()["state"], "retired");
  Response reg = admin().post("/api/v1/discovery/findings/" + junk + "/register", json::object());
  EXPECT_TRUE(IsProblem(reg, 409, "conflict")) << reg.describe();
  // Listing by state.
  Response retired = admin().get("/api/v1/discovery/findings?state=retired&device=" + b.id);
  ASSERT_EQ(retired.status, 200);
  ASSERT_EQ(retired.json()["items"].size(), 1u);
  EXPECT_EQ(retired.json()["items"][0]["id"], junk);
  Response bad = admin().get("/api/v1/discovery/findings?state=sideways");
  EXPECT_TRUE(IsProblem(bad, 400, "invalid_argument", "state")) << bad.describe();
}

TEST_F(DiscoveryIngest, AnEditedConfigOfARegisteredServerIsDrift) {
  std::string alice = human();
  TestDevice a = enrol(alice);
  std::string pkg = "@acme/fs-" + random_hex(4);
  Response r = upload(a, report({finding("fs", {"-y", pkg + "@1.0.0"})}));
  ASSERT_EQ(r.status, 200) << r.describe();
  std::string id = r.json()["created"][0];
  const std::string audience = "https://mcp.example/fs-" + random_hex(4);
  // It authenticates as an OAuth client and gets tokens while its definition is the approved one.
  Agent client = register_as_client(id, "files:read", audience);
  ASSERT_FALSE(client.secret.empty());
  auto token = [&] { return client_credentials(client, audience); };
  Response before = token();
  ASSERT_EQ(before.status, 200) << before.describe();

  // Same client, file and name; an argument changed.
  Response d = upload(a, report({finding("fs", {"-y", pkg + "@6.6.6", "--allow-write", "/"})}));
  ASSERT_EQ(d.status, 200) << d.describe();
  EXPECT_TRUE(d.json()["created"].empty()) << d.describe();
  ASSERT_EQ(d.json()["drifted"], json::array({id})) << d.describe();
  Response f = admin().get("/api/v1/discovery/findings/" + id);
  EXPECT_EQ(f.json()["state"], "active");
  EXPECT_TRUE(f.json()["drifted"].get<bool>());
  EXPECT_NE(f.json()["drifted_definition_hash"], f.json()["registered_definition_hash"]);
  auto events = audit_events(admin(), "target=" + id + "&action=discovery.drift");
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0]["actor"], a.id);

  // discovery.enforcement deny (the default): a drifted component gets no token, and the
  // refusal is audited with its reason.
  Response refused = token();
  ASSERT_EQ(refused.status, 400) << refused.describe();
  EXPECT_EQ(refused.json()["error"], "invalid_grant");
  EXPECT_NE(refused.json().value("error_description", "").find("(drift)"), std::string::npos)
      << refused.describe();
  auto denied = find_audit_event(admin(), refused, "invalid_grant", "oauth.token");
  ASSERT_TRUE(denied.has_value()) << refused.describe();
  EXPECT_NE((*denied)["details"].value("reason", "").find("drift"), std::string::npos);

  // The shadow inventory lists it as drifted.
  Response shadow = admin().get("/api/v1/inventory/shadow");
  ASSERT_EQ(shadow.status, 200);
  bool listed = false;
  const json shadow_body = shadow.json();
  for (const auto& row : shadow_body["items"])
    if (row["identity"] == id) {
      listed = true;
      EXPECT_EQ(row["risk_signals"][0], "drifted");
    }
  EXPECT_TRUE(listed) << shadow.describe();

  // Registering again approves the new definition: no longer drifted.
  Response again = admin().post("/api/v1/discovery/findings/" + id + "/register", json::object());
  ASSERT_EQ(again.status, 200) << again.describe();
  EXPECT_FALSE(again.json()["drifted"].get<bool>());
  EXPECT_EQ(token().status, 200);
  Response same = upload(a, report({finding("fs", {"-y", pkg + "@6.6.6", "--allow-write", "/"})}));
  EXPECT_TRUE(same.json()["drifted"].empty()) << same.describe();
}

TEST_F(DiscoveryIngest, ShadowInventoryAsJsonAndCsv) {
  std::string alice = human();
  TestDevice a = enrol(alice);
  std::string pkg = "@acme/shadow-" + random_hex(4);
  std::string awkward = "gh, \"beta\"";
  Response r = upload(a, report({finding(awkward, {"-y", pkg})}));
  ASSERT_EQ(r.status, 200) << r.describe();
  std::string id = r.json()["created"][0];

  Response j = admin().get("/api/v1/inventory/shadow?format=json");
  ASSERT_EQ(j.status, 200) << j.describe();
  json row;
  const json j_body = j.json();
  for (const auto& item : j_body["items"])
    if (item["identity"] == id) row = item;
  ASSERT_TRUE(row.is_object()) << j.describe();
  EXPECT_EQ(row["device_id"], a.id);
  EXPECT_EQ(row["device_owner"], alice);
  EXPECT_EQ(row["state"], "discovered");
  EXPECT_EQ(row["risk_signals"], json({"not-registered", "plaintext-secret", "unpinned-package"}));

  Response csv = admin().get("/api/v1/inventory/shadow?format=csv");
  ASSERT_EQ(csv.status, 200) << csv.describe();
  EXPECT_EQ(csv.header("Content-Type").rfind("text/csv", 0), 0u) << csv.header("Content-Type");
  EXPECT_EQ(csv.body.rfind("device_owner,device_id,hostname,identity,name,", 0), 0u) << csv.body;
  // The name holds a comma and quotes: quoted, quotes doubled (RFC 4180).
  std::string expected = alice + "," + a.id + ",";
  auto at = csv.body.find(expected);
  ASSERT_NE(at, std::string::npos) << csv.body;
  std::string line = csv.body.substr(at, csv.body.find("\r\n", at) - at);
  EXPECT_NE(line.find(",\"gh, \"\"beta\"\"\",mcp_server,discovered,"), std::string::npos) << line;
  EXPECT_NE(line.find("not-registered;plaintext-secret;unpinned-package"), std::string::npos)
      << line;

  Client c(server().port(), server().admin_token());
  Response accept =
      c.request("GET", "/api/v1/inventory/shadow", std::nullopt, {{"Accept", "text/csv"}});
  ASSERT_EQ(accept.status, 200);
  EXPECT_EQ(accept.header("Content-Type").rfind("text/csv", 0), 0u);

  // Registered components leave the shadow inventory.
  ASSERT_EQ(admin().post("/api/v1/discovery/findings/" + id + "/register", json::object()).status,
            200);
  Response after = admin().get("/api/v1/inventory/shadow");
  const json after_body = after.json();
  for (const auto& item : after_body["items"]) EXPECT_NE(item["identity"], id);
}

// The scanner's own fixtures: 39 planted secrets (tests/discovery/fixtures/planted-secrets.txt).
TEST_F(DiscoveryIngest, NoPlantedSecretReachesTheStoreTheLogsOrTheAuditLog) {
  std::string fixtures = std::string(CUSTODY_SOURCE_DIR) + "/tests/discovery/fixtures";
  std::string cmd = std::string(CUSTODY_AGENT_BIN) + " scan --root " + fixtures +
                    "/root --project-root /home/alice/src --device-id leak-test --json";
  std::string out;
  {
    FILE* p = popen(cmd.c_str(), "r");
    ASSERT_NE(p, nullptr);
    char buf[65536];
    std::size_t n;
    while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
    ASSERT_EQ(pclose(p), 0) << cmd;
  }
  json rep = json::parse(out);
  ASSERT_GT(rep["findings"].size(), 20u);
  TestDevice a = enrol(human());
  Response r = upload(a, rep);
  ASSERT_EQ(r.status, 200) << r.describe();

  std::vector<std::string> secrets;
  std::ifstream in(fixtures + "/planted-secrets.txt");
  for (std::string line; std::getline(in, line);)
    if (!line.empty() && line[0] != '#') secrets.push_back(line);
  ASSERT_GT(secrets.size(), 30u);

  std::string audit;
  for (const auto& e : audit_events(admin(), "limit=1000")) audit += e.dump();
  std::string findings;
  Response listed = admin().get("/api/v1/discovery/findings?limit=1000");
  ASSERT_EQ(listed.status, 200) << listed.describe();
  const json listed_body = listed.json();
  for (const auto& f : listed_body["items"]) findings += f.dump();
  std::string shadow = admin().get("/api/v1/inventory/shadow?format=csv").body;
  std::string logs = server().logs();
  std::string store;
  if (test_backend() == "sqlite") {
    std::string db = server().store_url().substr(std::string("sqlite:").size());
    store = read_file(db) + read_file(db + "-wal");
    ASSERT_GT(store.size(), 0u);
  }
  ASSERT_NE(findings.find("github"), std::string::npos);  // the upload is there
  // custodyd recomputes the scanner's unsalted definition hash from the reported members.
  std::set<std::string> reported, stored;
  for (const auto& f : rep["findings"]) reported.insert(f.value("definition_hash", ""));
  json mine = admin().get("/api/v1/discovery/findings?limit=1000&device=" + a.id).json();
  for (const auto& f : mine["items"]) stored.insert(f.value("definition_hash", "-"));
  ASSERT_FALSE(stored.empty());
  for (const auto& h : stored) EXPECT_TRUE(reported.count(h)) << h;
  for (const auto& s : secrets) {
    EXPECT_EQ(audit.find(s), std::string::npos) << "audit log holds a planted secret";
    EXPECT_EQ(findings.find(s), std::string::npos) << "findings hold a planted secret";
    EXPECT_EQ(shadow.find(s), std::string::npos) << "shadow report holds a planted secret";
    EXPECT_EQ(logs.find(s), std::string::npos) << "logs hold a planted secret";
    EXPECT_EQ(store.find(s), std::string::npos) << "the store holds a planted secret";
  }
}

// custody-agent enrol, then scan --upload: the real agent signs and uploads the fixture scan.
TEST_F(DiscoveryIngest, CustodyAgentScanUploadEndToEnd) {
  std::string owner = human();
  Response t = admin().post("/api/v1/devices/enrolment-tokens", json{{"owner", owner}});
  ASSERT_EQ(t.status, 201) << t.describe();
  std::string state = server().data_dir() + "/agent-state-" + random_hex(4);
  std::string fixtures = std::string(CUSTODY_SOURCE_DIR) + "/tests/discovery/fixtures/root";
  auto run = [](const std::string& cmd) {
    std::string out;
    FILE* p = popen((cmd + " 2>&1").c_str(), "r");
    if (!p) return std::make_pair(-1, out);
    char buf[4096];
    std::size_t n;
    while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
    return std::make_pair(pclose(p), out);
  };
  auto [enrol_rc, enrol_out] =
      run(std::string(CUSTODY_AGENT_BIN) + " enrol --server " + server().url() + " --token " +
          t.json()["token"].get<std::string>() + " --state-dir " + state + " --hostname e2e");
  ASSERT_EQ(enrol_rc, 0) << enrol_out;
  auto [rc, out] = run(std::string(CUSTODY_AGENT_BIN) + " scan --upload --no-processes --root " +
                       fixtures + " --state-dir " + state);
  ASSERT_EQ(rc, 0) << out;
  json answer = json::parse(out, nullptr, false);
  ASSERT_TRUE(answer.is_object()) << out;
  EXPECT_GT(answer.value("findings", 0), 20) << out;
  std::string device = answer.value("device_id", "");
  Response mine = admin().get("/api/v1/discovery/findings?device=" + device + "&limit=1000");
  ASSERT_EQ(mine.status, 200);
  EXPECT_GT(mine.json()["items"].size(), 10u);
}

TEST_F(DiscoveryIngest, RefusalsAreAuditedWithTheirReason) {
  TestDevice a = enrol(human());
  json rep = report({finding("x", {"-y", "@acme/refused-" + random_hex(4)})});
  const std::string path = "/api/v1/devices/" + a.id + "/discovery";

  // Unsigned: a bare JSON report, and a JWT signed by another key.
  EXPECT_TRUE(Refused(post_jwt(path, rep.dump(), "application/json"), 401, "token"));
  crypto::Jwk other = crypto::Jwk::generate(crypto::KeyType::kEcP256).value();
  auto now = unix_now();
  std::string forged = sign(other, {{"typ", "custody-device+jwt"}, {"kid", a.id}},
                            {{"iss", a.id},
                             {"aud", server().url()},
                             {"iat", now},
                             {"exp", now + 60},
                             {"jti", random_hex(8)},
                             {"req", "discovery"},
                             {"report", rep}});
  EXPECT_TRUE(Refused(post_jwt(path, forged), 401, "signature does not verify"));
  // Another request's req claim.
  EXPECT_TRUE(Refused(post_jwt(path, discovery_jwt(a, rep, {{"req", "workloads"}})), 401,
                      "req claim must be \"discovery\""));
  // Replayed.
  std::string jwt = discovery_jwt(a, rep);
  ASSERT_EQ(post_jwt(path, jwt).status, 200);
  EXPECT_TRUE(Refused(post_jwt(path, jwt), 401, "already used"));
  // Malformed reports: wrong schema, a bad member (named), no report.
  EXPECT_TRUE(
      Refused(post_jwt(path, discovery_jwt(a, json{{"schema", "v0"}})), 400, "report.schema"));
  json bad = rep;
  bad["findings"][0]["fingerprint"] = "not hex";
  EXPECT_TRUE(
      Refused(post_jwt(path, discovery_jwt(a, bad)), 400, "report.findings[0].fingerprint"));
  json bad_kind = rep;
  bad_kind["findings"][0]["args"] = "rm -rf /";
  EXPECT_TRUE(Refused(post_jwt(path, discovery_jwt(a, bad_kind)), 400, "report.findings[0].args"));
  // Oversized: beyond device.max_report_bytes (but within the HTTP body limit).
  json big = report({});
  for (int i = 0; i < 200; ++i)
    big["findings"].push_back(finding("big" + std::to_string(i), {"-y", std::string(1500, 'a')}));
  EXPECT_TRUE(Refused(post_jwt(path, discovery_jwt(a, big)), 401, "token is larger than"));
  // A revoked device.
  ASSERT_EQ(admin().post("/api/v1/devices/" + a.id + "/revoke", json{{"reason", "lost"}}).status,
            200);
  EXPECT_TRUE(Refused(post_jwt(path, discovery_jwt(a, rep)), 401, "is revoked"));
}

// limits.max_body_bytes smaller than a report: the upload endpoint still takes reports up to
// device.max_report_bytes, and every other endpoint keeps the small limit.
class DiscoveryBodyLimit : public DiscoveryIngest {
 protected:
  Custodyd::Env extra_env() const override { return {{"CUSTODY_LIMITS_MAX_BODY_BYTES", "65536"}}; }
};

TEST_F(DiscoveryBodyLimit, ReportsLargerThanTheGeneralBodyLimitAreAccepted) {
  TestDevice a = enrol(human());
  std::vector<json> findings;
  for (int i = 0; i < 100; ++i)
    findings.push_back(finding("big" + std::to_string(i),
                               {"-y", "@acme/big-" + random_hex(4) + std::string(600, 'a')}));
  std::string jwt = discovery_jwt(a, report(findings));
  ASSERT_GT(jwt.size(), 65536u);
  ASSERT_LT(jwt.size(), static_cast<std::size_t>(kMaxReportBytes));
  Response r = post_jwt("/api/v1/devices/" + a.id + "/discovery", jwt);
  ASSERT_EQ(r.status, 200) << r.describe();
  EXPECT_EQ(r.json()["created"].size(), 100u);
  Client c(server().port(), server().admin_token());
  Response other = c.request_raw("POST", "/api/v1/identities", std::string(70000, ' '),
                                 {{"Content-Type", "application/json"}});
  EXPECT_EQ(other.status, 413) << other.describe();
}

// discovery.enforcement: alert — a drifted component still gets tokens, and the token's audit
// event says so.
// The token path's directory reads are cached until the directory changes (store/tracked_cache.h).
// A report that sees a registered component again only moves its last_seen_at, which is no
// change of what a token request reads: the cache stays. Drift is one, and the very next token
// request is refused for it.
TEST_F(DiscoveryIngest, SeeingARegisteredComponentAgainKeepsTheTokenCacheAndDriftDoesNot) {
  TestDevice a = enrol(human());
  std::string pkg = "@acme/cached-" + random_hex(4);
  Response r = upload(a, report({finding("cached", {"-y", pkg + "@1"})}));
  ASSERT_EQ(r.status, 200) << r.describe();
  std::string id = r.json()["created"][0];
  const std::string audience = "https://mcp.example/cached-" + random_hex(4);
  Agent client = register_as_client(id, "x:read", audience);
  ASSERT_FALSE(client.secret.empty());
  auto token = [&] { return client_credentials(client, audience); };
  auto cache_counter = [&](const std::string& name) -> long long {
    Client c(server().port());
    const double value =
        metric_value(c.get("/metrics").body, "custody_store_read_cache_" + name + "_total");
    EXPECT_GE(value, 0) << name << " is not in /metrics";
    return static_cast<long long>(value);
  };
  ASSERT_EQ(token().status, 200);  // fills the cache with the client's rows

  const long long resets = cache_counter("resets");
  const long long hits = cache_counter("hits");
  Response again = upload(a, report({finding("cached", {"-y", pkg + "@1"})}));
  ASSERT_EQ(again.status, 200) << again.describe();
  Response listed = admin().get("/api/v1/discovery/findings/" + id);
  ASSERT_EQ(listed.status, 200) << listed.describe();
  ASSERT_EQ(token().status, 200);
  EXPECT_EQ(cache_counter("resets"), resets) << "a sighting emptied the cache";
  EXPECT_GT(cache_counter("hits"), hits);

  Response drift = upload(a, report({finding("cached", {"-y", pkg + "@2"})}));
  ASSERT_EQ(drift.json()["drifted"], json::array({id})) << drift.describe();
  Response refused = token();
  EXPECT_GT(cache_counter("resets"), resets);  // counted by the first read that sees the change
  EXPECT_EQ(refused.status, 400) << refused.describe();
  EXPECT_EQ(refused.json().value("error", ""), "invalid_grant") << refused.describe();
  EXPECT_NE(refused.json().value("error_description", "").find("drift"), std::string::npos)
      << refused.describe();
}

class DiscoveryAlertOnly : public DiscoveryIngest {
 protected:
  Custodyd::Env extra_env() const override { return {{"CUSTODY_DISCOVERY_ENFORCEMENT", "alert"}}; }
};

TEST_F(DiscoveryAlertOnly, ADriftedComponentGetsATokenWithAnAuditedAlert) {
  TestDevice a = enrol(human());
  std::string pkg = "@acme/alert-" + random_hex(4);
  Response r = upload(a, report({finding("alert", {"-y", pkg + "@1"})}));
  ASSERT_EQ(r.status, 200) << r.describe();
  std::string id = r.json()["created"][0];
  const std::string audience = "https://mcp.example/alert-" + random_hex(4);
  Agent client = register_as_client(id, "x:read", audience);
  ASSERT_FALSE(client.secret.empty());
  Response d = upload(a, report({finding("alert", {"-y", pkg + "@2"})}));
  ASSERT_EQ(d.json()["drifted"], json::array({id})) << d.describe();
  Response token = client_credentials(client, audience);
  ASSERT_EQ(token.status, 200) << token.describe();
  auto event = find_audit_event(admin(), token, "success", "oauth.token");
  ASSERT_TRUE(event.has_value()) << token.describe();
  EXPECT_NE((*event)["details"].value("discovery_alert", "").find("drifted"), std::string::npos)
      << event->dump();
}

}  // namespace
}  // namespace custody::apitest
