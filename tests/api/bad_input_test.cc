// Bad input, table-driven: every refusal has the documented status and problem type (and field),
// is audited with its outcome, and changes nothing (docs/api.md, Errors).
#include "harness.h"

namespace custody::apitest {
namespace {

struct Case {
  std::string name;
  std::string method;
  std::string target;
  std::string body;
  Headers headers;  // besides Authorization; a body gets Content-Type only when listed here
  int status;
  std::string type;  // problem type suffix; empty: whatever it is, audited under that outcome
  std::optional<std::string> field;
  std::string action;             // the audited action
  bool echoes_request_id = true;  // false when the request head could not be read
};

const Headers kJson = {{"Content-Type", "application/json"}};

// {"labels": {"a": {"a": … }}} nested `depth` objects deep in total.
std::string nested(int depth) {
  std::string open, close;
  for (int i = 1; i < depth - 1; ++i) {
    open += "{\"a\":";
    close += "}";
  }
  return R"({"kind":"human","display_name":"deep","labels":)" + open + "{}" + close + "}";
}

class BadInputTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string why = backend_skip_reason();
    if (!why.empty()) GTEST_SKIP() << why;
    if (!server_) {
      auto server = std::make_unique<Custodyd>(Custodyd::Env{
          {"CUSTODY_LIMITS_MAX_BODY_BYTES", "2048"},
          {"CUSTODY_LIMITS_MAX_JSON_DEPTH", "8"},
          {"CUSTODY_LIMITS_MAX_HEADER_BYTES", "2048"},
      });
      ASSERT_TRUE(server->start());
      server_ = std::move(server);
      Client admin(server_->port(), server_->admin_token());
      identity_ = create_human(admin, "Existing");
    }
    admin_ = server_->admin();
  }
  static void TearDownTestSuite() { server_.reset(); }

  // Sends the case, then checks the answer, its audit event, and that nothing changed.
  void check(const Case& c) {
    SCOPED_TRACE(c.name);
    std::size_t before = all_identities(*admin_).size();
    json existing = admin_->get(identity_path()).json();

    std::string rid = "bad-input-" + random_hex(6);
    Headers headers = c.headers;
    headers.emplace_back("X-Request-Id", rid);
    Client client(server_->port(), server_->admin_token(), /*keep_alive=*/false);
    Response r = client.request_raw(c.method, c.target, c.body, headers);

    if (c.type.empty()) {
      EXPECT_EQ(r.status, c.status) << r.describe();
      EXPECT_EQ(r.header("Content-Type").rfind("application/problem+json", 0), 0u) << r.describe();
    } else {
      EXPECT_TRUE(IsProblem(r, c.status, c.type, c.field));
    }
    if (c.echoes_request_id) {
      EXPECT_EQ(r.header("X-Request-Id"), rid) << r.describe();
    }
    std::string outcome = c.type.empty() ? r.problem_type() : c.type;
    EXPECT_FALSE(outcome.empty()) << r.describe();
    EXPECT_TRUE(RefusalAudited(*admin_, r, outcome, c.action));

    EXPECT_EQ(all_identities(*admin_).size(), before) << "a refused request changed the directory";
    EXPECT_EQ(admin_->get(identity_path()).json(), existing);
  }

  static std::string identity_path() {
    return "/api/v1/identities/" + identity_.value("id", std::string("missing"));
  }

  static inline std::unique_ptr<Custodyd> server_;
  static inline json identity_;
  std::unique_ptr<Client> admin_;
};

