// Notifications about approvals against a real custodyd (docs/approvals.md, "Notifications"):
// OpenID CIBA ping mode (a loopback client endpoint pinged with its bearer token once the owner
// approves or denies, then one token call; the token is required in ping mode), the approver's
// webhook signed with Custody-Signature, its signed callback links (decide once as the approver;
// replayed, altered and expired links refused and audited), and the CAEP credential-change
// events of credential creation and revocation (docs/ssf.md).
#include <gtest/gtest.h>

#include <map>

#include "common/encoding.h"
#include "crypto/keyed_hash.h"
#include "loopback_receiver.h"
#include "oauth_fixture.h"

namespace custody::apitest {
namespace {

constexpr const char* kWebhookSecret = "webhook-secret-for-tests-0123456789";
constexpr const char* kCredentialChange =
    "https://schemas.openid.net/secevent/caep/event-type/credential-change";

class ApprovalNotificationsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_ = std::make_unique<Custodyd>(
        Custodyd::Env{{"CUSTODY_APPROVALS_WEBHOOK_URL", webhook_.url()},
                      {"CUSTODY_APPROVALS_WEBHOOK_SECRET", kWebhookSecret},
                      {"CUSTODY_APPROVALS_NOTIFY_RETRY_BASE_MS", "50"},
                      {"CUSTODY_APPROVALS_NOTIFY_RETRY_MAX_MS", "100"},
                      {"CUSTODY_APPROVALS_NOTIFY_SCAN_MS", "50"}});
    CUSTODY_START_OR_SKIP(*server_);
    admin_ = server_->admin();
    owner_ = create_human(admin(), "Approver")["id"].get<std::string>();
    Response tok = admin().post("/api/v1/tokens", json{{"role", "owner"}, {"identity_id", owner_}});
    ASSERT_EQ(tok.status, 201) << tok.describe();
    owner_client_ = std::make_unique<Client>(server_->port(), tok.json().value("token", ""));
    audience_ = agent("warehouse", {}).id;
  }

  Client& admin() { return *admin_; }

  Agent agent(const std::string& name, const json& labels, std::string owner = "") {
    json body = owned_body("agent", owner.empty() ? owner_ : owner, name);
    if (!labels.empty()) body["labels"] = labels;
    Agent a;
    a.id = create_identity(admin(), body)["id"].get<std::string>();
    EXPECT_EQ(admin().post("/api/v1/identities/" + a.id + "/activate", json::object()).status, 200);
    Response cred = admin().post("/api/v1/identities/" + a.id + "/credentials",
                                 json{{"type", "client_secret"}});
    EXPECT_EQ(cred.status, 201) << cred.describe();
    a.secret = cred.json().value("secret", "");
    Response e = admin().post("/api/v1/identities/" + a.id + "/entitlements",
                              json{{"scope", "export"},
                                   {"resource", audience_.empty() ? a.id : audience_},
                                   {"justification", "approval notifications test"}});
    EXPECT_EQ(e.status, 201) << e.describe();
    return a;
  }
  Agent ping_agent(const std::string& name) {
    return agent(name,
                 {{"ciba.delivery_mode", "ping"}, {"ciba.notification_endpoint", ping_.url()}});
  }

  Response post_form(const std::string& path, const Agent& client,
                     const std::vector<std::pair<std::string, std::string>>& params) {
    Client c(server_->port());
    return c.request_raw(
        "POST", path, form(params),
        {{"Content-Type", "application/x-www-form-urlencoded"}, {"Authorization", client.basic()}});
  }
  Response bc_authorize(const Agent& a, std::vector<std::pair<std::string, std::string>> extra,
                        std::string owner = "") {
    std::vector<std::pair<std::string, std::string>> p = {
        {"scope", "export"},
        {"audience", audience_},
        {"login_hint", owner.empty() ? owner_ : owner}};
    p.insert(p.end(), extra.begin(), extra.end());
    return post_form("/oauth2/bc-authorize", a, p);
  }
  Response token(const Agent& a, const std::string& auth_req_id) {
    return post_form(
        "/oauth2/token", a,
        {{"grant_type", "urn:openid:params:grant-type:ciba"}, {"auth_req_id", auth_req_id}});
  }

