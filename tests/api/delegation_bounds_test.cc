// Bounded delegation as policy (docs/delegation-bounds.md), end to end through the token
// endpoint: every issuance is decided by the active Cedar policies after the built-in bounds.
// Each bound is violated once and the refusal asserted with its error, its bound (from the
// policy's @bound annotation), the policy named in the description, and the audit event; the
// permitted issuances carry the policy decision in their delegation records.
#include <gtest/gtest.h>

#include <ctime>

#include "oauth_fixture.h"

namespace custody::apitest {
namespace {

class DelegationBoundsTest : public OAuthFixture {
 protected:
  void SetUp() override {
    OAuthFixture::SetUp();
    if (IsSkipped()) return;
    // Every test starts from the default policies.
    Response r = admin().post("/api/v1/policies/1/activate", json::object());
    ASSERT_EQ(r.status, 200) << r.describe();
  }

  // Pushes the default bundle plus `extra` (one more policy file) and activates it.
  void push_defaults_with(const std::string& extra) {
    Response defaults = admin().get("/api/v1/policies/1");
    ASSERT_EQ(defaults.status, 200) << defaults.describe();
    json body = {{"files", defaults.json()["files"]}, {"schema", defaults.json()["schema"]}};
    body["files"].push_back({{"name", "test.cedar"}, {"text", extra}});
    Response r = admin().post("/api/v1/policies", body);
    ASSERT_EQ(r.status, 201) << r.describe();
  }

