// /api/v1/identities: creation defaults, ETag/If-Match, PATCH, list filters and pagination,
// the lifecycle and offboarding (docs/api.md, Identities).
#include <set>

#include "harness.h"

namespace custody::apitest {
namespace {

class IdentitiesTest : public SharedCustodydTest {
 protected:
  std::string path(const json& identity) {
    return "/api/v1/identities/" + identity.value("id", std::string("missing"));
  }
  json get(const json& identity) { return admin().get(path(identity)).json(); }
  std::size_t count() { return all_identities(admin()).size(); }
  // Success events for `action` on `target`.
  std::size_t audited(const std::string& target, const std::string& action) {
    return audit_events(admin(), "target=" + target + "&action=" + action + "&outcome=success")
        .size();
  }
};

TEST_F(IdentitiesTest, HumanIsCreatedActiveWithoutOwner) {
  Response r = admin().post("/api/v1/identities", {{"kind", "human"},
                                                   {"display_name", "Ada Lovelace"},
                                                   {"description", "first programmer"},
                                                   {"labels", {{"team", "math"}}}});
  ASSERT_EQ(r.status, 201) << r.describe();
  json h = r.json();
  std::string id = h.value("id", "");
  EXPECT_EQ(id.rfind("usr_", 0), 0u) << id;
  EXPECT_EQ(h["kind"], "human");
  EXPECT_EQ(h["display_name"], "Ada Lovelace");
  EXPECT_EQ(h["description"], "first programmer");
  EXPECT_EQ(h["labels"], json({{"team", "math"}}));
  EXPECT_TRUE(h["owner_id"].is_null());
  EXPECT_EQ(h["state"], "active");
  EXPECT_EQ(h["version"], 1);
  EXPECT_TRUE(h["created_at"].is_string());
  EXPECT_TRUE(h["updated_at"].is_string());
  EXPECT_EQ(r.header("Location"), "/api/v1/identities/" + id);
  EXPECT_EQ(r.header("ETag"), "\"1\"");

  Response got = admin().get("/api/v1/identities/" + id);
  ASSERT_EQ(got.status, 200) << got.describe();
  EXPECT_EQ(got.json(), h);
  EXPECT_EQ(got.header("ETag"), "\"1\"");
  EXPECT_EQ(audited(id, "identity.create"), 1u);
}

TEST_F(IdentitiesTest, AgentWithOwnerStartsPendingAndActivates) {
  json owner = create_human(admin());
  Response r =
      admin().post("/api/v1/identities", owned_body("agent", owner["id"].get<std::string>()));
  ASSERT_EQ(r.status, 201) << r.describe();
  json agent = r.json();
  EXPECT_EQ(agent.value("id", "").rfind("agt_", 0), 0u) << agent.dump();
  EXPECT_EQ(agent["state"], "pending");
  EXPECT_EQ(agent["owner_id"], owner["id"]);

  Response activated = admin().request("POST", path(agent) + "/activate");
  ASSERT_EQ(activated.status, 200) << activated.describe();
  EXPECT_EQ(activated.json()["state"], "active");
  EXPECT_EQ(activated.json()["version"], 2);
  EXPECT_EQ(activated.header("ETag"), "\"2\"");
  EXPECT_EQ(get(agent)["state"], "active");
  EXPECT_EQ(audited(agent["id"], "identity.activate"), 1u);

  // The other non-human kinds take the same path, with their own id prefixes.
  for (auto [kind, prefix] : {std::pair{"service", "svc_"}, std::pair{"mcp_server", "mcp_"}}) {
    json other = create_identity(admin(), owned_body(kind, owner["id"].get<std::string>()));
    EXPECT_EQ(other.value("id", "").rfind(prefix, 0), 0u) << other.dump();
    EXPECT_EQ(other["state"], "pending");
  }
}

TEST_F(IdentitiesTest, StaleIfMatchIsRefusedAndChangesNothing) {
  json h = create_human(admin(), "Before");
  Response renamed = admin().patch(path(h), {{"display_name", "Renamed"}}, {{"If-Match", "\"1\""}});
  ASSERT_EQ(renamed.status, 200) << renamed.describe();
  EXPECT_EQ(renamed.header("ETag"), "\"2\"");

  // Version 1 is stale now: both PATCH and a lifecycle action refuse it.
  Response stale =
      admin().patch(path(h), {{"display_name", "Lost update"}}, {{"If-Match", "\"1\""}});
  EXPECT_TRUE(IsProblem(stale, 412, "precondition_failed"));
  EXPECT_TRUE(RefusalAudited(admin(), stale, "precondition_failed", "identity.update"));

  Response stale_suspend =
      admin().request("POST", path(h) + "/suspend", json::object(), {{"If-Match", "\"1\""}});
  EXPECT_TRUE(IsProblem(stale_suspend, 412, "precondition_failed"));
  EXPECT_TRUE(RefusalAudited(admin(), stale_suspend, "precondition_failed", "identity.suspend"));

  json now = get(h);
  EXPECT_EQ(now["display_name"], "Renamed");
  EXPECT_EQ(now["state"], "active");
  EXPECT_EQ(now["version"], 2);
  EXPECT_EQ(audited(h["id"], "identity.update"), 1u);

  // The current ETag works.
  Response fresh = admin().patch(path(h), {{"display_name", "After"}}, {{"If-Match", "\"2\""}});
  EXPECT_EQ(fresh.status, 200) << fresh.describe();
  EXPECT_EQ(fresh.header("ETag"), "\"3\"");
}

TEST_F(IdentitiesTest, PatchReplacesLabelsAndReassignsOwner) {
  json first = create_human(admin());
  json second = create_human(admin());
  json body = owned_body("agent", first["id"].get<std::string>());
  body["labels"] = {{"team", "billing"}, {"tier", "gold"}};
  json agent = create_identity(admin(), body);

  Response labels = admin().patch(path(agent), {{"labels", {{"env", "prod"}}}});
  ASSERT_EQ(labels.status, 200) << labels.describe();
  EXPECT_EQ(labels.json()["labels"], json({{"env", "prod"}})) << "labels replace the whole map";

  Response moved = admin().patch(path(agent), {{"owner_id", second["id"]}});
  ASSERT_EQ(moved.status, 200) << moved.describe();
  EXPECT_EQ(moved.json()["owner_id"], second["id"]);

  json now = get(agent);
  EXPECT_EQ(now["labels"], json({{"env", "prod"}}));
  EXPECT_EQ(now["owner_id"], second["id"]);
  EXPECT_EQ(now["display_name"], agent["display_name"]) << "untouched members stay";
  EXPECT_EQ(now["version"], 3);
  EXPECT_EQ(audited(agent["id"], "identity.update"), 2u);
}

TEST_F(IdentitiesTest, ListFiltersByKindStateOwnerAndLabels) {
  // A run label keeps this test's identities apart from the rest of the shared server's.
  std::string run = random_hex(6);
  auto labelled = [&](json body, json extra) {
    body["labels"] = {{"run", run}};
    body["labels"].update(extra);
    return create_identity(admin(), body);
  };
  json alice = labelled(human_body(), {{"team", "a"}});
  json bob = labelled(human_body(), {{"team", "b"}});
  std::string a = alice["id"], b = bob["id"];
  json a1 = labelled(owned_body("agent", a), {{"team", "a"}});
  json a2 = labelled(owned_body("agent", a), {{"team", "b"}});
  json s1 = labelled(owned_body("service", b), {{"team", "a"}});
  ASSERT_EQ(admin().request("POST", path(a1) + "/activate").status, 200);

  auto ids = [&](const std::string& query) {
    Response r = admin().get("/api/v1/identities?label=run:" + run + "&" + query);
    EXPECT_EQ(r.status, 200) << query << "\n" << r.describe();
    std::set<std::string> out;
    json items = r.json()["items"];
    for (auto& i : items) out.insert(i["id"].get<std::string>());
    return out;
  };
  using Ids = std::set<std::string>;
  EXPECT_EQ(ids("kind=human"), (Ids{a, b}));
  EXPECT_EQ(ids("kind=agent"), (Ids{a1["id"], a2["id"]}));
  EXPECT_EQ(ids("state=pending"), (Ids{a2["id"], s1["id"]}));
  EXPECT_EQ(ids("state=active&kind=agent"), (Ids{a1["id"]}));
  EXPECT_EQ(ids("owner_id=" + a), (Ids{a1["id"], a2["id"]}));
  EXPECT_EQ(ids("owner_id=" + b), (Ids{s1["id"]}));
  EXPECT_EQ(ids("label=team:a"), (Ids{a, a1["id"], s1["id"]}));
  EXPECT_EQ(ids("label=team:a&kind=agent"), (Ids{a1["id"]}));
  EXPECT_EQ(ids("label=team:zzz"), Ids{});
  EXPECT_EQ(ids("kind=mcp_server"), Ids{});
}

TEST_F(IdentitiesTest, CursorPaginationVisitsEveryIdentityOnce) {
  std::string run = random_hex(6);
  std::set<std::string> created;
  for (int i = 0; i < 25; ++i) {
    json body = human_body("Paged " + std::to_string(i));
    body["labels"] = {{"run", run}};
    created.insert(create_identity(admin(), body).value("id", ""));
  }
  ASSERT_EQ(created.size(), 25u);

  std::vector<std::size_t> sizes;
  std::set<std::string> seen;
  std::string cursor;
  for (int page = 0; page < 5; ++page) {
    std::string target = "/api/v1/identities?label=run:" + run + "&limit=10";
    if (!cursor.empty()) target += "&cursor=" + cursor;
    Response r = admin().get(target);
    ASSERT_EQ(r.status, 200) << r.describe();
    json j = r.json();
    sizes.push_back(j["items"].size());
    for (auto& item : j["items"]) {
      EXPECT_TRUE(seen.insert(item["id"].get<std::string>()).second)
          << "duplicate " << item["id"] << " on page " << page;
    }
    if (j["next_cursor"].is_null()) break;
    ASSERT_TRUE(j["next_cursor"].is_string()) << r.describe();
    cursor = j["next_cursor"];
  }
  EXPECT_EQ(sizes, (std::vector<std::size_t>{10, 10, 5}));
  EXPECT_EQ(seen, created);
}

TEST_F(IdentitiesTest, IllegalTransitionsAreConflictsNamingTheCurrentState) {
  json owner = create_human(admin());
  std::string o = owner["id"];
  json retired = create_agent(admin(), o);
  ASSERT_EQ(admin().request("POST", path(retired) + "/retire", json::object()).status, 200);
  json pending = create_agent(admin(), o);
  json active_human = create_human(admin());
  json discovered = create_identity(admin(), [&] {
    json b = owned_body("agent", o);
    b["state"] = "discovered";
    return b;
  }());
  ASSERT_EQ(discovered["state"], "discovered");

  struct Case {
    json identity;
    std::string verb, current, action;
  };
  std::vector<Case> cases = {
      {retired, "activate", "retired", "identity.activate"},
      {retired, "retire", "retired", "identity.retire"},
      {retired, "suspend", "retired", "identity.suspend"},
      {pending, "suspend", "pending", "identity.suspend"},
      {pending, "submit", "pending", "identity.submit"},
      {active_human, "activate", "active", "identity.activate"},
      {active_human, "submit", "active", "identity.submit"},
      {discovered, "activate", "discovered", "identity.activate"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.current + " → " + c.verb);
    json before = get(c.identity);
    Response r = admin().request("POST", path(c.identity) + "/" + c.verb, json::object());
    EXPECT_TRUE(IsProblem(r, 409, "conflict"));
    json p = r.json();
    EXPECT_NE(p.value("detail", "").find(c.current), std::string::npos) << r.describe();
    EXPECT_EQ(p.value("current_state", ""), c.current)
        << "docs/api.md: a 409 carries a current_state member\n"
        << r.describe();
    EXPECT_TRUE(RefusalAudited(admin(), r, "conflict", c.action));
    EXPECT_EQ(get(c.identity), before) << "a refused transition changed the identity";
  }

  // The legal path still works: discovered → pending → active.
  EXPECT_EQ(admin().request("POST", path(discovered) + "/submit").status, 200);
  EXPECT_EQ(admin().request("POST", path(discovered) + "/activate").status, 200);
  EXPECT_EQ(get(discovered)["state"], "active");
}

TEST_F(IdentitiesTest, SuspendingAHumanOffboardsWhatItStillOwns) {
  json human = create_human(admin());
  json keeper = create_human(admin());
  std::string h = human["id"];
  json active_agent = create_identity(admin(), [&] {
    json b = owned_body("agent", h);
    b["state"] = "active";
    return b;
  }());
  ASSERT_EQ(active_agent["state"], "active");
  json pending_agent = create_agent(admin(), h);
  json reassigned = create_agent(admin(), h);
  ASSERT_EQ(admin().request("POST", path(reassigned) + "/activate").status, 200);
  // Reassigned first, so it keeps running.
  ASSERT_EQ(admin().patch(path(reassigned), {{"owner_id", keeper["id"]}}).status, 200);

  Response r =
      admin().request("POST", path(human) + "/suspend", json{{"reason", "left the company"}});
  ASSERT_EQ(r.status, 200) << r.describe();
  json j = r.json();
  EXPECT_EQ(j["identity"]["state"], "suspended");
  ASSERT_TRUE(j["affected"].is_array()) << r.describe();
  std::set<std::string> affected;
  for (auto& id : j["affected"]) affected.insert(id.get<std::string>());
  EXPECT_EQ(j["affected"].size(), 2u) << r.describe();
  EXPECT_EQ(affected, (std::set<std::string>{active_agent["id"], pending_agent["id"]}));

  EXPECT_EQ(get(human)["state"], "suspended");
  EXPECT_EQ(get(active_agent)["state"], "suspended");
  EXPECT_EQ(get(pending_agent)["state"], "suspended");
  json kept = get(reassigned);
  EXPECT_EQ(kept["state"], "active");
  EXPECT_EQ(kept["owner_id"], keeper["id"]);
  EXPECT_EQ(audited(h, "identity.suspend"), 1u);
  EXPECT_EQ(audited(active_agent["id"], "identity.suspend"), 1u);
  EXPECT_EQ(audited(pending_agent["id"], "identity.suspend"), 1u);
  EXPECT_EQ(audited(reassigned["id"], "identity.suspend"), 0u);

  // Its agents cannot come back while it is suspended: the owner is no longer an active human.
  Response back = admin().request("POST", path(active_agent) + "/activate");
  EXPECT_TRUE(IsProblem(back, 422, "unprocessable"));
  EXPECT_TRUE(RefusalAudited(admin(), back, "unprocessable", "identity.activate"));
  EXPECT_EQ(get(active_agent)["state"], "suspended");
}

TEST_F(IdentitiesTest, NonHumanNeedsAnActiveHumanOwner) {
  json human = create_human(admin());
  json agent = create_agent(admin(), human["id"].get<std::string>());
  json suspended = create_human(admin());
  ASSERT_EQ(admin().request("POST", path(suspended) + "/suspend").status, 200);
  std::size_t before = count();

  struct Case {
    std::string name;
    json body;
  };
  std::vector<Case> cases = {
      {"no owner", {{"kind", "agent"}, {"display_name", "orphan"}}},
      {"null owner", {{"kind", "service"}, {"display_name", "orphan"}, {"owner_id", nullptr}}},
      {"owner is an agent", owned_body("agent", agent["id"].get<std::string>())},
      {"owner is suspended", owned_body("mcp_server", suspended["id"].get<std::string>())},
      {"owner does not exist", owned_body("agent", "usr_01JD0000000000000000000000")},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    Response r = admin().post("/api/v1/identities", c.body);
    EXPECT_TRUE(IsProblem(r, 422, "unprocessable", "owner_id"));
    EXPECT_TRUE(RefusalAudited(admin(), r, "unprocessable", "identity.create"));
  }
  // Reassigning to a non-owner is refused the same way.
  Response moved = admin().patch(path(agent), {{"owner_id", suspended["id"]}});
  EXPECT_TRUE(IsProblem(moved, 422, "unprocessable", "owner_id"));
  EXPECT_TRUE(RefusalAudited(admin(), moved, "unprocessable", "identity.update"));
  EXPECT_EQ(get(agent)["owner_id"], human["id"]);
  EXPECT_EQ(count(), before) << "a refused create added an identity";
}

}  // namespace
}  // namespace custody::apitest
