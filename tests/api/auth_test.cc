// Authentication and the three roles (docs/api.md, Errors and Roles): 401 with a Bearer
// challenge, auditors read only, owners see and manage only what they own, revocation is
// immediate.
#include <set>

#include "harness.h"

namespace custody::apitest {
namespace {

class AuthTest : public SharedCustodydTest {
 protected:
  // Creates an admin token; {id, token}.
  std::pair<std::string, std::string> new_token(json body) {
    Response r = admin().post("/api/v1/tokens", body);
    EXPECT_EQ(r.status, 201) << body.dump() << "\n" << r.describe();
    json j = r.json();
    EXPECT_EQ(j.value("id", "").rfind("tok_", 0), 0u) << r.describe();
    EXPECT_EQ(j["role"], body["role"]);
    return {j.value("id", ""), j.value("token", "")};
  }
  std::unique_ptr<Client> as(const std::string& token) {
    return std::make_unique<Client>(server().port(), token);
  }
  std::size_t count() { return all_identities(admin()).size(); }
};

// Input is validated only after the caller is authenticated: an anonymous caller learns nothing
// about validation, and a validation refusal names the caller who made it.
TEST_F(AuthTest, AuthenticationComesBeforeInputValidation) {
  Client anonymous(server().port());
  Response bad = anonymous.request_raw("POST", "/api/v1/identities", "{not json",
                                       {{"Content-Type", "application/json"}});
  EXPECT_TRUE(IsProblem(bad, 401, "unauthenticated")) << bad.describe();
  Response bad_query = anonymous.get("/api/v1/identities?owner_id=%zz");
  EXPECT_TRUE(IsProblem(bad_query, 401, "unauthenticated")) << bad_query.describe();

  auto [auditor_id, auditor] = new_token({{"role", "auditor"}});
  Response attributed = as(auditor)->get("/api/v1/identities?owner_id=%zz");
  EXPECT_TRUE(IsProblem(attributed, 400, "invalid_argument", "owner_id"));
  auto event = find_audit_event(admin(), attributed, "invalid_argument", "identity.list");
  ASSERT_TRUE(event.has_value());
  EXPECT_EQ((*event)["actor"], auditor_id) << event->dump();
}

TEST_F(AuthTest, MissingTokenIsChallenged) {
  std::size_t before = count();
  Client anonymous(server().port());
  Response list = anonymous.get("/api/v1/identities");
  EXPECT_TRUE(IsProblem(list, 401, "unauthenticated"));
  EXPECT_EQ(list.header("WWW-Authenticate").rfind("Bearer", 0), 0u) << list.describe();
  EXPECT_TRUE(RefusalAudited(admin(), list, "unauthenticated", "identity.list"));

  Response create = anonymous.post("/api/v1/identities", human_body());
  EXPECT_TRUE(IsProblem(create, 401, "unauthenticated"));
  EXPECT_EQ(create.header("WWW-Authenticate").rfind("Bearer", 0), 0u) << create.describe();
  EXPECT_TRUE(RefusalAudited(admin(), create, "unauthenticated", "identity.create"));
  EXPECT_EQ(count(), before);
}

TEST_F(AuthTest, WrongTokenIsChallenged) {
  std::size_t before = count();
  for (std::string header : {"Bearer cst_" + std::string(43, 'x'), std::string("Bearer "),
                             "Basic " + std::string("YWRtaW46YWRtaW4="),
                             // The right token under the wrong scheme is no token at all.
                             "Basic " + server().admin_token()}) {
    SCOPED_TRACE(header);
    Client client(server().port());
    Response r =
        client.request("POST", "/api/v1/identities", human_body(), {{"Authorization", header}});
    EXPECT_TRUE(IsProblem(r, 401, "unauthenticated"));
    EXPECT_EQ(r.header("WWW-Authenticate").rfind("Bearer", 0), 0u) << r.describe();
    EXPECT_TRUE(RefusalAudited(admin(), r, "unauthenticated", "identity.create"));
  }
  EXPECT_EQ(count(), before);
}

TEST_F(AuthTest, AuditorReadsButCannotWrite) {
  auto [token_id, token] = new_token({{"role", "auditor"}, {"description", "compliance"}});
  ASSERT_FALSE(token.empty());
  // The token value is shown once: listing tokens never shows it.
  Response tokens = admin().get("/api/v1/tokens");
  ASSERT_EQ(tokens.status, 200) << tokens.describe();
  EXPECT_EQ(tokens.body.find(token), std::string::npos);
  EXPECT_NE(tokens.body.find(token_id), std::string::npos);

  json human = create_human(admin());
  auto auditor = as(token);
  EXPECT_EQ(auditor->get("/api/v1/identities").status, 200);
  EXPECT_EQ(auditor->get("/api/v1/identities/" + human["id"].get<std::string>()).status, 200);
  EXPECT_EQ(auditor->get("/api/v1/audit").status, 200);

  std::size_t before = count();
  Response create = auditor->post("/api/v1/identities", human_body());
  EXPECT_TRUE(IsProblem(create, 403, "permission_denied"));
  auto event = find_audit_event(admin(), create, "permission_denied", "identity.create");
  ASSERT_TRUE(event) << "refusal not audited: " << create.describe();
  EXPECT_EQ((*event)["actor"], token_id);

  Response suspend =
      auditor->request("POST", "/api/v1/identities/" + human["id"].get<std::string>() + "/suspend");
  EXPECT_TRUE(IsProblem(suspend, 403, "permission_denied"));
  EXPECT_TRUE(RefusalAudited(admin(), suspend, "permission_denied", "identity.suspend"));

  Response mint = auditor->post("/api/v1/tokens", {{"role", "admin"}});
  EXPECT_TRUE(IsProblem(mint, 403, "permission_denied"));
  EXPECT_TRUE(RefusalAudited(admin(), mint, "permission_denied", "token.create"));

  EXPECT_EQ(count(), before);
  EXPECT_EQ(admin().get("/api/v1/identities/" + human["id"].get<std::string>()).json()["state"],
            "active");
}

TEST_F(AuthTest, OwnerSeesAndManagesOnlyWhatItOwns) {
  json mine = create_human(admin(), "Owner");
  json theirs = create_human(admin(), "Someone else");
  std::string me = mine["id"], them = theirs["id"];
  json my_agent = create_agent(admin(), me);
  json their_agent = create_agent(admin(), them);
  auto [token_id, token] = new_token({{"role", "owner"}, {"identity_id", me}});
  ASSERT_FALSE(token.empty());
  auto owner = as(token);

  Response list = owner->get("/api/v1/identities");
  ASSERT_EQ(list.status, 200) << list.describe();
  std::set<std::string> visible;
  json items = list.json()["items"];
  for (auto& i : items) visible.insert(i["id"].get<std::string>());
  EXPECT_TRUE(visible.count(my_agent["id"])) << list.body;
  EXPECT_FALSE(visible.count(their_agent["id"])) << list.body;
  EXPECT_FALSE(visible.count(them)) << list.body;

  EXPECT_EQ(owner->get("/api/v1/identities/" + my_agent["id"].get<std::string>()).status, 200);
  // Another owner's agent looks absent, so that ids do not leak.
  Response other = owner->get("/api/v1/identities/" + their_agent["id"].get<std::string>());
  EXPECT_TRUE(IsProblem(other, 404, "not_found"));
  EXPECT_TRUE(RefusalAudited(admin(), other, "not_found", "identity.read"));
  Response touch = owner->request(
      "POST", "/api/v1/identities/" + their_agent["id"].get<std::string>() + "/activate");
  EXPECT_TRUE(IsProblem(touch, 404, "not_found"));
  EXPECT_TRUE(RefusalAudited(admin(), touch, "not_found", "identity.activate"));
  EXPECT_EQ(
      admin().get("/api/v1/identities/" + their_agent["id"].get<std::string>()).json()["state"],
      "pending");

  // It manages its own agents.
  Response activate = owner->request(
      "POST", "/api/v1/identities/" + my_agent["id"].get<std::string>() + "/activate");
  EXPECT_EQ(activate.status, 200) << activate.describe();

  // It may create non-humans owned by itself, and nothing else.
  Response created = owner->post("/api/v1/identities", owned_body("agent", me));
  ASSERT_EQ(created.status, 201) << created.describe();
  EXPECT_EQ(created.json()["owner_id"], me);
  auto event =
      audit_events(admin(), "target=" + created.json().value("id", "") + "&action=identity.create");
  ASSERT_EQ(event.size(), 1u);
  EXPECT_EQ(event[0]["actor"], me) << "an owner acts as its human";

  std::size_t before = count();
  Response human = owner->post("/api/v1/identities", human_body());
  EXPECT_TRUE(IsProblem(human, 403, "permission_denied"));
  EXPECT_TRUE(RefusalAudited(admin(), human, "permission_denied", "identity.create"));
  Response for_them = owner->post("/api/v1/identities", owned_body("agent", them));
  EXPECT_TRUE(IsProblem(for_them, 403, "permission_denied"));
  EXPECT_TRUE(RefusalAudited(admin(), for_them, "permission_denied", "identity.create"));
  Response mint = owner->post("/api/v1/tokens", {{"role", "admin"}});
  EXPECT_TRUE(IsProblem(mint, 403, "permission_denied"));
  EXPECT_TRUE(RefusalAudited(admin(), mint, "permission_denied", "token.create"));
  EXPECT_EQ(count(), before);
}

TEST_F(AuthTest, RevokedTokenIsRefusedAtOnce) {
  auto [token_id, token] = new_token({{"role", "admin"}, {"description", "short-lived"}});
  auto client = as(token);
  ASSERT_EQ(client->get("/api/v1/identities?limit=1").status, 200);

  Response revoked = admin().del("/api/v1/tokens/" + token_id);
  ASSERT_EQ(revoked.status, 200) << revoked.describe();
  EXPECT_EQ(audit_events(admin(), "target=" + token_id + "&action=token.revoke").size(), 1u);

  // Same kept-alive connection, very next request.
  Response r = client->get("/api/v1/identities?limit=1");
  EXPECT_TRUE(IsProblem(r, 401, "unauthenticated"));
  EXPECT_EQ(r.header("WWW-Authenticate").rfind("Bearer", 0), 0u) << r.describe();
  EXPECT_TRUE(RefusalAudited(admin(), r, "unauthenticated", "identity.list"));
  EXPECT_EQ(client->connects(), 1);
  Response write = client->post("/api/v1/identities", human_body());
  EXPECT_TRUE(IsProblem(write, 401, "unauthenticated"));
}

}  // namespace
}  // namespace custody::apitest