  // A chain A → B → C: A's token for B, B's exchange of it for C.
  struct Chain {
    Agent a, b, c;
  };
  Chain chain(const std::string& name) {
    Chain ch{agent(name + "-a"), agent(name + "-b"), agent(name + "-c")};
    entitle(ch.a, "read", ch.b.id);
    entitle(ch.b, "read", ch.c.id);
    return ch;
  }
  std::string token_for_b(const Chain& ch,
                          std::vector<std::pair<std::string, std::string>> extra = {}) {
    std::vector<std::pair<std::string, std::string>> p = {{"grant_type", "client_credentials"},
                                                          {"audience", ch.b.id}};
    p.insert(p.end(), extra.begin(), extra.end());
    Response r = post_form("/oauth2/token", ch.a, p);
    EXPECT_EQ(r.status, 200) << r.describe();
    return token_of(r);
  }
  void label(const std::string& id, const std::string& key, const std::string& value) {
    Response cur = admin().get("/api/v1/identities/" + id);
    json labels = cur.json().value("labels", json::object());
    labels[key] = value;
    Response r = admin().patch(
        "/api/v1/identities/" + id, json{{"labels", labels}},
        {{"If-Match", "\"" + std::to_string(cur.json()["version"].get<int>()) + "\""}});
    ASSERT_EQ(r.status, 200) << r.describe();
  }
};

TEST_F(DelegationBoundsTest, AChainInBoundsRecordsThePermittingPolicies) {
  Chain ch = chain("ok");
  Response t1 = post_form("/oauth2/token", ch.a,
                          {{"grant_type", "client_credentials"}, {"audience", ch.b.id}});
  ASSERT_EQ(t1.status, 200) << t1.describe();
  Response t2 = exchange(ch.b, token_of(t1), {{"audience", ch.c.id}});
  ASSERT_EQ(t2.status, 200) << t2.describe();
  std::string jti = claims_of(token_of(t2))["jti"];
  Response record = admin().get("/api/v1/delegations/" + jti);
  ASSERT_EQ(record.status, 200) << record.describe();
  EXPECT_EQ(record.json()["policy"]["version"], 1);
  EXPECT_EQ(record.json()["policy"]["policies"], json::array({"custody/delegate"}));
  std::string root = claims_of(token_of(t1))["jti"];
  EXPECT_EQ(admin().get("/api/v1/delegations/" + root).json()["policy"]["policies"],
            json::array({"custody/obtain"}));
}

TEST_F(DelegationBoundsTest, ForbiddenDelegateeIsRefusedNamingTheBoundAndPolicy) {
  push_defaults_with(
      "@id(\"billing-only\") @bound(\"delegatee\") @reason(\"only the billing team's agents may "
      "act for others\")\n"
      "forbid (principal, action == Action::\"delegate\", resource)\n"
      "unless { principal in Team::\"billing\" };");
  Chain ch = chain("team");
  Response r = exchange(ch.b, token_for_b(ch), {{"audience", ch.c.id}});
  ASSERT_TRUE(Refused(r, 400, "invalid_request", "delegatee", "billing-only"));
  EXPECT_NE(r.json().value("error_description", "").find("only the billing team"),
            std::string::npos)
      << r.body;

  label(ch.b.id, "team", "billing");
  EXPECT_EQ(exchange(ch.b, token_for_b(ch), {{"audience", ch.c.id}}).status, 200);
}

TEST_F(DelegationBoundsTest, TimeWindowsUseTheRequestTime) {
  std::time_t t = std::time(nullptr);
  std::tm utc{};
  gmtime_r(&t, &utc);
  // A window that excludes the current UTC hour forbids; one that includes it does not.
  auto window = [](int from, int to) {
    return "@id(\"hours\") @bound(\"time_window\")\n"
           "forbid (principal, action == Action::\"delegate\", resource)\n"
           "unless { context.now.toTime() >= duration(\"" +
           std::to_string(from) + "h\") && context.now.toTime() < duration(\"" +
           std::to_string(to) + "h\") };";
  };
  Chain ch = chain("hours");
  int h = utc.tm_hour;
  // [h+1, h+2) (or [0, 1) at 23h) does not contain the current hour.
  push_defaults_with(window((h + 1) % 24, (h + 1) % 24 + 1));
  Response r = exchange(ch.b, token_for_b(ch), {{"audience", ch.c.id}});
  ASSERT_TRUE(Refused(r, 400, "invalid_request", "time_window", "hours"));
  push_defaults_with(window(h, h + 1));
  EXPECT_EQ(exchange(ch.b, token_for_b(ch), {{"audience", ch.c.id}}).status, 200);
}

TEST_F(DelegationBoundsTest, MaxHopsIsDecrementedPerHopAndZeroStopsRedelegation) {
  Chain ch = chain("hops");
  entitle(ch.c, "read", ch.a.id);
  std::string t1 = token_for_b(ch, {{"max_hops", "1"}});
  EXPECT_EQ(claims_of(t1)["max_hops"], 1);
  // Asking for more hops than are left is refused.
  ASSERT_TRUE(Refused(exchange(ch.b, t1, {{"audience", ch.c.id}, {"max_hops", "2"}}), 400,
                      "invalid_request", "max_hops", "exceeds"));
  Response t2 = exchange(ch.b, t1, {{"audience", ch.c.id}});
  ASSERT_EQ(t2.status, 200) << t2.describe();
  EXPECT_EQ(claims_of(token_of(t2))["max_hops"], 0);
  // C may not pass it on.
  ASSERT_TRUE(Refused(exchange(ch.c, token_of(t2), {{"audience", ch.a.id}}), 400, "invalid_request",
                      "max_hops", "must not be delegated"));
  // Authority marked as not to be re-delegated at all.
  std::string sealed = token_for_b(ch, {{"max_hops", "0"}});
  ASSERT_TRUE(Refused(exchange(ch.b, sealed, {{"audience", ch.c.id}}), 400, "invalid_request",
                      "max_hops", "max_hops 0"));
}

TEST_F(DelegationBoundsTest, AnIdentitysOwnDepthCapApplies) {
  Chain ch = chain("depth");
  entitle(ch.c, "read", ch.a.id);
  label(ch.c.id, "custody.dev/max-depth", "1");
  Response t2 = exchange(ch.b, token_for_b(ch), {{"audience", ch.c.id}});
  ASSERT_EQ(t2.status, 200) << t2.describe();  // depth 1, C not yet in the chain
  // Depth 2 through C (as the delegatee) exceeds its cap of 1.
  ASSERT_TRUE(Refused(exchange(ch.c, token_of(t2), {{"audience", ch.a.id}}), 400, "invalid_request",
                      "depth", "custody/identity-max-depth"));
}

TEST_F(DelegationBoundsTest, NoHopReachesAnAudienceOutsideTheInitiatorsEntitlements) {
  push_defaults_with(
      "@id(\"root-audiences\") @bound(\"audience\")\n"
      "forbid (principal, action == Action::\"delegate\", resource)\n"
      "when { context.initiator_kind != \"external\" && "
      "!context.initiator_audiences.contains(context.audience) };");
  Chain ch = chain("aud");
  // B is entitled to C's audience, but A (the initiator) is not.
  ASSERT_TRUE(Refused(exchange(ch.b, token_for_b(ch), {{"audience", ch.c.id}}), 400,
                      "invalid_request", "audience", "root-audiences"));
  entitle(ch.a, "read", ch.c.id);
  EXPECT_EQ(exchange(ch.b, token_for_b(ch), {{"audience", ch.c.id}}).status, 200);
}

TEST_F(DelegationBoundsTest, CrossingIntoAnotherSystemNeedsAnApproval) {
  push_defaults_with(
      "@id(\"cross-system\") @approval(\"delegation into another system\")\n"
      "forbid (principal, action == Action::\"delegate\", resource)\n"
      "when { context.new_audience };");
  Chain ch = chain("cross");
  // Staying within the subject token's audience needs nothing ...
  entitle(ch.a, "read", ch.c.id);
  std::string both = token_of(post_form(
      "/oauth2/token", ch.a,
      {{"grant_type", "client_credentials"}, {"audience", ch.b.id}, {"audience", ch.c.id}}));
  EXPECT_EQ(exchange(ch.b, both, {{"audience", ch.c.id}}).status, 200);
  // ... reaching a new audience is held for a human (bound "approval").
  std::string subject = token_for_b(ch);
  ASSERT_TRUE(Refused(exchange(ch.b, subject, {{"audience", ch.c.id}}), 400, "invalid_request",
                      "approval", "needs a human approval"));

  // B asks through CIBA with the exchange it wants; the owner approves that exact delegation.
  const std::string kTokenType = "urn:ietf:params:oauth:token-type:access_token";
  Response asked = post_form("/oauth2/bc-authorize", ch.b,
                             {{"subject_token", subject},
                              {"subject_token_type", kTokenType},
                              {"audience", ch.c.id},
                              {"scope", "read"},
                              {"login_hint", owner_}});
  ASSERT_EQ(asked.status, 200) << asked.describe();
  std::string id = asked.json()["auth_req_id"];
  Response held = admin().get("/api/v1/approvals/" + id);
  EXPECT_EQ(held.json()["question"].value("action", ""), "delegate") << held.body;
  EXPECT_NE(held.json()["question"].value("resource", json()).dump().find(ch.a.id),
            std::string::npos)
      << held.body;
  ASSERT_EQ(admin().post("/api/v1/approvals/" + id + "/approve", json::object()).status, 200);

  auto redeem = [&](std::vector<std::pair<std::string, std::string>> extra) {
    std::vector<std::pair<std::string, std::string>> p = {
        {"grant_type", "urn:openid:params:grant-type:ciba"}, {"auth_req_id", id}};
    p.insert(p.end(), extra.begin(), extra.end());
    return post_form("/oauth2/token", ch.b, p);
  };
  // The approval is for that subject token only, which custody never stored: it must come again.
  EXPECT_TRUE(Refused(redeem({}), 400, "invalid_request", "", "subject_token is required"));
  EXPECT_TRUE(Refused(redeem({{"subject_token", token_for_b(ch)}}), 400, "invalid_grant", "",
                      "not the one the approval was given for"));
  Response token = redeem({{"subject_token", subject}});
  ASSERT_EQ(token.status, 200) << token.describe();
  json claims = claims_of(token_of(token));
  EXPECT_EQ(claims["sub"], ch.a.id);
  EXPECT_EQ(claims["act"]["sub"], ch.b.id);
  EXPECT_EQ(claims["aud"], ch.c.id);
  EXPECT_EQ(claims["custody"]["approval_id"], id);
  // One approval, one delegation.
  EXPECT_TRUE(
      Refused(redeem({{"subject_token", subject}}), 400, "invalid_grant", "", "already used"));
}

TEST_F(DelegationBoundsTest, ObtainingATokenIsDecidedToo) {
  push_defaults_with(
      "@id(\"agents-need-dpop\") @bound(\"dpop\")\n"
      "forbid (principal is Agent, action == Action::\"obtain\", resource)\n"
      "unless { context.dpop };");
  Chain ch = chain("dpop");
  Response r = post_form("/oauth2/token", ch.a,
                         {{"grant_type", "client_credentials"}, {"audience", ch.b.id}});
  ASSERT_TRUE(Refused(r, 400, "unauthorized_client", "dpop", "agents-need-dpop"));
}

TEST_F(DelegationBoundsTest, ABundleWithoutIssuancePermitsIssuesNothing) {
  const json defaults = admin().get("/api/v1/policies/1").json();
  json body = {{"files", json::array()}, {"schema", defaults["schema"]}};
  for (const auto& f : defaults["files"])
    if (f["name"] != "delegation.cedar") body["files"].push_back(f);
  Response pushed = admin().post("/api/v1/policies", body);
  ASSERT_EQ(pushed.status, 201) << pushed.describe();
  Chain ch = chain("none");
  Response r = post_form("/oauth2/token", ch.a,
                         {{"grant_type", "client_credentials"}, {"audience", ch.b.id}});
  ASSERT_TRUE(Refused(r, 400, "unauthorized_client", "policy", "no policy permits"));
}

}  // namespace
}  // namespace custody::apitest

