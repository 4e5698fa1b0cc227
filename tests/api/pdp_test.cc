// The policy store and the AuthZEN PDP against a real custodyd (docs/policy.md,
// docs/authzen.md): the default policies deciding tool calls from the directory's data,
// directory changes taking effect at the next decision, pushes refused with line/column errors,
// atomic activation and rollback, application entities and caller-sent properties, batch
// semantics, the exact response shapes, who may ask, and the audit events of decisions.
#include <gtest/gtest.h>

#include "oauth_fixture.h"

namespace custody::apitest {
namespace {

constexpr const char* kServerS = "https://mcp.example.com";

json tool_call(const std::string& subject_type, const std::string& subject_id,
               const std::string& tool, const std::string& server = kServerS) {
  return {{"subject", {{"type", subject_type}, {"id", subject_id}}},
          {"action", {{"name", "call_tool"}}},
          {"resource", {{"type", "tool"}, {"id", tool}, {"properties", {{"server", server}}}}}};
}

json explained(json request) {
  request["options"] = {{"custody_explain", true}};
  return request;
}

class PdpTest : public SharedCustodydTest {
 protected:
  void SetUp() override {
    SharedCustodydTest::SetUp();
    if (IsSkipped()) return;
    // Each test starts from the default policies (version 1).
    Response r = admin().post("/api/v1/policies/1/activate", json::object());
    ASSERT_EQ(r.status, 200) << r.describe();
  }

  std::string active_identity(const json& body) {
    std::string id = create_identity(admin(), body)["id"].get<std::string>();
    Response r = admin().post("/api/v1/identities/" + id + "/activate", json::object());
    EXPECT_EQ(r.status, 200) << r.describe();
    return id;
  }
  std::string entitle(const std::string& id, const std::string& scope, const std::string& resource,
                      std::optional<std::vector<std::string>> tools = std::nullopt) {
    json body = {{"scope", scope}, {"resource", resource}, {"justification", "pdp test"}};
    if (tools) body["tools"] = *tools;
    Response r = admin().post("/api/v1/identities/" + id + "/entitlements", body);
    EXPECT_EQ(r.status, 201) << r.describe();
    return r.json().value("id", "");
  }
  Response evaluate(const json& request, Client* client = nullptr) {
    return (client ? *client : admin()).post("/access/v1/evaluation", request);
  }
  // The decision of a 200 response; fails the test on anything else.
  bool decision(const Response& r) {
    EXPECT_EQ(r.status, 200) << r.describe();
    return r.json().value("decision", false);
  }
  json reasons(const Response& r) { return r.json()["context"]["reasons"]; }

