// Human checkpoints through the AuthZEN API (docs/approvals.md): a policy marks an action as
// needing approval; the PDP answers deny with an approval request routed to the subject's owner;
// a repeated question finds the same request, an altered one needs its own; the owner approves
// (separation of duties enforced), the approval is used once, and a denied one never permits.
#include <gtest/gtest.h>

#include "oauth_fixture.h"

namespace custody::apitest {
namespace {

constexpr const char* kServer = "https://mcp.example.com";

class ApprovalsTest : public SharedCustodydTest {
 protected:
  void SetUp() override {
    SharedCustodydTest::SetUp();
    if (IsSkipped()) return;
    const json defaults = admin().get("/api/v1/policies/1").json();
    json body = {{"files", defaults["files"]}, {"schema", defaults["schema"]}};
    body["files"].push_back(
        {{"name", "exports.cedar"},
         {"text",
          "@id(\"export-needs-approval\") @approval(\"data export\")\n"
          "forbid (principal, action == Action::\"call_tool\", resource is Tool)\n"
          "when { resource.name == \"export_all\" };"}});
    Response r = admin().post("/api/v1/policies", body);
    ASSERT_EQ(r.status, 201) << r.describe();
    owner_ = create_human(admin(), "Approver")["id"].get<std::string>();
    agent_ =
        create_identity(admin(), owned_body("agent", owner_, "exporter"))["id"].get<std::string>();
    ASSERT_EQ(admin().post("/api/v1/identities/" + agent_ + "/activate", json::object()).status,
              200);
    for (const auto& id : {owner_, agent_}) {
      Response e = admin().post(
          "/api/v1/identities/" + id + "/entitlements",
          json{{"scope", "tools"}, {"resource", kServer}, {"justification", "approvals test"}});
      ASSERT_EQ(e.status, 201) << e.describe();
    }
    Response tok = admin().post("/api/v1/tokens", json{{"role", "owner"}, {"identity_id", owner_}});
    ASSERT_EQ(tok.status, 201) << tok.describe();
    owner_client_ = std::make_unique<Client>(server().port(), tok.json().value("token", ""));
    Response other = admin().post("/api/v1/tokens", json{{"role", "admin"}});
    ASSERT_EQ(other.status, 201) << other.describe();
    second_admin_ = std::make_unique<Client>(server().port(), other.json().value("token", ""));
  }
  void TearDown() override {
    if (!IsSkipped()) admin().post("/api/v1/policies/1/activate", json::object());
  }

  json export_call(const std::string& tool = "export_all") {
    return {{"subject", {{"type", "agent"}, {"id", agent_}}},
            {"action", {{"name", "call_tool"}}},
            {"resource", {{"type", "tool"}, {"id", tool}, {"properties", {{"server", kServer}}}}}};
  }
  Response ask(json q) { return admin().post("/access/v1/evaluation", q); }
  static json checkpoint(const Response& r) {
    return r.json()["context"].value("approval_required", json());
  }