namespace custody::apitest {
namespace {

// Continuous revocation: withdrawing authority kills the live tokens that carry it, at once.
class ContinuousRevocationTest : public DelegationBoundsTest {
 protected:
  bool active(const Agent& asker, const std::string& token) {
    Response r = post_form("/oauth2/introspect", asker, {{"token", token}});
    EXPECT_EQ(r.status, 200) << r.describe();
    return r.json().value("active", false);
  }
};

TEST_F(ContinuousRevocationTest, SuspendingAnActorMidChainRevokesItsSubtree) {
  Chain ch = chain("mid");
  entitle(ch.c, "read", ch.a.id);
  std::string t1 = token_for_b(ch);
  Response t2 = exchange(ch.b, t1, {{"audience", ch.c.id}});
  ASSERT_EQ(t2.status, 200) << t2.describe();
  Response t3 = exchange(ch.c, token_of(t2), {{"audience", ch.a.id}});
  ASSERT_EQ(t3.status, 200) << t3.describe();

  Response s =
      admin().post("/api/v1/identities/" + ch.b.id + "/suspend", json{{"reason", "compromised"}});
  ASSERT_EQ(s.status, 200) << s.describe();
  EXPECT_EQ(s.json()["revoked_tokens"], 2);  // B's hop and C's hop below it
  EXPECT_TRUE(active(ch.a, t1));             // A's own token does not carry B's authority
  EXPECT_FALSE(active(ch.c, token_of(t2)));  // B itself is suspended: C asks
  EXPECT_FALSE(active(ch.c, token_of(t3)));
  auto events = audit_events(admin(), "action=delegation.revoke&target=" + ch.b.id);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0]["details"]["cause"], "identity.suspend");
  EXPECT_EQ(events[0]["details"]["revoked_count"], 2);
}

