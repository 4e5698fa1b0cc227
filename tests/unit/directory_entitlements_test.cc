// Entitlements: validation, computed "active" (expiry needs no job), idempotent revocation,
// role restrictions and events.
#include <gtest/gtest.h>

#include "directory/entitlements.h"
#include "directory/json.h"
#include "directory_fixture.h"

namespace custody::directory {
namespace {

using testing::DirectoryTest;

class EntitlementsTest : public DirectoryTest {
 protected:
  static NewEntitlement basic() {
    NewEntitlement e;
    e.scope = "billing:read";
    e.resource = "https://api.example.com";
    e.justification = "needs to read invoices";
    return e;
  }
  Result<Entitlement> grant(const Principal& who, const std::string& identity_id,
                            const NewEntitlement& input) {
    return write(
        [&](store::Tx& tx) { return grant_entitlement(tx, ctx(who), identity_id, input); });
  }
  Result<Entitlement> revoke(const Principal& who, const std::string& id) {
    return write([&](store::Tx& tx) { return revoke_entitlement(tx, ctx(who), id); });
  }
  Result<std::vector<Entitlement>> list(const Principal& who, const std::string& identity_id,
                                        bool active_only) {
    return read(
        [&](store::Tx& tx) { return list_entitlements(tx, ctx(who), identity_id, active_only); });
  }
  std::vector<Entitlement> in_force(const std::string& identity_id) {
    return read([&](store::Tx& tx) { return active_entitlements(tx, identity_id, clock_.now()); })
        .value();
  }
};

CUSTODY_ON_BOTH_BACKENDS(EntitlementsTest);

TEST_P(EntitlementsTest, GrantStoresEverythingAndRecordsAnEvent) {
  Identity h = human();
  Identity a = agent(h.id);
  NewEntitlement input = basic();
  input.tools = std::vector<std::string>{"invoice.lookup", "invoice.list"};
  input.expires_at = testing::kT0 + 3600 * kMicrosPerSecond;
  auto e = grant(admin_, a.id, input);
  ASSERT_TRUE(e.ok()) << e.error().message;
  EXPECT_TRUE(e->id.starts_with("ent_"));
  EXPECT_EQ(e->granted_by, "tok_admin");
  EXPECT_EQ(e->created_at, testing::kT0);

  auto got = read([&](store::Tx& tx) { return get_entitlement(tx, ctx(auditor_), e->id); });
  ASSERT_TRUE(got.ok()) << got.error().message;
  EXPECT_EQ(got->tools, input.tools);
  EXPECT_EQ(got->expires_at, input.expires_at);
  EXPECT_EQ(got->scope, "billing:read");
  EXPECT_EQ(got->justification, input.justification);

  auto evs = events_for(e->id);
  ASSERT_EQ(evs.size(), 1u);
  EXPECT_EQ(evs[0].action, "entitlement.grant");
  EXPECT_EQ(evs[0].actor, "tok_admin");
  EXPECT_EQ(evs[0].details["identity_id"], a.id);
  EXPECT_EQ(evs[0].details["scope"], "billing:read");

  auto untooled = grant(admin_, a.id, basic());
  ASSERT_TRUE(untooled.ok());
  auto plain = read([&](store::Tx& tx) { return get_entitlement(tx, ctx(admin_), untooled->id); });
  EXPECT_FALSE(plain->tools);
  EXPECT_FALSE(plain->expires_at);
}

TEST_P(EntitlementsTest, ValidatesInput) {
  Identity h = human();
  Identity a = agent(h.id);
  struct Case {
    NewEntitlement input;
    std::string field;
  };
  std::vector<Case> cases;
  auto with = [](auto change) {
    NewEntitlement e = basic();
    change(e);
    return e;
  };
  cases.push_back({with([](NewEntitlement& e) { e.scope = ""; }), "scope"});
  cases.push_back({with([](NewEntitlement& e) { e.scope = "two words"; }), "scope"});
  cases.push_back({with([](NewEntitlement& e) { e.scope = std::string(257, 's'); }), "scope"});
  cases.push_back({with([](NewEntitlement& e) { e.resource = ""; }), "resource"});
  cases.push_back({with([](NewEntitlement& e) { e.resource = "https://x/#frag"; }), "resource"});
  cases.push_back(
      {with([](NewEntitlement& e) { e.resource = std::string(2049, 'r'); }), "resource"});
  cases.push_back({with([](NewEntitlement& e) { e.justification = ""; }), "justification"});
  cases.push_back(
      {with([](NewEntitlement& e) { e.justification = std::string(2001, 'j'); }), "justification"});
  cases.push_back({with([](NewEntitlement& e) { e.tools = std::vector<std::string>{}; }), "tools"});
  cases.push_back({with([](NewEntitlement& e) {
                     e.tools = std::vector<std::string>{"a", "a"};
                   }),
                   "tools"});
  cases.push_back(
      {with([](NewEntitlement& e) { e.tools = std::vector<std::string>{""}; }), "tools"});
  cases.push_back({with([](NewEntitlement& e) {
                     e.tools = std::vector<std::string>();
                     for (int i = 0; i < 257; ++i) e.tools->push_back("t" + std::to_string(i));
                   }),
                   "tools"});
  cases.push_back({with([](NewEntitlement& e) { e.expires_at = testing::kT0; }), "expires_at"});
  cases.push_back({with([](NewEntitlement& e) { e.expires_at = testing::kT0 - 1; }), "expires_at"});
  for (const auto& c : cases) {
    auto r = grant(admin_, a.id, c.input);
    ASSERT_FALSE(r.ok()) << c.field;
    EXPECT_EQ(r.error().code, Code::kInvalidArgument) << c.field;
    EXPECT_EQ(r.error().field, c.field);
  }
  EXPECT_TRUE(
      grant(admin_, a.id, with([](NewEntitlement& e) { e.resource = "billing-api"; })).ok());
  EXPECT_EQ(events({}).size(), 3u);  // 2 identities, 1 grant; the refusals wrote nothing
}

TEST_P(EntitlementsTest, ExpiryFlipsActiveWithoutAnyJob) {
  Identity h = human();
  Identity a = agent(h.id);
  NewEntitlement input = basic();
  input.expires_at = testing::kT0 + 60 * kMicrosPerSecond;
  Entitlement e = grant(admin_, a.id, input).value();
  Entitlement forever = grant(admin_, a.id, basic()).value();

  EXPECT_TRUE(e.active_at(clock_.now()));
  EXPECT_EQ(to_json(e, clock_.now())["active"], true);
  EXPECT_EQ(in_force(a.id).size(), 2u);
  EXPECT_EQ(list(admin_, a.id, true)->size(), 2u);

  clock_.advance(60 * kMicrosPerSecond);  // exactly at expires_at: no longer in force
  EXPECT_FALSE(e.active_at(clock_.now()));
  EXPECT_EQ(to_json(e, clock_.now())["active"], false);
  auto active = in_force(a.id);
  ASSERT_EQ(active.size(), 1u);
  EXPECT_EQ(active[0].id, forever.id);
  EXPECT_EQ(list(admin_, a.id, true)->size(), 1u);
  EXPECT_EQ(list(admin_, a.id, false)->size(), 2u);
}

TEST_P(EntitlementsTest, RevocationIsIdempotent) {
  Identity h = human();
  Identity a = agent(h.id);
  Entitlement e = grant(admin_, a.id, basic()).value();
  clock_.advance(kMicrosPerSecond);
  auto first = revoke(admin_, e.id);
  ASSERT_TRUE(first.ok()) << first.error().message;
  EXPECT_EQ(first->revoked_at, testing::kT0 + kMicrosPerSecond);
  EXPECT_EQ(first->revoked_by, "tok_admin");
  EXPECT_FALSE(first->active_at(clock_.now()));

  clock_.advance(kMicrosPerSecond);
  auto second = revoke(admin_, e.id);
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(second->revoked_at, first->revoked_at);  // unchanged
  auto evs = events_for(e.id);
  ASSERT_EQ(evs.size(), 2u);  // grant + one revoke
  EXPECT_EQ(evs[0].action, "entitlement.revoke");
  EXPECT_TRUE(in_force(a.id).empty());
  EXPECT_EQ(list(admin_, a.id, false)->size(), 1u);

  EXPECT_EQ(revoke(admin_, "ent_01JDQ3V6S7K2W8C0M4N5P6R7T8").error().code, Code::kNotFound);
}

TEST_P(EntitlementsTest, RefusedOnRetiredIdentitiesAndUnknownOnes) {
  Identity h = human();
  Identity a = agent(h.id);
  ASSERT_TRUE(move(admin_, a.id, State::kRetired).ok());
  auto r = grant(admin_, a.id, basic());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Code::kConflict);
  EXPECT_EQ(grant(admin_, "agt_01JDQ3V6S7K2W8C0M4N5P6R7T8", basic()).error().code, Code::kNotFound);
  // Suspended identities may still be granted (the grant is not in force for tokens while
  // the identity is suspended; that is the token issuer's check).
  Identity b = agent(h.id);
  ASSERT_TRUE(move(admin_, b.id, State::kSuspended).ok());
  EXPECT_TRUE(grant(admin_, b.id, basic()).ok());
}

TEST_P(EntitlementsTest, RolesAreEnforced) {
  Identity me = human("Me");
  Identity them = human("Them");
  Identity mine = agent(me.id);
  Identity theirs = agent(them.id);
  Entitlement their_ent = grant(admin_, theirs.id, basic()).value();
  const Principal owner = owner_of(me);

  auto g = grant(auditor_, mine.id, basic());
  EXPECT_EQ(g.error().code, Code::kPermissionDenied);
  EXPECT_EQ(g.error().message, "auditor tokens are read-only");
  EXPECT_EQ(revoke(auditor_, their_ent.id).error().code, Code::kPermissionDenied);
  EXPECT_TRUE(list(auditor_, theirs.id, false).ok());

  auto mine_ent = grant(owner, mine.id, basic());
  ASSERT_TRUE(mine_ent.ok()) << mine_ent.error().message;
  EXPECT_EQ(mine_ent->granted_by, me.id);
  EXPECT_EQ(events_for(mine_ent->id)[0].actor, me.id);
  EXPECT_EQ(grant(owner, theirs.id, basic()).error().code, Code::kNotFound);
  EXPECT_EQ(grant(owner, me.id, basic()).error().code, Code::kPermissionDenied);
  EXPECT_EQ(revoke(owner, their_ent.id).error().code, Code::kNotFound);
  EXPECT_EQ(list(owner, theirs.id, false).error().code, Code::kNotFound);
  auto hidden = read([&](store::Tx& tx) { return get_entitlement(tx, ctx(owner), their_ent.id); });
  EXPECT_EQ(hidden.error().code, Code::kNotFound);
  EXPECT_TRUE(revoke(owner, mine_ent->id).ok());
}

TEST_P(EntitlementsTest, JsonShape) {
  Identity h = human();
  Identity a = agent(h.id);
  NewEntitlement input = basic();
  input.tools = std::vector<std::string>{"invoice.lookup"};
  Entitlement e = grant(admin_, a.id, input).value();
  auto j = to_json(e, clock_.now());
  EXPECT_EQ(j["id"], e.id);
  EXPECT_EQ(j["identity_id"], a.id);
  EXPECT_EQ(j["tools"], nlohmann::json::array({"invoice.lookup"}));
  EXPECT_TRUE(j["expires_at"].is_null());
  EXPECT_TRUE(j["revoked_at"].is_null());
  EXPECT_EQ(j["created_at"], "2027-01-15T08:00:00.000Z");
  EXPECT_EQ(j["granted_by"], "tok_admin");
  EXPECT_EQ(j["active"], true);
  Entitlement untooled = grant(admin_, a.id, basic()).value();
  EXPECT_TRUE(to_json(untooled, clock_.now())["tools"].is_null());
}

}  // namespace
}  // namespace custody::directory