  std::string owner_, agent_;
  std::unique_ptr<Client> owner_client_, second_admin_;
};

TEST_F(ApprovalsTest, ACheckpointIsRoutedApprovedOnceAndUsedOnce) {
  // Other tools need no approval.
  EXPECT_EQ(ask(export_call("search")).json(), json({{"decision", true}}));

  Response r = ask(export_call());
  ASSERT_EQ(r.status, 200) << r.describe();
  EXPECT_EQ(r.json()["decision"], false);
  json cp = checkpoint(r);
  ASSERT_TRUE(cp.is_object()) << r.body;
  std::string id = cp.value("id", "");
  EXPECT_EQ(id.rfind("apr_", 0), 0u) << r.body;
  EXPECT_EQ(cp["approver"], owner_);
  EXPECT_EQ(cp["labels"], json::array({"data export"}));

  // The same question finds the same pending request.
  EXPECT_EQ(checkpoint(ask(export_call())).value("id", ""), id);
  Response listed = owner_client_->get("/api/v1/approvals?status=pending");
  ASSERT_EQ(listed.status, 200) << listed.describe();
  ASSERT_EQ(listed.json()["items"].size(), 1u) << listed.body;
  EXPECT_EQ(listed.json()["items"][0]["question"]["resource"]["id"], "export_all");

  // Not yet approved: presenting the id changes nothing.
  json with_id = export_call();
  with_id["context"] = {{"approval_id", id}};
  EXPECT_EQ(ask(with_id).json()["decision"], false);

  // The requester (the admin token that asked as PEP) may not approve its own request.
  Response own = admin().post("/api/v1/approvals/" + id + "/approve", json::object());
  EXPECT_TRUE(IsProblem(own, 403, "permission_denied"));
  EXPECT_NE(own.json().value("detail", "").find("separation of duties"), std::string::npos);

  Response ok = owner_client_->post("/api/v1/approvals/" + id + "/approve",
                                    json{{"reason", "month-end export"}});
  ASSERT_EQ(ok.status, 200) << ok.describe();
  EXPECT_EQ(ok.json()["status"], "approved");
  EXPECT_EQ(ok.json()["decided_by"], owner_);
  EXPECT_TRUE(IsProblem(owner_client_->post("/api/v1/approvals/" + id + "/deny", json::object()),
                        409, "conflict"));
  EXPECT_TRUE(RefusalAudited(admin(), ok, "success", "approval.approve"));

  // Used once: permitted, then the same approval no longer permits.
  Response permitted = ask(with_id);
  EXPECT_EQ(permitted.json(), json({{"decision", true}})) << permitted.body;
  Response again = ask(with_id);
  EXPECT_EQ(again.json()["decision"], false);
  EXPECT_NE(checkpoint(again).value("id", ""), id) << "a new request for a new use";
  EXPECT_EQ(admin().get("/api/v1/approvals/" + id).json()["status"], "used");
}

TEST_F(ApprovalsTest, AnAlteredQuestionNeedsItsOwnApprovalAndADenialNeverPermits) {
  std::string first = checkpoint(ask(export_call())).value("id", "");
  json altered = export_call();
  altered["resource"]["properties"]["rows"] = 1000000;
  std::string second = checkpoint(ask(altered)).value("id", "");
  ASSERT_FALSE(first.empty());
  ASSERT_FALSE(second.empty());
  EXPECT_NE(first, second);

  // The approval of the first question does not carry over to the altered one.
  ASSERT_EQ(second_admin_->post("/api/v1/approvals/" + first + "/approve", json::object()).status,
            200);
  altered["context"] = {{"approval_id", first}};
  EXPECT_EQ(ask(altered).json()["decision"], false);

  ASSERT_EQ(owner_client_->post("/api/v1/approvals/" + second + "/deny", json::object()).status,
            200);
  json denied = export_call();
  denied["resource"]["properties"]["rows"] = 1000000;
  denied["context"] = {{"approval_id", second}};
  EXPECT_EQ(ask(denied).json()["decision"], false);

  // An owner sees only what is routed to it.
  Response stranger_token = admin().post(
      "/api/v1/tokens",
      json{{"role", "owner"}, {"identity_id", create_human(admin())["id"].get<std::string>()}});
  Client stranger(server().port(), stranger_token.json().value("token", ""));
  EXPECT_TRUE(IsProblem(stranger.get("/api/v1/approvals/" + first), 404, "not_found"));
  EXPECT_TRUE(IsProblem(stranger.post("/api/v1/approvals/" + first + "/deny", json::object()), 409,
                        "conflict"));
}

}  // namespace
}  // namespace custody::apitest