TEST_F(ContinuousRevocationTest, RetiringAnOwnerRevokesTheTokensOfWhatItOwns) {
  Chain ch = chain("owner");
  std::string t1 = token_for_b(ch);
  Response r = admin().post("/api/v1/identities/" + owner_ + "/retire", json::object());
  ASSERT_EQ(r.status, 200) << r.describe();
  EXPECT_GE(r.json()["revoked_tokens"].get<int>(), 1);
  Response intro = post_form("/oauth2/introspect", ch.a, {{"token", t1}});
  // A is suspended with its owner, so it cannot even authenticate to introspect.
  EXPECT_NE(intro.status, 200);
  owner_ = create_human(admin())["id"].get<std::string>();  // later tests need a live owner
}

TEST_F(ContinuousRevocationTest, RevokingAnEntitlementRevokesTheTokensRelyingOnIt) {
  Chain ch = chain("ent");
  std::string t1 = token_for_b(ch);
  entitle(ch.a, "write", ch.b.id);
  Response other =
      post_form("/oauth2/token", ch.a,
                {{"grant_type", "client_credentials"}, {"audience", ch.b.id}, {"scope", "write"}});
  ASSERT_EQ(other.status, 200) << other.describe();
  json ents = admin().get("/api/v1/identities/" + ch.a.id + "/entitlements").json()["items"];
  std::string read_ent;
  for (const auto& e : ents)
    if (e["scope"] == "read") read_ent = e["id"];
  Response r = admin().del("/api/v1/entitlements/" + read_ent);
  ASSERT_EQ(r.status, 200) << r.describe();
  EXPECT_EQ(r.json()["revoked_tokens"], 1);
  EXPECT_FALSE(active(ch.a, t1));
  EXPECT_TRUE(active(ch.a, token_of(other)));  // the write token relies on another entitlement
}

}  // namespace
}  // namespace custody::apitest