TEST_F(BadInputTest, BodiesAreRefusedWithTheOffendingField) {
  const std::string create = "/api/v1/identities";
  std::vector<Case> cases = {
      {"malformed JSON", "POST", create, R"({"kind": "human", "display_name": )", kJson, 400,
       "invalid_argument", std::nullopt, "identity.create"},
      {"not an object", "POST", create, R"(["human"])", kJson, 400, "invalid_argument",
       std::nullopt, "identity.create"},
      {"wrong type", "POST", create, R"({"kind": "human", "display_name": 5})", kJson, 400,
       "invalid_argument", "display_name", "identity.create"},
      {"wrong type in a map", "POST", create,
       R"({"kind": "human", "display_name": "x", "labels": {"team": 1}})", kJson, 400,
       "invalid_argument", "labels", "identity.create"},
      {"unknown member", "POST", create,
       R"({"kind": "human", "display_name": "x", "colour": "blue"})", kJson, 400,
       "invalid_argument", "colour", "identity.create"},
      {"unknown kind", "POST", create, R"({"kind": "robot", "display_name": "x"})", kJson, 400,
       "invalid_argument", "kind", "identity.create"},
      {"missing member", "POST", create, R"({"kind": "human"})", kJson, 400, "invalid_argument",
       "display_name", "identity.create"},
      {"unknown member in a PATCH", "PATCH", identity_path(), R"({"state": "retired"})", kJson, 400,
       "invalid_argument", "state", "identity.update"},
      {"nesting deeper than limits.max_json_depth", "POST", create, nested(10), kJson, 400,
       "invalid_argument", std::nullopt, "identity.create"},
      // docs/api.md: "415 unsupported_media_type: body sent without Content-Type:
      // application/json".
      {"missing Content-Type",
       "POST",
       create,
       R"({"kind": "human", "display_name": "x"})",
       {},
       415,
       "unsupported_media_type",
       std::nullopt,
       "identity.create"},
      {"wrong Content-Type",
       "POST",
       create,
       R"({"kind": "human", "display_name": "x"})",
       {{"Content-Type", "text/plain"}},
       415,
       "unsupported_media_type",
       std::nullopt,
       "identity.create"},
  };
  for (const auto& c : cases) check(c);
}

TEST_F(BadInputTest, NestingWithinTheLimitIsAccepted) {
  // The depth limit refuses only what is deeper: 3 levels pass with limit 8.
  Client admin(server_->port(), server_->admin_token());
  Response r = admin.request_raw("POST", "/api/v1/identities", nested(3), kJson);
  // labels {"a": {}} is not a map of strings: refused for its type, not its depth.
  EXPECT_TRUE(IsProblem(r, 400, "invalid_argument", "labels"));
}

TEST_F(BadInputTest, OversizedRequestsAreRefused) {
  std::string big =
      R"({"kind": "human", "display_name": "x", "description": ")" + std::string(4096, 'a') + "\"}";
  check({"body over limits.max_body_bytes", "POST", "/api/v1/identities", big, kJson, 413,
         "too_large", std::nullopt, "request.refused"});
  // Beyond the header limit nothing of the request is trusted, not even its X-Request-Id.
  Case header{"head over limits.max_header_bytes",
              "GET",
              "/api/v1/identities",
              "",
              {{"X-Padding", std::string(3000, 'p')}},
              431,
              "",
              std::nullopt,
              "request.refused"};
  header.echoes_request_id = false;
  check(header);
}

TEST_F(BadInputTest, UnknownThingsAreNotFound) {
  std::vector<Case> cases = {
      {"unknown identity",
       "GET",
       "/api/v1/identities/usr_01JD0000000000000000000000",
       "",
       {},
       404,
       "not_found",
       std::nullopt,
       "identity.read"},
      {"unknown identity to patch", "PATCH", "/api/v1/identities/agt_01JD0000000000000000000000",
       R"({"display_name": "x"})", kJson, 404, "not_found", std::nullopt, "identity.update"},
      {"unknown entitlement",
       "DELETE",
       "/api/v1/entitlements/ent_01JD0000000000000000000000",
       "",
       {},
       404,
       "not_found",
       std::nullopt,
       "entitlement.revoke"},
      {"unknown route",
       "GET",
       "/api/v1/nothing-here",
       "",
       {},
       404,
       "not_found",
       std::nullopt,
       "request.refused"},
  };
  for (const auto& c : cases) check(c);
}