namespace custody::apitest {
namespace {

constexpr std::string_view kCiba = "urn:openid:params:grant-type:ciba";

// OpenID CIBA (poll mode): an agent asks for a token that a human must approve, polls, and gets
// a token bound to the approval, once.
class CibaTest : public OAuthFixture {
 protected:
  void SetUp() override {
    OAuthFixture::SetUp();
    if (IsSkipped()) return;
    Response tok = admin().post("/api/v1/tokens", json{{"role", "owner"}, {"identity_id", owner_}});
    ASSERT_EQ(tok.status, 201) << tok.describe();
    owner_client_ = std::make_unique<Client>(server().port(), tok.json().value("token", ""));
  }
  Response bc_authorize(const Agent& a, std::vector<std::pair<std::string, std::string>> p) {
    return post_form("/oauth2/bc-authorize", a, p);
  }
  Response poll(const Agent& a, const std::string& auth_req_id) {
    return post_form("/oauth2/token", a,
                     {{"grant_type", std::string(kCiba)}, {"auth_req_id", auth_req_id}});
  }
  std::unique_ptr<Client> owner_client_;
};

TEST_F(CibaTest, AnApprovedRequestYieldsOneTokenBoundToTheApproval) {
  Agent a = agent("ciba-a"), b = agent("ciba-b");
  entitle(a, "export", b.id);
  Response meta = Client(server().port()).get("/.well-known/openid-configuration");
  EXPECT_EQ(meta.json()["backchannel_authentication_endpoint"],
            server().url() + "/oauth2/bc-authorize");
  EXPECT_EQ(meta.json()["backchannel_token_delivery_modes_supported"],
            json::array({"poll", "ping"}));

  Response r = bc_authorize(a, {{"scope", "export"},
                                {"audience", b.id},
                                {"login_hint", owner_},
                                {"binding_message", "export #42"}});
  ASSERT_EQ(r.status, 200) << r.describe();
  std::string id = r.json().value("auth_req_id", "");
  EXPECT_EQ(id.rfind("apr_", 0), 0u) << r.body;
  EXPECT_GT(r.json().value("expires_in", 0), 0);
  EXPECT_EQ(r.json().value("interval", 0), 5);

  Response pending = poll(a, id);
  EXPECT_EQ(pending.status, 400);
  EXPECT_EQ(pending.json()["error"], "authorization_pending") << pending.body;
  // Another client cannot redeem it.
  EXPECT_EQ(poll(b, id).json()["error"], "invalid_grant");

  Response approve =
      owner_client_->post("/api/v1/approvals/" + id + "/approve", json{{"reason", "ok"}});
  ASSERT_EQ(approve.status, 200) << approve.describe();
  EXPECT_EQ(approve.json()["question"]["context"]["binding_message"], "export #42");

  Response token = poll(a, id);
  ASSERT_EQ(token.status, 200) << token.describe();
  json claims = claims_of(token_of(token));
  EXPECT_EQ(claims["custody"]["approval_id"], id);
  EXPECT_EQ(claims["scope"], "export");
  EXPECT_EQ(claims["aud"], b.id);
  Response record = admin().get("/api/v1/delegations/" + claims["jti"].get<std::string>());
  EXPECT_EQ(record.json()["policy"]["approval"], id);
  EXPECT_EQ(record.json()["grant_type"], kCiba);

  // One approval, one token.
  EXPECT_EQ(poll(a, id).json()["error"], "invalid_grant");
}

TEST_F(CibaTest, DeniedRequestsAndWrongHintsAreRefused) {
  Agent a = agent("ciba-deny"), b = agent("ciba-deny-b");
  entitle(a, "export", b.id);
  Response wrong = bc_authorize(a, {{"scope", "export"}, {"audience", b.id}, {"login_hint", b.id}});
  EXPECT_EQ(wrong.json()["error"], "unknown_user_id") << wrong.body;
  // Nobody is asked to approve what could not be issued anyway.
  Response impossible =
      bc_authorize(a, {{"scope", "admin"}, {"audience", b.id}, {"login_hint", owner_}});
  EXPECT_EQ(impossible.json()["error"], "invalid_scope") << impossible.body;

  Response r = bc_authorize(a, {{"scope", "export"}, {"audience", b.id}, {"login_hint", owner_}});
  ASSERT_EQ(r.status, 200) << r.describe();
  std::string id = r.json()["auth_req_id"];
  ASSERT_EQ(owner_client_->post("/api/v1/approvals/" + id + "/deny", json{{"reason", "no"}}).status,
            200);
  Response denied = poll(a, id);
  EXPECT_EQ(denied.json()["error"], "access_denied") << denied.body;
}

TEST_F(CibaTest, AnApprovalPolicyOnObtainIsSatisfiedThroughCiba) {
  const json defaults = admin().get("/api/v1/policies/1").json();
  json body = {{"files", defaults["files"]}, {"schema", defaults["schema"]}};
  body["files"].push_back({{"name", "exports.cedar"},
                           {"text",
                            "@id(\"export-tokens\") @approval(\"export token\")\n"
                            "forbid (principal, action == Action::\"obtain\", resource)\n"
                            "when { context.scopes.contains(\"export\") };"}});
  ASSERT_EQ(admin().post("/api/v1/policies", body).status, 201);
  Agent a = agent("ciba-policy"), b = agent("ciba-policy-b");
  entitle(a, "export", b.id);
  Response direct = client_credentials(a, b.id, "export");
  EXPECT_TRUE(Refused(direct, 400, "invalid_request", "approval", "backchannel"));

  Response r = bc_authorize(a, {{"scope", "export"}, {"audience", b.id}, {"login_hint", owner_}});
  ASSERT_EQ(r.status, 200) << r.describe();
  std::string id = r.json()["auth_req_id"];
  ASSERT_EQ(owner_client_->post("/api/v1/approvals/" + id + "/approve", json::object()).status,
            200);
  EXPECT_EQ(poll(a, id).status, 200);
  ASSERT_EQ(admin().post("/api/v1/policies/1/activate", json::object()).status, 200);
}

}  // namespace
}  // namespace custody::apitest