  Response push(const json& body) { return admin().post("/api/v1/policies", body); }
  std::int64_t pushed_version(const Response& r) {
    EXPECT_EQ(r.status, 201) << r.describe();
    return r.json().value("version", std::int64_t{0});
  }
};

TEST_F(PdpTest, DefaultPoliciesDecideToolCallsFromTheDirectory) {
  std::string owner = create_human(admin(), "Owner")["id"].get<std::string>();
  std::string agent = active_identity(owned_body("agent", owner, "Tool agent"));
  entitle(agent, "tools:call", kServerS, std::vector<std::string>{"search"});

  // The agent holds the tool, but its owner does not: agents act only within their owner's
  // entitlements.
  Response r = evaluate(explained(tool_call("agent", agent, "search")));
  EXPECT_FALSE(decision(r));
  EXPECT_EQ(reasons(r), json::array({"custody/agent-within-owner"})) << r.body;

  entitle(owner, "tools:call", kServerS);  // every tool of the server
  r = evaluate(explained(tool_call("agent", agent, "search")));
  EXPECT_TRUE(decision(r));
  EXPECT_EQ(reasons(r), json::array({"custody/tool-entitled"})) << r.body;
  // Without the explain option the body is exactly AuthZEN's.
  EXPECT_EQ(evaluate(tool_call("agent", agent, "search")).json(), json({{"decision", true}}));

  // A tool the agent's entitlement does not list, and a tool of another server.
  r = evaluate(explained(tool_call("agent", agent, "delete_all")));
  EXPECT_FALSE(decision(r));
  EXPECT_EQ(reasons(r), json::array()) << r.body;  // default deny
  EXPECT_FALSE(decision(evaluate(tool_call("agent", agent, "search", "https://other.example"))));

  // Suspension applies at the next decision, with the policy that forbids it named.
  ASSERT_EQ(admin().post("/api/v1/identities/" + agent + "/suspend", json::object()).status, 200);
  r = evaluate(explained(tool_call("agent", agent, "search")));
  EXPECT_FALSE(decision(r));
  EXPECT_EQ(reasons(r), json::array({"custody/inactive-identity"})) << r.body;

  // An unknown identity is a missing entity: denied, never an error response.
  EXPECT_FALSE(decision(evaluate(tool_call("agent", "agt_01M8N8JX9W162SD1JQW5B1GQCT", "search"))));
}

TEST_F(PdpTest, RevokedEntitlementAndUntrustedDeviceDeny) {
  std::string owner = create_human(admin())["id"].get<std::string>();
  entitle(owner, "tools:call", kServerS);
  std::string svc = active_identity(owned_body("service", owner));
  std::string ent = entitle(svc, "tools:call", kServerS, std::vector<std::string>{"read"});
  EXPECT_TRUE(decision(evaluate(tool_call("service", svc, "read"))));

  // The caller describes the device the service runs on: untrusted forbids.
  json call = explained(tool_call("service", svc, "read"));
  call["subject"]["properties"] = {{"device", {{"id", "dev1"}, {"trust", "untrusted"}}}};
  Response r = evaluate(call);
  EXPECT_FALSE(decision(r));
  EXPECT_EQ(reasons(r), json::array({"custody/untrusted-device"})) << r.body;
  call["subject"]["properties"]["device"]["trust"] = "trusted";
  EXPECT_TRUE(decision(evaluate(call)));

  ASSERT_EQ(admin().del("/api/v1/entitlements/" + ent).status, 200);
  EXPECT_FALSE(decision(evaluate(tool_call("service", svc, "read"))));
}

TEST_F(PdpTest, DenialsAreAuditedWithTheDeterminingPolicies) {
  std::string owner = create_human(admin())["id"].get<std::string>();
  std::string agent = active_identity(owned_body("agent", owner));
  Response r = evaluate(tool_call("agent", agent, "search"));
  ASSERT_FALSE(decision(r));
  auto event = find_audit_event(admin(), r, "deny", "pdp.evaluation");
  ASSERT_TRUE(event.has_value()) << r.describe();
  EXPECT_EQ((*event)["target"], "agent:" + agent);
  const json& d = (*event)["details"]["decisions"][0];
  EXPECT_EQ(d["subject"]["id"], agent);
  EXPECT_EQ(d["action"], "call_tool");
  EXPECT_EQ(d["decision"], false);
  EXPECT_EQ(d["policies"], json::array({"custody/agent-within-owner"}));
  EXPECT_EQ((*event)["details"]["policy_version"], 1);
}

TEST_F(PdpTest, InvalidBundlesAreRefusedWithFileLineAndColumn) {
  Response r = push({{"files",
                      {{{"name", "good.cedar"}, {"text", "permit(principal, action, resource);"}},
                       {{"name", "bad.cedar"},
                        {"text",
                         "permit(principal, action, resource);\nforbid(principal, action, "
                         "resource) when { 1 + };"}}}}});
  ASSERT_TRUE(IsProblem(r, 422, "unprocessable", "files"));
  json errors = r.json()["errors"];
  ASSERT_EQ(errors.size(), 1u) << r.body;
  EXPECT_EQ(errors[0]["file"], "bad.cedar");
  EXPECT_EQ(errors[0]["line"], 2);
  EXPECT_GT(errors[0].value("column", 0), 40);
  EXPECT_TRUE(RefusalAudited(admin(), r, "unprocessable", "policy.push"));

  // Against the schema, an unknown attribute is refused naming the policy.
  r = push({{"files",
             {{{"name", "mine.cedar"},
               {"text",
                "@id(\"mine\")\npermit(principal is Agent, action, resource) when "
                "{ principal.clearance > 3 };"}}}},
            {"schema",
             {{"format", "cedar"},
              {"text",
               "entity Agent; action go appliesTo "
               "{ principal: [Agent], resource: [Agent] };"}}}});
  ASSERT_TRUE(IsProblem(r, 422, "unprocessable", "files"));
  errors = r.json()["errors"];
  ASSERT_EQ(errors.size(), 1u) << r.body;
  EXPECT_EQ(errors[0]["policy_id"], "mine");
  EXPECT_EQ(errors[0]["file"], "mine.cedar");
  EXPECT_NE(errors[0].value("message", "").find("clearance"), std::string::npos) << r.body;

  // Duplicate ids, and a schema that does not parse.
  r = push({{"policies",
             "@id(\"x\") permit(principal, action, resource);\n@id(\"x\") "
             "forbid(principal, action, resource);"}});
  ASSERT_TRUE(IsProblem(r, 422, "unprocessable", "files"));
  EXPECT_NE(r.body.find("duplicate policy id"), std::string::npos) << r.body;
  r = push({{"policies", "permit(principal, action, resource);"},
            {"schema", {{"format", "cedar"}, {"text", "entity ;"}}}});
  ASSERT_TRUE(IsProblem(r, 422, "unprocessable", "files"));
  EXPECT_EQ(r.json()["errors"][0]["file"], "schema") << r.body;

  // Nothing was stored: the active version is still the default.
  EXPECT_EQ(admin().get("/api/v1/policies").json()["active_version"], 1);
}

TEST_F(PdpTest, ActivationSwitchesAtOnceAndRollsBack) {
  json read = {{"subject", {{"type", "User"}, {"id", "alice"}}},
               {"action", {{"name", "read"}}},
               {"resource", {{"type", "Document"}, {"id", "d1"}}}};
  EXPECT_FALSE(decision(evaluate(read)));  // the defaults say nothing about documents

  std::int64_t allow = pushed_version(
      push({{"policies", "@id(\"read\") permit(principal, action == Action::\"read\", resource);"},
            {"description", "allow reads"}}));
  EXPECT_TRUE(decision(evaluate(read)));
  std::int64_t deny =
      pushed_version(push({{"policies", "@id(\"no\") forbid(principal, action, resource);"}}));
  EXPECT_GT(deny, allow);
  EXPECT_FALSE(decision(evaluate(read)));

  // Stored but not active.
  Response staged =
      push({{"policies", "permit(principal, action, resource);"}, {"activate", false}});
  std::int64_t staged_version = pushed_version(staged);
  EXPECT_EQ(staged.json()["active"], false);
  EXPECT_FALSE(decision(evaluate(read)));

  // Roll back to the allowing version.
  Response rb =
      admin().post("/api/v1/policies/" + std::to_string(allow) + "/activate", json::object());
  ASSERT_EQ(rb.status, 200) << rb.describe();
  EXPECT_TRUE(decision(evaluate(read)));
  EXPECT_TRUE(RefusalAudited(admin(), rb, "success", "policy.activate"));

  Response list = admin().get("/api/v1/policies");
  ASSERT_EQ(list.status, 200);
  EXPECT_EQ(list.json()["active_version"], allow);
  EXPECT_EQ(list.json()["items"][0]["version"], staged_version);
  Response one = admin().get("/api/v1/policies/active");
  ASSERT_EQ(one.status, 200) << one.describe();
  EXPECT_EQ(one.json()["version"], allow);
  EXPECT_EQ(one.json()["description"], "allow reads");
  EXPECT_EQ(one.json()["files"][0]["name"], "policies.cedar");
  EXPECT_TRUE(
      IsProblem(admin().post("/api/v1/policies/99999/activate", json::object()), 404, "not_found"));
}

TEST_F(PdpTest, ApplicationEntitiesAndPropertiesAreDecidedOn) {
  pushed_version(
      push({{"policies",
             "@id(\"owner-reads\") permit(principal, action == Action::\"read\", "
             "resource) when { resource has owner && resource.owner == principal };\n"
             "@id(\"admins\") permit(principal in Role::\"admins\", action, resource);"}}));
  json entities =
      json::array({{{"uid", {{"type", "User"}, {"id", "alice"}}},
                    {"attrs", json::object()},
                    {"parents", {{{"type", "Role"}, {"id", "admins"}}}}},
                   {{"uid", {{"type", "User"}, {"id", "bob"}}},
                    {"attrs", json::object()},
                    {"parents", json::array()}},
                   {{"uid", {{"type", "Document"}, {"id", "d1"}}},
                    {"attrs", {{"owner", {{"__entity", {{"type", "User"}, {"id", "bob"}}}}}}},
                    {"parents", json::array()}}});
  Response put = admin().request("PUT", "/api/v1/entities", entities);
  ASSERT_EQ(put.status, 200) << put.describe();
  EXPECT_EQ(put.json()["entity_count"], 3);
  EXPECT_EQ(admin().get("/api/v1/entities").json()["entities"].size(), 3u);

  auto ask = [&](const std::string& who, const std::string& action, const json& resource) {
    return evaluate(explained({{"subject", {{"type", "User"}, {"id", who}}},
                               {"action", {{"name", action}}},
                               {"resource", resource}}));
  };
  json d1 = {{"type", "Document"}, {"id", "d1"}};
  Response r = ask("bob", "read", d1);
  EXPECT_TRUE(decision(r));
  EXPECT_EQ(reasons(r), json::array({"owner-reads"}));
  EXPECT_FALSE(decision(ask("bob", "delete", d1)));
  r = ask("alice", "delete", d1);  // alice is in Role::"admins" through the pushed hierarchy
  EXPECT_TRUE(decision(r));
  EXPECT_EQ(reasons(r), json::array({"admins"}));

  // A resource custody does not store, described by the caller.
  json d9 = {{"type", "Document"},
             {"id", "d9"},
             {"properties", {{"owner", {{"__entity", {{"type", "User"}, {"id", "carol"}}}}}}}};
  EXPECT_TRUE(decision(ask("carol", "read", d9)));
  EXPECT_FALSE(decision(ask("bob", "read", d9)));
  // Properties merge over stored attributes for this request only.
  json d1_carol = d1;
  d1_carol["properties"] = d9["properties"];
  EXPECT_TRUE(decision(ask("carol", "read", d1_carol)));
  EXPECT_FALSE(decision(ask("carol", "read", d1)));

  // Malformed entities are refused before anything is stored.
  Response bad =
      admin().request("PUT", "/api/v1/entities", json::array({{{"uid", {{"type", "User"}}}}}));
  EXPECT_TRUE(IsProblem(bad, 422, "unprocessable", "entities")) << bad.describe();
  EXPECT_TRUE(IsProblem(admin().request("PUT", "/api/v1/entities", json::object()), 400,
                        "invalid_argument"));
}

TEST_F(PdpTest, BatchesFollowTheEvaluationSemantics) {
  pushed_version(push({{"policies",
                        "permit(principal, action == Action::\"read\", resource);\n"
                        "permit(principal, action == Action::\"list\", resource);"}}));
  json batch = {{"subject", {{"type", "User"}, {"id", "u"}}},
                {"resource", {{"type", "Doc"}, {"id", "d"}}},
                {"evaluations",
                 {{{"action", {{"name", "read"}}}},
                  {{"action", {{"name", "write"}}}},
                  {{"action", {{"name", "list"}}}, {"resource", {{"type", "Doc"}, {"id", "e"}}}}}}};
  Response r = admin().post("/access/v1/evaluations", batch);
  ASSERT_EQ(r.status, 200) << r.describe();
  EXPECT_EQ(
      r.json(),
      json({{"evaluations", {{{"decision", true}}, {{"decision", false}}, {{"decision", true}}}}}));

  batch["options"] = {{"evaluations_semantic", "deny_on_first_deny"}};
  r = admin().post("/access/v1/evaluations", batch);
  EXPECT_EQ(r.json(), json({{"evaluations", {{{"decision", true}}, {{"decision", false}}}}}));
  batch["options"] = {{"evaluations_semantic", "permit_on_first_permit"}};
  r = admin().post("/access/v1/evaluations", batch);
  EXPECT_EQ(r.json(), json({{"evaluations", {{{"decision", true}}}}}));

  // No items: one evaluation of the top-level members, answered as a single decision.
  json single = batch;
  single.erase("evaluations");
  single["action"] = {{"name", "read"}};
  r = admin().post("/access/v1/evaluations", single);
  EXPECT_EQ(r.json(), json({{"decision", true}}));

  // A batch with a deny is audited once, listing the denied item.
  batch.erase("options");
  r = admin().post("/access/v1/evaluations", batch);
  auto event = find_audit_event(admin(), r, "deny", "pdp.evaluations");
  ASSERT_TRUE(event.has_value()) << r.describe();
  EXPECT_EQ((*event)["details"]["evaluated"], 3);
  EXPECT_EQ((*event)["details"]["denied"], 1);
  EXPECT_EQ((*event)["details"]["decisions"][0]["index"], 1);
}

TEST_F(PdpTest, MalformedQuestionsAre400NamingTheMember) {
  json q = tool_call("agent", "agt_x", "t");
  q["subject"].erase("id");
  EXPECT_TRUE(IsProblem(evaluate(q), 400, "invalid_argument", "subject.id"));
  q = tool_call("agent", "agt_x", "t");
  q.erase("action");
  EXPECT_TRUE(IsProblem(evaluate(q), 400, "invalid_argument", "action"));
  q = tool_call("agent", "agt_x", "t");
  q["context"] = json::array();
  EXPECT_TRUE(IsProblem(evaluate(q), 400, "invalid_argument", "context"));
  q = tool_call("agent", "agt_x", "t");
  q["resource"]["properties"]["server"] = 1.5;  // not a Cedar value
  Response r = evaluate(q);
  EXPECT_TRUE(IsProblem(r, 400, "invalid_argument", "resource.properties.server"));
  EXPECT_TRUE(RefusalAudited(admin(), r, "invalid_argument", "pdp.evaluation"));

  json batch = {{"subject", {{"type", "User"}, {"id", "u"}}},
                {"action", {{"name", "read"}}},
                {"evaluations",
                 {{{"resource", {{"type", "Doc"}, {"id", "d"}}}}, {{"resource", {{"id", "d"}}}}}}};
  EXPECT_TRUE(IsProblem(admin().post("/access/v1/evaluations", batch), 400, "invalid_argument",
                        "evaluations[1].resource.type"));
  batch["evaluations"] = json::array();
  for (int i = 0; i < 1001; ++i)
    batch["evaluations"].push_back({{"resource", {{"type", "D"}, {"id", "d"}}}});
  EXPECT_TRUE(IsProblem(admin().post("/access/v1/evaluations", batch), 400, "invalid_argument",
                        "evaluations"));
}

TEST_F(PdpTest, OnlyAuthenticatedPepsMayAsk) {
  json q = tool_call("agent", "agt_x", "t");
  Client anonymous(server().port());
  Response r = anonymous.post("/access/v1/evaluation", q);
  EXPECT_TRUE(IsProblem(r, 401, "unauthenticated"));
  EXPECT_NE(r.header("WWW-Authenticate").find("Bearer"), std::string::npos);
  EXPECT_TRUE(RefusalAudited(admin(), r, "unauthenticated", "pdp.evaluation"));

  // An owner-role admin API token may not.
  std::string human = create_human(admin())["id"].get<std::string>();
  Response tok = admin().post("/api/v1/tokens", json{{"role", "owner"}, {"identity_id", human}});
  ASSERT_EQ(tok.status, 201) << tok.describe();
  Client owner(server().port(), tok.json().value("token", ""));
  r = owner.post("/access/v1/evaluation", q);
  EXPECT_TRUE(IsProblem(r, 403, "permission_denied"));

  // A custody access token: only with the PDP scope and audience.
  std::string issuer = server().url();
  std::string pep = active_identity(owned_body("service", human, "PEP"));
  entitle(pep, "custody:pdp", issuer);
  entitle(pep, "other", issuer);
  Response cred =
      admin().post("/api/v1/identities/" + pep + "/credentials", json{{"type", "client_secret"}});
  ASSERT_EQ(cred.status, 201) << cred.describe();
  std::string basic =
      "Basic " + base64_encode(pep + ":" + form_encode(cred.json().value("secret", "")));
  auto token = [&](const std::string& scope) {
    Client c(server().port());
    Response t = c.request_raw(
        "POST", "/oauth2/token",
        "grant_type=client_credentials&audience=" + form_encode(issuer) + "&scope=" + scope,
        {{"Content-Type", "application/x-www-form-urlencoded"}, {"Authorization", basic}});
    EXPECT_EQ(t.status, 200) << t.describe();
    return t.json().value("access_token", std::string());
  };
  Client without(server().port(), token("other"));
  r = without.post("/access/v1/evaluation", q);
  EXPECT_TRUE(IsProblem(r, 403, "permission_denied"));
  EXPECT_NE(r.json().value("detail", "").find("custody:pdp"), std::string::npos) << r.body;

  std::string good = token("custody:pdp");
  Client with(server().port(), good);
  r = with.post("/access/v1/evaluation", q);
  EXPECT_EQ(r.status, 200) << r.describe();
  EXPECT_EQ(r.json(), json({{"decision", false}}));

  // Revoking the PEP's token cuts it off at once.
  Client revoker(server().port());
  Response rv = revoker.request_raw(
      "POST", "/oauth2/revoke", "token=" + form_encode(good),
      {{"Content-Type", "application/x-www-form-urlencoded"}, {"Authorization", basic}});
  ASSERT_EQ(rv.status, 200) << rv.describe();
  r = with.post("/access/v1/evaluation", q);
  EXPECT_TRUE(IsProblem(r, 401, "unauthenticated"));
  EXPECT_NE(r.json().value("detail", "").find("revoked"), std::string::npos) << r.body;
}

TEST_F(PdpTest, MetadataNamesTheEndpoints) {
  Client anonymous(server().port());
  Response r = anonymous.get("/.well-known/authzen-configuration");
  ASSERT_EQ(r.status, 200) << r.describe();
  json m = r.json();
  EXPECT_EQ(m["policy_decision_point"], server().url());
  EXPECT_EQ(m["access_evaluation_endpoint"], server().url() + "/access/v1/evaluation");
  EXPECT_EQ(m["access_evaluations_endpoint"], server().url() + "/access/v1/evaluations");
}

}  // namespace
}  // namespace custody::apitest