TEST_F(BadInputTest, RevocationReasonsAreCheckedAlike) {
  // Delegation and device revocations take the same optional {"reason"}: checked before the
  // record is looked up, so unknown ids still get the validation error.
  for (auto [path, action] :
       {std::pair{"/api/v1/delegations/dlg_unknown/revoke", "delegation.revoke"},
        std::pair{"/api/v1/devices/dev_unknown/revoke", "device.revoke"}}) {
    check({std::string(action) + " empty reason", "POST", path, R"({"reason": ""})", kJson, 400,
           "invalid_argument", "reason", action});
    check({std::string(action) + " long reason", "POST", path,
           json{{"reason", std::string(2001, 'x')}}.dump(), kJson, 400, "invalid_argument",
           "reason", action});
    check({std::string(action) + " stray member", "POST", path, R"({"why": "stolen"})", kJson, 400,
           "invalid_argument", "why", action});
  }
  // Identity transitions and approval decisions take an optional reason that may be empty, of at
  // most 2000 characters too.
  for (auto [path, action] :
       {std::pair{"/api/v1/identities/agt_unknown/suspend", "identity.suspend"},
        std::pair{"/api/v1/approvals/apr_unknown/deny", "approval.deny"}}) {
    check({std::string(action) + " long reason", "POST", path,
           json{{"reason", std::string(2001, 'x')}}.dump(), kJson, 400, "invalid_argument",
           "reason", action});
  }
}

TEST_F(BadInputTest, WrongMethodListsTheAllowedOnes) {
  check({"wrong method", "PUT", "/api/v1/identities", R"({})", kJson, 405, "method_not_allowed",
         std::nullopt, "request.refused"});
  Client admin(server_->port(), server_->admin_token());
  Response r = admin.request("DELETE", identity_path());
  EXPECT_TRUE(IsProblem(r, 405, "method_not_allowed"));
  std::string allow = r.header("Allow");
  EXPECT_NE(allow.find("GET"), std::string::npos) << r.describe();
  EXPECT_NE(allow.find("PATCH"), std::string::npos) << r.describe();
  EXPECT_EQ(allow.find("DELETE"), std::string::npos) << r.describe();
  Response put = admin.request("PUT", "/api/v1/identities");
  std::string allowed = put.header("Allow");
  EXPECT_NE(allowed.find("GET"), std::string::npos) << put.describe();
  EXPECT_NE(allowed.find("POST"), std::string::npos) << put.describe();
}

TEST_F(BadInputTest, BadQueryParametersAreNamed) {
  std::vector<Case> cases;
  for (std::string limit : {"0", "1001", "abc", "-5", ""}) {
    cases.push_back({"limit=" + limit,
                     "GET",
                     "/api/v1/identities?limit=" + limit,
                     "",
                     {},
                     400,
                     "invalid_argument",
                     "limit",
                     "identity.list"});
  }
  // Every list endpoint reads limit alike: digits only ("5x" is not 5), within the page size.
  for (auto [path, action] : {std::pair{"/api/v1/approvals", "approval.list"},
                              std::pair{"/api/v1/devices", "device.list"},
                              std::pair{"/api/v1/discovery/findings", "discovery.list"}}) {
    for (std::string limit : {"5x", "0"}) {
      cases.push_back({std::string(path) + " limit=" + limit,
                       "GET",
                       std::string(path) + "?limit=" + limit,
                       "",
                       {},
                       400,
                       "invalid_argument",
                       "limit",
                       action});
    }
  }
  cases.push_back({"unknown state",
                   "GET",
                   "/api/v1/identities?state=sleeping",
                   "",
                   {},
                   400,
                   "invalid_argument",
                   "state",
                   "identity.list"});
  cases.push_back({"label without value",
                   "GET",
                   "/api/v1/identities?label=team",
                   "",
                   {},
                   400,
                   "invalid_argument",
                   "label",
                   "identity.list"});
  cases.push_back({"audit limit",
                   "GET",
                   "/api/v1/audit?limit=0",
                   "",
                   {},
                   400,
                   "invalid_argument",
                   "limit",
                   "audit.list"});
  cases.push_back({"audit since",
                   "GET",
                   "/api/v1/audit?since=yesterday",
                   "",
                   {},
                   400,
                   "invalid_argument",
                   "since",
                   "audit.list"});
  for (const auto& c : cases) check(c);
}

}  // namespace
}  // namespace custody::apitest