  // The webhook received for approval `id` (waits for it); a discarded value when none came.
  json webhook_for(const std::string& id) {
    auto until = std::chrono::steady_clock::now() + Millis(10'000);
    while (std::chrono::steady_clock::now() < until) {
      for (const auto& r : webhook_.received()) {
        json body = json::parse(r.body, nullptr, false);
        if (body.is_object() && body["approval"].value("id", "") == id) {
          last_webhook_ = r;
          return body;
        }
      }
      std::this_thread::sleep_for(Millis(20));
    }
    return json(json::value_t::discarded);
  }
  // POSTs a callback link (an absolute URL on this server) without any token.
  Response follow(const std::string& link) {
    std::string prefix = server_->url();
    EXPECT_EQ(link.rfind(prefix, 0), 0u) << link;
    Client anonymous(server_->port());
    return anonymous.request("POST", link.substr(prefix.size()));
  }
  std::vector<json> audit(const std::string& query) { return audit_events(admin(), query); }

  LoopbackReceiver webhook_{"/approvals"}, ping_{"/ciba/ping"};
  std::unique_ptr<Custodyd> server_;
  std::unique_ptr<Client> admin_, owner_client_;
  std::string owner_, audience_;
  LoopbackReceiver::Received last_webhook_;
};

TEST_F(ApprovalNotificationsTest, PingModeTellsTheClientWhenTheOwnerDecides) {
  Response meta = Client(server_->port()).get("/.well-known/openid-configuration");
  EXPECT_EQ(meta.json()["backchannel_token_delivery_modes_supported"],
            json::array({"poll", "ping"}));
  Agent a = ping_agent("pinged");

  // Ping mode needs the client's notification token.
  Response missing = bc_authorize(a, {});
  EXPECT_EQ(missing.status, 400) << missing.describe();
  EXPECT_EQ(missing.json()["error"], "invalid_request");
  EXPECT_NE(missing.json().value("error_description", "").find("client_notification_token"),
            std::string::npos)
      << missing.body;
  auto refused = find_audit_event(admin(), missing, "invalid_request", "oauth.bc_authorize");
  ASSERT_TRUE(refused) << "refusal not audited";
  EXPECT_NE((*refused)["details"].dump().find("client_notification_token"), std::string::npos)
      << refused->dump();

  Response r = bc_authorize(a, {{"client_notification_token", "ping-token-1"}});
  ASSERT_EQ(r.status, 200) << r.describe();
  std::string id = r.json().value("auth_req_id", "");
  // The approver's webhook goes out at once; the ping waits for the decision.
  ASSERT_TRUE(webhook_for(id).is_object()) << "no webhook for " << id;
  EXPECT_TRUE(ping_.received().empty());
  EXPECT_EQ(token(a, id).json()["error"], "authorization_pending");

  ASSERT_EQ(owner_client_->post("/api/v1/approvals/" + id + "/approve", json::object()).status,
            200);
  ASSERT_TRUE(ping_.wait_for(1)) << "no ping after the approval";
  auto ping = ping_.received()[0];
  EXPECT_EQ(ping.method, "POST");
  EXPECT_EQ(ping.target, "/ciba/ping");
  EXPECT_EQ(ping.header("Authorization"), "Bearer ping-token-1");
  EXPECT_EQ(ping.header("Content-Type"), "application/json");
  EXPECT_EQ(json::parse(ping.body, nullptr, false), json({{"auth_req_id", id}})) << ping.body;
  // Told once, the client calls the token endpoint once.
  Response issued = token(a, id);
  ASSERT_EQ(issued.status, 200) << issued.describe();
  EXPECT_EQ(claims_of(issued.json().value("access_token", ""))["custody"]["approval_id"], id);
  bool delivered = false;
  for (int i = 0; i < 100 && !delivered; ++i) {
    delivered = audit("target=" + id + "&action=approval.notification.delivered").size() == 2;
    if (!delivered) std::this_thread::sleep_for(Millis(20));
  }
  EXPECT_TRUE(delivered) << "webhook and ping deliveries are audited";

  // A denial pings too, with that request's token, and the token call says access_denied.
  Response second = bc_authorize(a, {{"client_notification_token", "ping-token-2"}});
  ASSERT_EQ(second.status, 200) << second.describe();
  std::string denied_id = second.json().value("auth_req_id", "");
  ASSERT_NE(denied_id, id);
  ASSERT_EQ(owner_client_->post("/api/v1/approvals/" + denied_id + "/deny", json{{"reason", "no"}})
                .status,
            200);
  ASSERT_TRUE(ping_.wait_for(2)) << "no ping after the denial";
  auto denial = ping_.received()[1];
  EXPECT_EQ(denial.header("Authorization"), "Bearer ping-token-2");
  EXPECT_EQ(json::parse(denial.body, nullptr, false), json({{"auth_req_id", denied_id}}));
  EXPECT_EQ(token(a, denied_id).json()["error"], "access_denied");

  // A poll client is never pinged.
  Agent poller = agent("poller", {});
  Response polled = bc_authorize(poller, {{"client_notification_token", "ignored"}});
  ASSERT_EQ(polled.status, 200) << polled.describe();
  std::string poll_id = polled.json().value("auth_req_id", "");
  ASSERT_EQ(owner_client_->post("/api/v1/approvals/" + poll_id + "/approve", json::object()).status,
            200);
  EXPECT_EQ(token(poller, poll_id).status, 200);
  EXPECT_EQ(ping_.received().size(), 2u);
}

TEST_F(ApprovalNotificationsTest, TheWebhookIsSignedAndItsCallbackDecidesOnce) {
  Agent a = agent("hooked", {});
  Response r = bc_authorize(a, {{"binding_message", "export #7"}});
  ASSERT_EQ(r.status, 200) << r.describe();
  std::string id = r.json().value("auth_req_id", "");
  json hook = webhook_for(id);
  ASSERT_TRUE(hook.is_object()) << "no webhook for " << id;

  // Custody-Signature: t=<seconds>,v1=<hex HMAC-SHA-256(secret, t "." body)>.
  EXPECT_EQ(last_webhook_.method, "POST");
  EXPECT_EQ(last_webhook_.target, "/approvals");
  EXPECT_EQ(last_webhook_.header("Content-Type"), "application/json");
  std::string signature = last_webhook_.header("Custody-Signature");
  auto comma = signature.find(",v1=");
  ASSERT_EQ(signature.rfind("t=", 0), 0u) << signature;
  ASSERT_NE(comma, std::string::npos) << signature;
  std::string t = signature.substr(2, comma - 2);
  EXPECT_EQ(signature.substr(comma + 4),
            hex_encode(crypto::hmac_sha256(kWebhookSecret, t + "." + last_webhook_.body)));
  EXPECT_LE(std::abs(std::stoll(t) - std::chrono::duration_cast<std::chrono::seconds>(
                                         std::chrono::system_clock::now().time_since_epoch())
                                         .count()),
            60);

  EXPECT_EQ(hook["type"], "approval.requested");
  EXPECT_EQ(hook["approval"]["approver"], owner_);
  EXPECT_EQ(hook["approval"]["subject_id"], a.id);
  EXPECT_EQ(hook["approval"]["labels"], json::array({"ciba"}));
  EXPECT_NE(hook["approval"].value("summary", "").find("export #7"), std::string::npos) << hook;
  EXPECT_TRUE(hook["approval"].contains("expires_at"));
  std::string approve = hook["callbacks"].value("approve", "");
  std::string deny = hook["callbacks"].value("deny", "");
  ASSERT_NE(approve.find("/api/v1/approvals/" + id + "/callback?decision=approve&sig="),
            std::string::npos)
      << approve;

  // An altered signature, or the approve signature on the deny link: refused and audited.
  std::string altered = approve;
  altered.back() = altered.back() == '0' ? '1' : '0';
  Response forged = follow(altered);
  EXPECT_TRUE(IsProblem(forged, 403, "permission_denied"));
  EXPECT_NE(forged.json().value("detail", "").find("signature is not valid"), std::string::npos)
      << forged.body;
  EXPECT_TRUE(RefusalAudited(admin(), forged, "permission_denied", "approval.callback"));
  std::string swapped = approve;
  swapped.replace(swapped.find("decision=approve"), 16, "decision=deny");
  EXPECT_TRUE(IsProblem(follow(swapped), 403, "permission_denied"));
  EXPECT_EQ(admin().get("/api/v1/approvals/" + id).json()["status"], "pending");

  // The real link decides as the approver, once.
  Response ok = follow(approve);
  ASSERT_EQ(ok.status, 200) << ok.describe();
  EXPECT_EQ(ok.json()["status"], "approved");
  EXPECT_EQ(ok.json()["decided_by"], owner_);
  auto decided = find_audit_event(admin(), ok, "success", "approval.approve");
  ASSERT_TRUE(decided) << "decision not audited";
  EXPECT_EQ((*decided)["actor"], owner_);
  EXPECT_EQ((*decided)["details"]["via"], "signed_callback");

  Response replayed = follow(approve);
  EXPECT_TRUE(IsProblem(replayed, 409, "conflict"));
  EXPECT_NE(replayed.json().value("detail", "").find("replayed"), std::string::npos)
      << replayed.body;
  EXPECT_TRUE(RefusalAudited(admin(), replayed, "conflict", "approval.callback"));
  Response other_link = follow(deny);
  EXPECT_TRUE(IsProblem(other_link, 409, "conflict"));
  EXPECT_NE(other_link.json().value("detail", "").find("replayed"), std::string::npos);

  // The approval is as good as one given through the API.
  EXPECT_EQ(token(a, id).status, 200);
}

TEST_F(ApprovalNotificationsTest, ReceiversThatFailAreRetriedOrGivenUpOn) {
  // The webhook receiver is down for a moment (503): retried until it answers.
  webhook_.script(503);
  Agent a = ping_agent("flaky");
  Response r = bc_authorize(a, {{"client_notification_token", "tok-flaky"}});
  ASSERT_EQ(r.status, 200) << r.describe();
  std::string id = r.json().value("auth_req_id", "");
  json hook = webhook_for(id);
  ASSERT_TRUE(hook.is_object());
  ASSERT_TRUE(webhook_.wait_for(2)) << "the 503 was not retried";
  EXPECT_EQ(json::parse(webhook_.received()[1].body, nullptr, false)["approval"]["id"], id);

  // The client's endpoint refuses the ping (400): failed at once, not retried, and audited.
  ping_.script(400);
  ASSERT_EQ(owner_client_->post("/api/v1/approvals/" + id + "/approve", json::object()).status,
            200);
  ASSERT_TRUE(ping_.wait_for(1));
  std::vector<json> failed;
  for (int i = 0; i < 250 && failed.empty(); ++i) {
    failed = audit("target=" + id + "&action=approval.notification.failed");
    if (failed.empty()) std::this_thread::sleep_for(Millis(20));
  }
  ASSERT_EQ(failed.size(), 1u);
  EXPECT_EQ(failed[0]["actor"], "system");
  EXPECT_EQ(failed[0]["details"]["kind"], "ciba_ping");
  EXPECT_NE(failed[0]["details"].value("error", "").find("HTTP 400"), std::string::npos)
      << failed[0].dump();
  std::this_thread::sleep_for(Millis(300));
  EXPECT_EQ(ping_.received().size(), 1u) << "a 400 is not retried";
  // Polling still works for a ping client whose ping was lost.
  EXPECT_EQ(token(a, id).status, 200);

  // Push mode is not supported, and a malformed callback is refused before anything is read.
  Agent pusher = agent(
      "pusher", {{"ciba.delivery_mode", "push"}, {"ciba.notification_endpoint", ping_.url()}});
  Response push = bc_authorize(pusher, {{"client_notification_token", "tok"}});
  EXPECT_EQ(push.json()["error"], "unauthorized_client") << push.body;
  Client anonymous(server_->port());
  Response malformed = anonymous.request("POST", "/api/v1/approvals/" + id + "/callback?sig=00");
  EXPECT_TRUE(IsProblem(malformed, 400, "invalid_argument", "decision"));
  EXPECT_TRUE(RefusalAudited(admin(), malformed, "invalid_argument", "approval.callback"));
}

TEST_F(ApprovalNotificationsTest, AnApproversOwnWebhookOverridesTheDefault) {
  LoopbackReceiver personal{"/mine"};
  json body = human_body("Grace");
  body["labels"] = {{"approvals.webhook_url", personal.url()}};
  std::string grace = create_identity(admin(), body)["id"].get<std::string>();
  Agent a = agent("graces", {}, grace);
  Response r = bc_authorize(a, {}, grace);
  ASSERT_EQ(r.status, 200) << r.describe();
  std::string id = r.json().value("auth_req_id", "");
  ASSERT_TRUE(personal.wait_for(1)) << "no webhook at the approver's own URL";
  json hook = json::parse(personal.received()[0].body, nullptr, false);
  EXPECT_EQ(hook["approval"]["id"], id);
  EXPECT_EQ(hook["approval"]["approver"], grace);
  EXPECT_FALSE(personal.received()[0].header("Custody-Signature").empty());
  for (const auto& other : webhook_.received())
    EXPECT_EQ(other.body.find(id), std::string::npos) << "also sent to the default webhook";
}

TEST_F(ApprovalNotificationsTest, AnExpiredCallbackIsRefused) {
  Agent a = agent("late", {});
  Response r = bc_authorize(a, {{"requested_expiry", "10"}});
  ASSERT_EQ(r.status, 200) << r.describe();
  std::string id = r.json().value("auth_req_id", "");
  json hook = webhook_for(id);
  ASSERT_TRUE(hook.is_object()) << "no webhook for " << id;
  // No test clock in custodyd: wait out the shortest expiry CIBA allows.
  std::this_thread::sleep_for(Millis(10'500));
  Response expired = follow(hook["callbacks"].value("approve", ""));
  EXPECT_TRUE(IsProblem(expired, 409, "conflict"));
  EXPECT_NE(expired.json().value("detail", "").find("expired"), std::string::npos) << expired.body;
  EXPECT_TRUE(RefusalAudited(admin(), expired, "conflict", "approval.callback"));
  EXPECT_EQ(admin().get("/api/v1/approvals/" + id).json()["status"], "expired");
}

TEST_F(ApprovalNotificationsTest, CredentialChangesAreSignalled) {
  Response stream =
      admin().post("/ssf/streams", json{{"delivery", {{"method", "urn:ietf:rfc:8936"}}},
                                        {"events_requested", {kCredentialChange}}});
  ASSERT_EQ(stream.status, 201) << stream.describe();
  std::string stream_id = stream.json()["stream_id"];
  std::string agent_id = create_agent(admin(), owner_, "rotating")["id"];
  Response created = admin().post("/api/v1/identities/" + agent_id + "/credentials",
                                  json{{"type", "client_secret"}, {"description", "ci"}});
  ASSERT_EQ(created.status, 201) << created.describe();
  std::string credential = created.json()["id"];
  ASSERT_EQ(admin().del("/api/v1/credentials/" + credential).status, 200);
  ASSERT_EQ(admin().del("/api/v1/credentials/" + credential).status, 200);  // nothing new

  Response polled = admin().post("/ssf/poll/" + stream_id, json{{"maxEvents", 10}});
  ASSERT_EQ(polled.status, 200) << polled.describe();
  std::map<std::string, json> by_change;
  const json sets = polled.json()["sets"];
  for (const auto& [jti, set] : sets.items()) {
    json claims = claims_of(set.get<std::string>());
    EXPECT_EQ(claims["sub_id"], json({{"format", "opaque"}, {"id", agent_id}}));
    ASSERT_TRUE(claims["events"].contains(kCredentialChange)) << claims;
    json event = claims["events"][kCredentialChange];
    by_change[event.value("change_type", "")] = event;
  }
  ASSERT_EQ(by_change.size(), 2u) << polled.body;
  ASSERT_TRUE(by_change.count("revoke")) << polled.body;
  EXPECT_EQ(by_change["revoke"]["credential_type"], "password");
  EXPECT_EQ(by_change["revoke"]["initiating_entity"], "admin");
  EXPECT_NE(by_change["revoke"].value("friendly_name", "").find(credential), std::string::npos);
  EXPECT_EQ(by_change["create"]["credential_type"], "password");
}

}  // namespace
}  // namespace custody::apitest