namespace custody::apitest {
namespace {

class DriftTest : public OAuthFixture {};

std::vector<json> findings_of(const Response& r, const std::string& type) {
  std::vector<json> out;
  const json body = r.json();  // (iterating r.json()["items"] would outlive the temporary)
  for (const auto& item : body["items"])
    for (const auto& f : item["findings"])
      if (f["type"] == type) out.push_back(f);
  return out;
}

TEST_F(DriftTest, ReportsUnusedEntitlementsAndWhatIsNewSinceTheBaseline) {
  Agent a = agent("drift-a"), b = agent("drift-b"), c = agent("drift-c");
  entitle(a, "read", b.id);
  entitle(a, "write", b.id);
  entitle(a, "read", c.id);
  std::this_thread::sleep_for(Millis(2200));  // the entitlements are now older than 2 s
  auto token = [&](const std::string& scope, const std::string& audience) {
    Response r =
        post_form("/oauth2/token", a,
                  {{"grant_type", "client_credentials"}, {"audience", audience}, {"scope", scope}});
    EXPECT_EQ(r.status, 200) << r.describe();
  };
  token("read", b.id);  // the baseline
  std::this_thread::sleep_for(Millis(1200));
  token("write", b.id);  // recent: a scope and an audience the baseline did not have
  token("read", c.id);

  // Usage window 3 s (everything used), recent window 1 s.
  Response r = admin().get("/api/v1/drift?identity=" + a.id + "&unused_seconds=3&recent_seconds=1");
  ASSERT_EQ(r.status, 200) << r.describe();
  EXPECT_TRUE(findings_of(r, "unused_entitlement").empty()) << r.body;
  auto scopes = findings_of(r, "scope_beyond_baseline");
  ASSERT_EQ(scopes.size(), 1u) << r.body;
  EXPECT_EQ(scopes[0]["scope"], "write");
  auto audiences = findings_of(r, "new_audience");
  ASSERT_EQ(audiences.size(), 1u) << r.body;
  EXPECT_EQ(audiences[0]["audience"], c.id);

  // Usage window 1 s: read at B was last used before it.
  r = admin().get("/api/v1/drift?identity=" + a.id + "&unused_seconds=1&recent_seconds=1");
  ASSERT_EQ(r.status, 200) << r.describe();
  auto unused = findings_of(r, "unused_entitlement");
  ASSERT_EQ(unused.size(), 1u) << r.body;
  EXPECT_EQ(unused[0]["scope"], "read");
  EXPECT_EQ(unused[0]["resource"], b.id);

  EXPECT_TRUE(IsProblem(admin().get("/api/v1/drift?unused_seconds=1&recent_seconds=5"), 400,
                        "invalid_argument", "recent_seconds"));
  // The whole report pages through every identity.
  Response all = admin().get("/api/v1/drift?unused_seconds=1&recent_seconds=1&limit=1");
  ASSERT_EQ(all.status, 200) << all.describe();
  EXPECT_TRUE(all.json().contains("next_cursor")) << all.body;
}

}  // namespace
}  // namespace custody::apitest
