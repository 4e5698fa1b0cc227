// The tamper-evident audit log through the API and the CLI: signed tree heads, inclusion and
// consistency proofs checked client-side with RFC 9162 verification, the refusals of bad proof
// requests, `custody audit verify` against direct tampering with the server's database, and no
// acknowledged event lost when custodyd is SIGKILLed under load.
#include <stdio.h>
#include <sys/wait.h>

#include <atomic>
#include <filesystem>
#include <fstream>

#include "audit/merkle.h"
#include "audit/tree_head.h"
#include "common/encoding.h"
#include "crypto/jwk.h"
#include "harness.h"

namespace custody::apitest {
namespace {

using std::chrono::steady_clock;

// Heads are signed every 50 ms so that tests need not wait long for one.
Custodyd::Env fast_heads() {
  return {{"CUSTODY_AUDIT_STH_EVERY_MS", "50"}, {"CUSTODY_AUDIT_STH_EVERY_EVENTS", "100"}};
}

std::string bytes_of(const json& hex) {
  return hex_decode(hex.get<std::string>()).value_or("");
}

std::vector<std::string> hashes_of(const json& list) {
  std::vector<std::string> out;
  for (const auto& h : list) out.push_back(bytes_of(h));
  return out;
}

// The newest signed head once it covers at least `size` leaves.
json wait_for_head(Client& admin, std::uint64_t size) {
  json head;
  for (int i = 0; i < 200; ++i) {
    Response r = admin.get("/api/v1/audit/sth");
    if (r.status == 200) {
      head = r.json();
      if (head["tree_size"].get<std::uint64_t>() >= size) return head;
    }
    std::this_thread::sleep_for(Millis(20));
  }
  ADD_FAILURE() << "no signed head of size >= " << size << "; last: " << head.dump();
  return head;
}

// custody (the CLI) beside custodyd in the build tree.
std::string custody_cli() {
  auto self = std::filesystem::read_symlink("/proc/self/exe");
  return (self.parent_path().parent_path() / "src" / "custody").string();
}

// Runs `custody audit verify --store URL [extra]`; {exit code, stdout}.
std::pair<int, std::string> run_verify(const std::string& store_url,
                                       const std::string& extra = "") {
  std::string cmd =
      custody_cli() + " audit verify --json --store '" + store_url + "' " + extra + " 2>&1";
  FILE* p = ::popen(cmd.c_str(), "r");
  if (!p) return {-1, "popen failed"};
  std::string out;
  char buf[4096];
  while (std::size_t n = std::fread(buf, 1, sizeof buf, p)) out.append(buf, n);
  int status = ::pclose(p);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

TEST(AuditLogApiTest, SignedHeadAndProofsVerifyClientSide) {
  Custodyd server(fast_heads());
  CUSTODY_START_OR_SKIP(server);
  auto admin = server.admin();
  const json human = create_human(*admin);
  for (int i = 0; i < 6; ++i) create_agent(*admin, human["id"].get<std::string>());

  json head = wait_for_head(*admin, 8);
  const auto size = head["tree_size"].get<std::uint64_t>();
  // The head's signature, with the key the endpoint names.
  auto key = crypto::Jwk::parse_public(head["public_jwk"]);
  ASSERT_TRUE(key.ok()) << key.error().message;
  auto parsed = audit::tree_head_from_json(head);
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  EXPECT_TRUE(audit::verify_tree_head(*parsed, *key).ok());

  // Every event's inclusion in the signed tree, checked with RFC 9162 §2.1.3.2.
  auto events = audit_events(*admin, "order=asc");
  ASSERT_GE(events.size(), size);
  for (std::size_t i = 0; i < size; ++i) {
    const json& e = events[i];
    EXPECT_EQ(e["leaf_index"], i);
    // Against the head fetched above: a newer head may have been signed meanwhile.
    Response r = admin->get("/api/v1/audit/proof/inclusion?seq=" + e["seq"].dump() +
                            "&size=" + std::to_string(size));
    ASSERT_EQ(r.status, 200) << r.describe();
    json p = r.json();
    EXPECT_EQ(p["tree_size"], size);
    EXPECT_EQ(p["leaf_hash"], e["leaf_hash"]);
    Status ok = audit::merkle::verify_inclusion(bytes_of(e["leaf_hash"]), i, size,
                                                hashes_of(p["inclusion_path"]), parsed->root_hash);
    EXPECT_TRUE(ok.ok()) << "leaf " << i << ": " << ok.error().message;
  }

  // Consistency of an earlier size with the signed head.
  Response c = admin->get("/api/v1/audit/proof/consistency?from=3&to=" + std::to_string(size));
  ASSERT_EQ(c.status, 200) << c.describe();
  json cp = c.json();
  Status consistent = audit::merkle::verify_consistency(
      3, size, bytes_of(cp["from_root"]), parsed->root_hash, hashes_of(cp["consistency_path"]));
  EXPECT_TRUE(consistent.ok()) << consistent.error().message;
  EXPECT_EQ(cp["to_root"], head["root_hash"]);
}

TEST(AuditLogApiTest, BadProofRequestsAreClearRefusals) {
  Custodyd server(fast_heads());
  CUSTODY_START_OR_SKIP(server);
  auto admin = server.admin();
  create_human(*admin);
  json head = wait_for_head(*admin, 2);
  const std::string beyond = std::to_string(head["tree_size"].get<std::uint64_t>() + 1000);

  struct Case {
    std::string target;
    int status;
    std::string type, field;
  };
  const std::vector<Case> cases = {
      {"/api/v1/audit/proof/inclusion", 400, "invalid_argument", "seq"},
      {"/api/v1/audit/proof/inclusion?seq=0", 400, "invalid_argument", "seq"},
      {"/api/v1/audit/proof/inclusion?seq=abc", 400, "invalid_argument", "seq"},
      {"/api/v1/audit/proof/inclusion?seq=1&size=0", 400, "invalid_argument", "size"},
      {"/api/v1/audit/proof/inclusion?seq=1&size=" + beyond, 400, "invalid_argument", "size"},
      {"/api/v1/audit/proof/inclusion?seq=99999999999999999999", 400, "invalid_argument", "seq"},
      {"/api/v1/audit/proof/inclusion?seq=2&size=1", 400, "invalid_argument", "size"},
      {"/api/v1/audit/proof/inclusion?seq=999999", 404, "not_found", ""},
      {"/api/v1/audit/proof/inclusion?seq=1&x=1", 400, "invalid_argument", "x"},
      {"/api/v1/audit/proof/consistency?from=2", 400, "invalid_argument", "to"},
      {"/api/v1/audit/proof/consistency?from=0&to=1", 400, "invalid_argument", "from"},
      {"/api/v1/audit/proof/consistency?from=2&to=1", 400, "invalid_argument", "from"},
      {"/api/v1/audit/proof/consistency?from=1&to=" + beyond, 400, "invalid_argument", "to"},
      {"/api/v1/audit/events?limit=100000000", 400, "invalid_argument", "limit"},
      {"/api/v1/audit/events?order=sideways", 400, "invalid_argument", "order"},
      {"/api/v1/audit/events?cursor=bm9wZQ", 400, "invalid_argument", "cursor"},
      {"/api/v1/audit/sth?x=1", 400, "invalid_argument", ""},
  };
  for (const auto& c : cases) {
    Response r = admin->get(c.target);
    EXPECT_TRUE(
        IsProblem(r, c.status, c.type,
                  c.field.empty() ? std::nullopt : std::optional<std::string_view>(c.field)))
        << c.target;
  }
  // Same size twice is a valid, empty proof.
  Response same = admin->get("/api/v1/audit/proof/consistency?from=1&to=1");
  ASSERT_EQ(same.status, 200) << same.describe();
  EXPECT_TRUE(same.json()["consistency_path"].empty());

  // Owners may not read the log, auditors may.
  Response tok = admin->post("/api/v1/tokens", {{"role", "auditor"}});
  ASSERT_EQ(tok.status, 201) << tok.describe();
  Client auditor(server.port(), tok.json()["token"].get<std::string>());
  EXPECT_EQ(auditor.get("/api/v1/audit/sth").status, 200);
  Client nobody(server.port(), "cst_wrong_token_0000000000000000000000");
  EXPECT_TRUE(IsProblem(nobody.get("/api/v1/audit/sth"), 401, "unauthenticated"));
}

TEST(AuditLogApiTest, EventsFilterAndPageBothWays) {
  Custodyd server(fast_heads());
  CUSTODY_START_OR_SKIP(server);
  auto admin = server.admin();
  const json human = create_human(*admin);
  for (int i = 0; i < 5; ++i) create_agent(*admin, human["id"].get<std::string>());
  auto asc = audit_events(*admin, "order=asc&limit=2");
  auto desc = audit_events(*admin, "limit=2");
  ASSERT_EQ(asc.size(), desc.size());
  for (std::size_t i = 0; i < asc.size(); ++i) EXPECT_EQ(asc[i], desc[desc.size() - 1 - i]);
  for (std::size_t i = 1; i < asc.size(); ++i)
    EXPECT_EQ(asc[i]["seq"].get<int>(), asc[i - 1]["seq"].get<int>() + 1);
  EXPECT_EQ(audit_events(*admin, "type=identity.create").size(), 6u);
  EXPECT_EQ(audit_events(*admin, "chain_root=usr_nobody").size(), 0u);
  // The old endpoint is the same list.
  EXPECT_EQ(audit_events(*admin, "").size(), asc.size());
}

TEST(AuditLogApiTest, VerifyReportsTamperingWithTheDatabase) {
  Custodyd server(fast_heads());
  CUSTODY_START_OR_SKIP(server);
  auto admin = server.admin();
  const json human = create_human(*admin);
  for (int i = 0; i < 9; ++i) create_agent(*admin, human["id"].get<std::string>());
  wait_for_head(*admin, 11);
  ASSERT_EQ(server.stop(), 0);

  auto [code, out] = run_verify(server.store_url());
  ASSERT_EQ(code, 0) << out;
  // 11 creates, plus the audited 404s of /sth polled before the first head.
  EXPECT_GE(json::parse(out)["leaves"].get<int>(), 11);

  ASSERT_EQ(run_sql(server, "UPDATE audit_events SET outcome = 'conflict' WHERE seq = 4"), "");
  std::tie(code, out) = run_verify(server.store_url());
  EXPECT_EQ(code, 1) << out;
  json report = json::parse(out, nullptr, false);
  ASSERT_TRUE(report.is_object()) << out;
  EXPECT_EQ(report["problem"]["kind"], "modified");
  EXPECT_EQ(report["problem"]["seq"], 4);
  EXPECT_EQ(report["problem"]["leaf_index"], 3);

  // Deleting it instead is reported as such.
  ASSERT_EQ(run_sql(server, "DELETE FROM audit_events WHERE seq = 4"), "");
  std::tie(code, out) = run_verify(server.store_url());
  report = json::parse(out, nullptr, false);
  ASSERT_TRUE(report.is_object()) << out;
  EXPECT_EQ(report["problem"]["kind"], "deleted");
  EXPECT_EQ(report["problem"]["leaf_index"], 3);
}

TEST(AuditLogApiTest, ExportedHeadsCatchAWholeStoreRewrite) {
  std::string why = backend_skip_reason();
  if (!why.empty()) GTEST_SKIP() << why;
  auto dir = std::filesystem::temp_directory_path() / ("custody-sth-" + random_hex(6) + ".jsonl");
  Custodyd::Env env = fast_heads();
  env.emplace_back("CUSTODY_AUDIT_STH_EXPORT_FILE", dir.string());
  Custodyd server(env);
  ASSERT_TRUE(server.start());
  auto admin = server.admin();
  create_human(*admin);
  create_human(*admin);
  wait_for_head(*admin, 3);
  ASSERT_EQ(server.stop(), 0);
  ASSERT_TRUE(std::filesystem::exists(dir));

  auto [code, out] = run_verify(server.store_url(), "--from-sth " + dir.string());
  ASSERT_EQ(code, 0) << out;
  const json clean = json::parse(out);
  EXPECT_GE(clean["external_heads"].get<int>(), 1);
  // The head signed at shutdown covers every event.
  {
    std::ifstream in(dir);
    std::string line, last;
    while (std::getline(in, line))
      if (!line.empty()) last = line;
    EXPECT_EQ(json::parse(last)["tree_size"], clean["leaves"]) << last;
  }

  // Rewrite: change an event and make every stored trace agree with it.
  ASSERT_EQ(run_sql(server, "UPDATE audit_events SET actor = 'tok_innocent' WHERE seq = 2"), "");
  ASSERT_EQ(run_sql(server, "DELETE FROM audit_tree_heads"), "");
  std::tie(code, out) = run_verify(server.store_url());
  json report = json::parse(out, nullptr, false);
  ASSERT_TRUE(report.is_object()) << out;
  EXPECT_EQ(report["problem"]["kind"], "modified");
  std::tie(code, out) = run_verify(server.store_url(), "--from-sth " + dir.string());
  EXPECT_EQ(code, 1) << out;
  std::filesystem::remove(dir);
}

// custody audit export prints every event once, oldest first, in each format.
TEST(AuditLogApiTest, ExportPrintsEveryEventInEachFormat) {
  Custodyd server(fast_heads());
  CUSTODY_START_OR_SKIP(server);
  auto admin = server.admin();
  const json human = create_human(*admin);
  for (int i = 0; i < 4; ++i) create_agent(*admin, human["id"].get<std::string>());
  const auto events = audit_events(*admin, "order=asc");
  for (const std::string format : {"jsonl", "ocsf", "syslog"}) {
    const std::string cmd = custody_cli() + " audit export --format " + format + " --server " +
                            server.url() + " --token " + server.admin_token() + " 2>/dev/null";
    FILE* p = ::popen(cmd.c_str(), "r");
    ASSERT_NE(p, nullptr);
    std::vector<std::string> lines;
    char buf[65536];
    while (std::fgets(buf, sizeof buf, p)) lines.emplace_back(buf);
    ASSERT_EQ(::pclose(p), 0) << format;
    // The export ran after `events` was read, so it may hold the refusal-free tail as well.
    ASSERT_GE(lines.size(), events.size()) << format;
    for (std::size_t i = 0; i < events.size(); ++i) {
      const std::string& id = events[i]["id"].get_ref<const std::string&>();
      EXPECT_NE(lines[i].find(id), std::string::npos)
          << format << " line " << i << ": " << lines[i];
    }
    if (format == "ocsf") {
      // The first identity created is an OCSF Account Change.
      auto created = std::find_if(events.begin(), events.end(),
                                  [](const json& e) { return e["action"] == "identity.create"; });
      ASSERT_NE(created, events.end());
      EXPECT_EQ(json::parse(lines[created - events.begin()])["class_uid"], 3001);
    }
    if (format == "syslog") {
      EXPECT_EQ(lines[0].rfind("<86>1 ", 0), 0u) << lines[0];
    }
  }
}

// --follow keeps printing events committed after it started.
TEST(AuditLogApiTest, ExportFollowPrintsNewEvents) {
  Custodyd server(fast_heads());
  CUSTODY_START_OR_SKIP(server);
  auto admin = server.admin();
  const std::string cmd = "timeout -s TERM 3 " + custody_cli() +
                          " audit export --follow --poll-ms 100 --server " + server.url() +
                          " --token " + server.admin_token() + " 2>/dev/null";
  FILE* p = ::popen(cmd.c_str(), "r");
  ASSERT_NE(p, nullptr);
  std::this_thread::sleep_for(Millis(700));
  const json late = create_human(*admin, "late arrival");
  std::string out;
  char buf[65536];
  while (std::size_t n = std::fread(buf, 1, sizeof buf, p)) out.append(buf, n);
  ::pclose(p);
  EXPECT_NE(out.find(late["id"].get<std::string>()), std::string::npos) << out;
  EXPECT_NE(out.find("\"token.create\""), std::string::npos) << "the bootstrap event first";
}

// Part 2 of issue 5: nothing acknowledged is lost. SIGKILL custodyd while bounded concurrent
// clients write; after a restart every acknowledged response has its event in the log, and the
// log verifies.
TEST(AuditLogApiTest, NothingAcknowledgedIsLostOnSigkill) {
  Custodyd server(fast_heads());
  CUSTODY_START_OR_SKIP(server);
  const std::uint16_t port = server.port();
  const std::string token = server.admin_token();
  const std::string owner = create_human(*server.admin())["id"].get<std::string>();

  constexpr int kClients = 6;
  std::mutex mu;
  std::vector<std::pair<std::string, std::string>> acknowledged;  // request id, identity id
  std::atomic<int> refusals_acknowledged{0};
  std::vector<std::thread> clients;
  const auto start = steady_clock::now();
  for (int c = 0; c < kClients; ++c) {
    clients.emplace_back([&, c] {
      Client client(port, token);
      client.set_timeout(Millis(5000));
      for (int i = 0; i < 5000 && steady_clock::now() - start < Millis(1500); ++i) {
        // Mostly creates; every fifth request is refused (and audited) on purpose.
        Response r = i % 5 == 4 ? client.post("/api/v1/identities", json{{"kind", "robot"}})
                                : client.post("/api/v1/identities",
                                              owned_body("agent", owner, "c" + std::to_string(c)));
        if (r.status == 0) break;
        std::lock_guard lock(mu);
        if (r.status == 201) {
          acknowledged.emplace_back(r.header("X-Request-Id"), r.json().value("id", ""));
        } else if (r.status == 400) {
          acknowledged.emplace_back(r.header("X-Request-Id"), "");
          ++refusals_acknowledged;
        }
      }
    });
  }
  std::this_thread::sleep_for(Millis(900));
  server.kill9();
  for (auto& t : clients) t.join();
  ASSERT_GT(acknowledged.size(), 20u);
  ASSERT_GT(refusals_acknowledged.load(), 0);

  ASSERT_TRUE(server.restart());
  auto admin = server.admin();
  std::map<std::string, json> by_request;
  for (const json& e : audit_events(*admin, "order=asc")) by_request[e["request_id"]] = e;
  std::vector<std::string> lost;
  for (const auto& [rid, id] : acknowledged) {
    auto it = by_request.find(rid);
    if (it == by_request.end() || (!id.empty() && it->second["target"] != id) ||
        it->second["leaf_index"].is_null())
      lost.push_back(rid + " " + id);
  }
  EXPECT_TRUE(lost.empty()) << lost.size() << " of " << acknowledged.size()
                            << " acknowledged requests have no event, e.g. " << lost.front();
  // The restarted server's tree holds every event: its next head covers them all.
  json head = wait_for_head(*admin, by_request.size());
  EXPECT_EQ(head["tree_size"], by_request.size());
  ASSERT_EQ(server.stop(), 0);
  auto [code, out] = run_verify(server.store_url());
  EXPECT_EQ(code, 0) << out;
  RecordProperty("acknowledged", static_cast<int>(acknowledged.size()));
}

}  // namespace
}  // namespace custody::apitest
