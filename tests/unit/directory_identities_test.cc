// Identity operations against a real SQLite store: creation rules, the lifecycle, offboarding,
// ETags, role restrictions, filters and pagination, and the audit events of each success.
#include <gtest/gtest.h>

#include <algorithm>
#include <set>

#include "common/encoding.h"
#include "directory_fixture.h"

namespace custody::directory {
namespace {

using testing::DirectoryTest;

constexpr State kStates[] = {State::kDiscovered, State::kPending, State::kActive, State::kSuspended,
                             State::kRetired};

class IdentitiesTest : public DirectoryTest {
 protected:
  Result<Identity> update(const Principal& who, const std::string& id, IdentityPatch patch,
                          std::optional<std::int64_t> version = std::nullopt) {
    return write([&](store::Tx& tx) { return update_identity(tx, ctx(who), id, patch, version); });
  }

  Result<Page<Identity>> list(const Principal& who, IdentityFilter filter) {
    return read([&](store::Tx& tx) { return list_identities(tx, ctx(who), filter); });
  }

  // An agent (owned by `owner`) brought into `state` through legal transitions.
  Identity agent_in(const std::string& owner, State state) {
    switch (state) {
      case State::kDiscovered:
      case State::kPending:
      case State::kActive:
        return agent(owner, state);
      case State::kSuspended:
      case State::kRetired: {
        Identity a = agent(owner, State::kActive);
        auto r = move(admin_, a.id, state);
        EXPECT_TRUE(r.ok()) << r.error().message;
        return r.ok() ? r->identity : a;
      }
    }
    return {};
  }
};

CUSTODY_ON_BOTH_BACKENDS(IdentitiesTest);

TEST_P(IdentitiesTest, CreatesHumanActiveByDefaultWithEvent) {
  auto r = create(admin_, spec(Kind::kHuman, "Ada Lovelace"));
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_TRUE(r->id.starts_with("usr_"));
  EXPECT_EQ(r->state, State::kActive);
  EXPECT_EQ(r->version, 1);
  EXPECT_FALSE(r->owner_id);
  EXPECT_EQ(r->created_at, testing::kT0);
  EXPECT_EQ(r->updated_at, testing::kT0);

  auto got = get(auditor_, r->id);
  ASSERT_TRUE(got.ok()) << got.error().message;
  EXPECT_EQ(got->display_name, "Ada Lovelace");

  auto evs = events_for(r->id);
  ASSERT_EQ(evs.size(), 1u);
  EXPECT_EQ(evs[0].action, "identity.create");
  EXPECT_EQ(evs[0].actor, "tok_admin");
  EXPECT_EQ(evs[0].outcome, "success");
  EXPECT_EQ(evs[0].request_id, "req-test");
  EXPECT_EQ(evs[0].time, testing::kT0);
  EXPECT_EQ(evs[0].details["kind"], "human");
  EXPECT_TRUE(evs[0].details["owner_id"].is_null());
}

TEST_P(IdentitiesTest, CreatesNonHumansPendingByDefaultWithKindPrefix) {
  Identity h = human();
  const std::pair<Kind, std::string> kinds[] = {
      {Kind::kService, "svc_"}, {Kind::kAgent, "agt_"}, {Kind::kMcpServer, "mcp_"}};
  for (const auto& [kind, prefix] : kinds) {
    NewIdentity input = spec(kind, "thing", h.id);
    input.labels = {{"team", "billing"}, {"env", "prod"}};
    input.description = "line one\nline two";
    auto r = create(admin_, input);
    ASSERT_TRUE(r.ok()) << r.error().message;
    EXPECT_TRUE(r->id.starts_with(prefix));
    EXPECT_EQ(r->state, State::kPending);
    EXPECT_EQ(r->owner_id, h.id);
    auto got = get(admin_, r->id);
    ASSERT_TRUE(got.ok());
    EXPECT_EQ(got->labels, input.labels);
    EXPECT_EQ(got->description, input.description);
    EXPECT_EQ(got->kind, kind);
  }
}

TEST_P(IdentitiesTest, InitialStateMayBeDiscoveredPendingOrActiveOnly) {
  Identity h = human();
  for (State s : {State::kDiscovered, State::kPending, State::kActive}) {
    auto r = create(admin_, spec(Kind::kAgent, "bot", h.id, s));
    ASSERT_TRUE(r.ok()) << r.error().message;
    EXPECT_EQ(r->state, s);
  }
  for (State s : {State::kSuspended, State::kRetired}) {
    auto r = create(admin_, spec(Kind::kAgent, "bot", h.id, s));
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, Code::kInvalidArgument);
    EXPECT_EQ(r.error().field, "state");
  }
  auto pending_human =
      create(admin_, spec(Kind::kHuman, "New hire", std::nullopt, State::kPending));
  ASSERT_TRUE(pending_human.ok());
  EXPECT_EQ(pending_human->state, State::kPending);
}

TEST_P(IdentitiesTest, NonHumanNeedsAnActiveHumanOwner) {
  Identity h = human();
  Identity suspended = human("Gone");
  ASSERT_TRUE(move(admin_, suspended.id, State::kSuspended).ok());
  Identity pending_human =
      create(admin_, spec(Kind::kHuman, "Later", std::nullopt, State::kPending)).value();
  Identity bot = agent(h.id);

  auto none = create(admin_, spec(Kind::kAgent, "bot"));
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.error().code, Code::kUnprocessable);
  EXPECT_EQ(none.error().field, "owner_id");
  EXPECT_EQ(none.error().message, "agent identities need an owner");

  const std::string missing = "usr_01JDQ3V6S7K2W8C0M4N5P6R7T8";
  for (const std::string& owner :
       {missing, suspended.id, pending_human.id, bot.id, std::string("not an id")}) {
    auto r = create(admin_, spec(Kind::kService, "svc", owner));
    ASSERT_FALSE(r.ok()) << owner;
    EXPECT_EQ(r.error().code, Code::kUnprocessable) << owner;
    EXPECT_EQ(r.error().field, "owner_id");
    EXPECT_NE(r.error().message.find("is not an active human"), std::string::npos);
  }
  EXPECT_EQ(create(admin_, spec(Kind::kService, "svc", missing)).error().message,
            "owner " + missing + " is not an active human");

  auto owned_human = create(admin_, spec(Kind::kHuman, "Bob", h.id));
  ASSERT_FALSE(owned_human.ok());
  EXPECT_EQ(owned_human.error().code, Code::kInvalidArgument);
  EXPECT_EQ(owned_human.error().field, "owner_id");
}

TEST_P(IdentitiesTest, ValidatesFieldsAndWritesNothingOnRefusal) {
  Identity h = human();
  const auto before = events().size();
  struct Case {
    NewIdentity input;
    std::string field;
  };
  std::vector<Case> cases;
  cases.push_back({spec(Kind::kAgent, "", h.id), "display_name"});
  cases.push_back({spec(Kind::kAgent, "   ", h.id), "display_name"});
  cases.push_back({spec(Kind::kAgent, std::string(201, 'x'), h.id), "display_name"});
  cases.push_back({spec(Kind::kAgent, "bad\xff utf8", h.id), "display_name"});
  cases.push_back({spec(Kind::kAgent, "tab\tname", h.id), "display_name"});
  NewIdentity long_description = spec(Kind::kAgent, "bot", h.id);
  long_description.description = std::string(2001, 'd');
  cases.push_back({long_description, "description"});
  NewIdentity bad_key = spec(Kind::kAgent, "bot", h.id);
  bad_key.labels = {{"Team", "x"}};
  cases.push_back({bad_key, "labels"});
  NewIdentity long_value = spec(Kind::kAgent, "bot", h.id);
  long_value.labels = {{"team", std::string(257, 'v')}};
  cases.push_back({long_value, "labels"});
  NewIdentity many = spec(Kind::kAgent, "bot", h.id);
  for (int i = 0; i < 65; ++i) many.labels["k" + std::to_string(i)] = "v";
  cases.push_back({many, "labels"});
  for (const auto& c : cases) {
    auto r = create(admin_, c.input);
    ASSERT_FALSE(r.ok()) << c.field;
    EXPECT_EQ(r.error().code, Code::kInvalidArgument) << c.field;
    EXPECT_EQ(r.error().field, c.field);
  }
  // 200 multi-byte characters are fine: the limit counts characters, not bytes.
  std::string wide;
  for (int i = 0; i < 200; ++i) wide += "\xc3\xa9";
  EXPECT_TRUE(create(admin_, spec(Kind::kAgent, wide, h.id)).ok());
  EXPECT_EQ(events().size(), before + 1);
}

TEST_P(IdentitiesTest, EveryTransitionFollowsTheTable) {
  Identity h = human();
  for (State from : kStates) {
    for (State to : kStates) {
      Identity a = agent_in(h.id, from);
      ASSERT_EQ(a.state, from);
      auto r = move(admin_, a.id, to);
      const std::string label =
          std::string(state_name(from)) + " -> " + std::string(state_name(to));
      if (transition_allowed(from, to)) {
        ASSERT_TRUE(r.ok()) << label << ": " << r.error().message;
        EXPECT_EQ(r->identity.state, to) << label;
        EXPECT_EQ(r->identity.version, a.version + 1) << label;
        EXPECT_TRUE(r->affected.empty());
        auto evs = events_for(a.id);
        ASSERT_FALSE(evs.empty());
        EXPECT_EQ(evs[0].details["from"], state_name(from)) << label;
        EXPECT_EQ(evs[0].details["to"], state_name(to)) << label;
      } else {
        ASSERT_FALSE(r.ok()) << label;
        EXPECT_EQ(r.error().code, Code::kConflict) << label;
        EXPECT_EQ(r.error().field, "state");
        EXPECT_EQ(r.error().message, "illegal transition from " + std::string(state_name(from)) +
                                         " to " + std::string(state_name(to)));
        EXPECT_EQ(get(admin_, a.id)->version, a.version) << label;
      }
    }
  }
}

TEST_P(IdentitiesTest, TransitionEventsNameTheAction) {
  Identity h = human();
  Identity a = agent(h.id, State::kDiscovered);
  ASSERT_TRUE(move(admin_, a.id, State::kPending).ok());
  ASSERT_TRUE(move(admin_, a.id, State::kActive).ok());
  ASSERT_TRUE(move(admin_, a.id, State::kSuspended, std::nullopt, "incident 42").ok());
  ASSERT_TRUE(move(admin_, a.id, State::kActive).ok());
  ASSERT_TRUE(move(admin_, a.id, State::kRetired).ok());
  auto evs = events_for(a.id);
  std::vector<std::string> actions;
  for (auto it = evs.rbegin(); it != evs.rend(); ++it) actions.push_back(it->action);
  EXPECT_EQ(actions,
            (std::vector<std::string>{"identity.create", "identity.submit", "identity.activate",
                                      "identity.suspend", "identity.activate", "identity.retire"}));
  EXPECT_EQ(evs[2].details["reason"], "incident 42");
  EXPECT_EQ(get(admin_, a.id)->version, 6);
}

TEST_P(IdentitiesTest, ActivatingNeedsAnActiveHumanOwner) {
  Identity h = human();
  Identity a = agent(h.id, State::kDiscovered);  // offboarding leaves discovered ones alone
  ASSERT_TRUE(move(admin_, h.id, State::kSuspended).ok());
  ASSERT_TRUE(move(admin_, a.id, State::kPending).ok());
  auto r = move(admin_, a.id, State::kActive);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Code::kUnprocessable);
  EXPECT_EQ(r.error().field, "owner_id");
  EXPECT_EQ(get(admin_, a.id)->state, State::kPending);

  ASSERT_TRUE(move(admin_, h.id, State::kActive).ok());
  EXPECT_TRUE(move(admin_, a.id, State::kActive).ok());
}

TEST_P(IdentitiesTest, OffboardingSuspendsOwnedIdentitiesExceptReassignedOnes) {
  Identity leaver = human("Leaver");
  Identity stayer = human("Stayer");
  Identity active = agent(leaver.id, State::kActive);
  Identity pending = agent(leaver.id, State::kPending, Kind::kService);
  Identity discovered = agent(leaver.id, State::kDiscovered);
  Identity suspended = agent_in(leaver.id, State::kSuspended);
  Identity retired = agent_in(leaver.id, State::kRetired);
  Identity kept = agent(leaver.id, State::kActive, Kind::kMcpServer);
  Identity other = agent(stayer.id, State::kActive);

  IdentityPatch reassign;
  reassign.owner_id = stayer.id;
  auto moved = update(admin_, kept.id, reassign);
  ASSERT_TRUE(moved.ok()) << moved.error().message;
  EXPECT_EQ(moved->owner_id, stayer.id);
  EXPECT_EQ(moved->version, 2);

  auto r = move(admin_, leaver.id, State::kRetired, std::nullopt, "left the company");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->identity.state, State::kRetired);
  std::vector<std::string> expected = {active.id, pending.id};
  std::sort(expected.begin(), expected.end());
  auto affected = r->affected;
  std::sort(affected.begin(), affected.end());
  EXPECT_EQ(affected, expected);

  for (const Identity& i : {active, pending}) {
    Identity now = get(admin_, i.id).value();
    EXPECT_EQ(now.state, State::kSuspended);
    EXPECT_EQ(now.version, i.version + 1);
    auto evs = events_for(i.id);
    ASSERT_FALSE(evs.empty());
    EXPECT_EQ(evs[0].action, "identity.suspend");
    EXPECT_EQ(evs[0].actor, "tok_admin");
    EXPECT_EQ(evs[0].details["cascade_from"], leaver.id);
    EXPECT_EQ(evs[0].details["reason"], "owner " + leaver.id + " retired");
  }
  EXPECT_EQ(get(admin_, discovered.id)->state, State::kDiscovered);
  EXPECT_EQ(get(admin_, suspended.id)->version, suspended.version);
  EXPECT_EQ(get(admin_, retired.id)->state, State::kRetired);
  EXPECT_EQ(get(admin_, kept.id)->state, State::kActive);
  EXPECT_EQ(get(admin_, other.id)->state, State::kActive);
  EXPECT_EQ(events_for(leaver.id)[0].details["reason"], "left the company");
}

TEST_P(IdentitiesTest, SuspendingAHumanAlsoCascades) {
  Identity h = human();
  Identity a = agent(h.id);
  auto r = move(admin_, h.id, State::kSuspended);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->affected, std::vector<std::string>{a.id});
  EXPECT_EQ(events_for(a.id)[0].details["reason"], "owner " + h.id + " suspended");
  // Coming back does not silently restart what was stopped.
  ASSERT_TRUE(move(admin_, h.id, State::kActive).ok());
  EXPECT_EQ(get(admin_, a.id)->state, State::kSuspended);
}

TEST_P(IdentitiesTest, StaleETagIsRefused) {
  Identity h = human();
  Identity a = agent(h.id);
  IdentityPatch patch;
  patch.display_name = "renamed";
  auto stale = update(admin_, a.id, patch, 7);
  ASSERT_FALSE(stale.ok());
  EXPECT_EQ(stale.error().code, Code::kPreconditionFailed);
  EXPECT_EQ(stale.error().message, "stale ETag: current version is 1");
  EXPECT_EQ(stale.error().field, "If-Match");

  auto ok = update(admin_, a.id, patch, 1);
  ASSERT_TRUE(ok.ok()) << ok.error().message;
  EXPECT_EQ(ok->version, 2);
  EXPECT_EQ(ok->updated_at, testing::kT0);

  auto stale_move = move(admin_, a.id, State::kSuspended, 1);
  ASSERT_FALSE(stale_move.ok());
  EXPECT_EQ(stale_move.error().code, Code::kPreconditionFailed);
  EXPECT_EQ(stale_move.error().message, "stale ETag: current version is 2");
  EXPECT_TRUE(move(admin_, a.id, State::kSuspended, 2).ok());
}

TEST_P(IdentitiesTest, UpdateChangesFieldsAndRecordsThem) {
  Identity h = human();
  Identity h2 = human("Second");
  Identity a = agent(h.id);
  clock_.advance(5 * kMicrosPerSecond);
  IdentityPatch patch;
  patch.display_name = "Billing bot";
  patch.description = "sends invoices";
  patch.labels = std::map<std::string, std::string>{{"team", "billing"}};
  patch.owner_id = h2.id;
  auto r = update(admin_, a.id, patch);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->display_name, "Billing bot");
  EXPECT_EQ(r->owner_id, h2.id);
  EXPECT_EQ(r->updated_at, testing::kT0 + 5 * kMicrosPerSecond);
  EXPECT_EQ(r->created_at, testing::kT0);
  auto evs = events_for(a.id);
  ASSERT_EQ(evs[0].action, "identity.update");
  EXPECT_EQ(evs[0].details["display_name"], "Billing bot");
  EXPECT_EQ(evs[0].details["owner_id"], h2.id);
  EXPECT_EQ(evs[0].details["previous_owner_id"], h.id);
  EXPECT_EQ(evs[0].details["labels"]["team"], "billing");

  // The same values again change nothing: no new version, no event.
  auto same = update(admin_, a.id, patch);
  ASSERT_TRUE(same.ok());
  EXPECT_EQ(same->version, 2);
  EXPECT_EQ(events_for(a.id).size(), evs.size());
}

TEST_P(IdentitiesTest, UpdateRefusesBadOwnersAndRetiredIdentities) {
  Identity h = human();
  Identity gone = human("Gone");
  ASSERT_TRUE(move(admin_, gone.id, State::kRetired).ok());
  Identity a = agent(h.id);

  IdentityPatch to_gone;
  to_gone.owner_id = gone.id;
  auto r = update(admin_, a.id, to_gone);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Code::kUnprocessable);
  EXPECT_EQ(r.error().field, "owner_id");

  IdentityPatch to_agent;
  to_agent.owner_id = a.id;
  EXPECT_EQ(update(admin_, a.id, to_agent).error().code, Code::kUnprocessable);

  IdentityPatch human_owner;
  human_owner.owner_id = h.id;
  auto hr = update(admin_, gone.id, human_owner);
  ASSERT_FALSE(hr.ok());
  EXPECT_EQ(hr.error().code, Code::kConflict);  // retired first
  Identity h2 = human("Other");
  auto hr2 = update(admin_, h2.id, human_owner);
  ASSERT_FALSE(hr2.ok());
  EXPECT_EQ(hr2.error().code, Code::kInvalidArgument);
  EXPECT_EQ(hr2.error().field, "owner_id");

  IdentityPatch bad_name;
  bad_name.display_name = "";
  EXPECT_EQ(update(admin_, a.id, bad_name).error().field, "display_name");

  auto missing = update(admin_, "agt_01JDQ3V6S7K2W8C0M4N5P6R7T8", bad_name);
  EXPECT_EQ(missing.error().code, Code::kNotFound);
}

TEST_P(IdentitiesTest, AuditorIsReadOnly) {
  Identity h = human();
  Identity a = agent(h.id);
  auto c = create(auditor_, spec(Kind::kHuman, "x"));
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.error().code, Code::kPermissionDenied);
  EXPECT_EQ(c.error().message, "auditor tokens are read-only");
  IdentityPatch patch;
  patch.display_name = "x";
  EXPECT_EQ(update(auditor_, a.id, patch).error().code, Code::kPermissionDenied);
  EXPECT_EQ(move(auditor_, a.id, State::kSuspended).error().code, Code::kPermissionDenied);
  EXPECT_TRUE(get(auditor_, a.id).ok());
  auto all = list(auditor_, IdentityFilter{});
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->items.size(), 2u);
}

TEST_P(IdentitiesTest, OwnersSeeAndManageOnlyWhatTheyOwn) {
  Identity me = human("Me");
  Identity them = human("Them");
  Identity mine = agent(me.id);
  Identity theirs = agent(them.id);
  const Principal owner = owner_of(me);

  // Creation: non-humans owned by me only; owner_id defaults to my human.
  auto created = create(owner, spec(Kind::kAgent, "my new bot"));
  ASSERT_TRUE(created.ok()) << created.error().message;
  EXPECT_EQ(created->owner_id, me.id);
  EXPECT_EQ(events_for(created->id)[0].actor, me.id);  // the human is the actor
  EXPECT_EQ(create(owner, spec(Kind::kHuman, "x")).error().code, Code::kPermissionDenied);
  EXPECT_EQ(create(owner, spec(Kind::kAgent, "x", them.id)).error().code, Code::kPermissionDenied);

  // Reading: mine and my own human; the rest looks absent.
  EXPECT_TRUE(get(owner, mine.id).ok());
  EXPECT_TRUE(get(owner, me.id).ok());
  EXPECT_EQ(get(owner, theirs.id).error().code, Code::kNotFound);
  EXPECT_EQ(get(owner, them.id).error().code, Code::kNotFound);

  // Writing: mine only; my own human is readable but not mine to change.
  IdentityPatch patch;
  patch.display_name = "renamed";
  EXPECT_TRUE(update(owner, mine.id, patch).ok());
  EXPECT_EQ(update(owner, theirs.id, patch).error().code, Code::kNotFound);
  EXPECT_EQ(update(owner, me.id, patch).error().code, Code::kPermissionDenied);
  EXPECT_EQ(move(owner, theirs.id, State::kSuspended).error().code, Code::kNotFound);
  EXPECT_EQ(move(owner, me.id, State::kSuspended).error().code, Code::kPermissionDenied);
  EXPECT_TRUE(move(owner, mine.id, State::kSuspended).ok());

  auto page = list(owner, IdentityFilter{});
  ASSERT_TRUE(page.ok());
  std::set<std::string> ids;
  for (const auto& i : page->items) ids.insert(i.id);
  EXPECT_EQ(ids, (std::set<std::string>{me.id, mine.id, created->id}));
  IdentityFilter theirs_filter;
  theirs_filter.owner_id = them.id;
  EXPECT_TRUE(list(owner, theirs_filter)->items.empty());
}

TEST_P(IdentitiesTest, ListFiltersByKindStateOwnerAndLabels) {
  Identity h = human();
  Identity h2 = human("Other");
  auto make = [&](Kind kind, const std::string& owner, State state,
                  std::map<std::string, std::string> labels) {
    NewIdentity input = spec(kind, "x", owner, state);
    input.labels = std::move(labels);
    return create(admin_, input).value();
  };
  Identity a1 = make(Kind::kAgent, h.id, State::kActive, {{"team", "billing"}, {"env", "prod"}});
  Identity a2 = make(Kind::kAgent, h.id, State::kPending, {{"team", "billing"}, {"env", "dev"}});
  Identity s1 = make(Kind::kService, h2.id, State::kActive, {{"team", "billing"}, {"env", "prod"}});
  Identity m1 = make(Kind::kMcpServer, h2.id, State::kActive, {{"team", "search"}});

  auto ids_of = [&](IdentityFilter f) {
    auto page = list(admin_, f);
    EXPECT_TRUE(page.ok()) << page.error().message;
    std::vector<std::string> ids;
    for (const auto& i : page->items) ids.push_back(i.id);
    return ids;
  };
  auto sorted = [](std::vector<std::string> v) {
    std::sort(v.begin(), v.end());
    return v;
  };
  IdentityFilter f;
  f.kind = Kind::kAgent;
  EXPECT_EQ(ids_of(f), sorted({a1.id, a2.id}));
  f = {};
  f.state = State::kActive;
  EXPECT_EQ(ids_of(f), sorted({h.id, h2.id, a1.id, s1.id, m1.id}));
  f = {};
  f.owner_id = h2.id;
  EXPECT_EQ(ids_of(f), sorted({s1.id, m1.id}));
  f = {};
  f.labels = {{"team", "billing"}};
  EXPECT_EQ(ids_of(f), sorted({a1.id, a2.id, s1.id}));
  f.labels = {{"team", "billing"}, {"env", "prod"}};
  EXPECT_EQ(ids_of(f), sorted({a1.id, s1.id}));
  f.kind = Kind::kService;
  EXPECT_EQ(ids_of(f), sorted({s1.id}));
  f = {};
  f.labels = {{"team", "billing"}, {"team", "search"}};
  EXPECT_TRUE(ids_of(f).empty());

  // Replacing labels is reflected by the filter.
  IdentityPatch patch;
  patch.labels = std::map<std::string, std::string>{{"team", "search"}};
  ASSERT_TRUE(update(admin_, a1.id, patch).ok());
  f = {};
  f.labels = {{"team", "search"}};
  EXPECT_EQ(ids_of(f), sorted({a1.id, m1.id}));
  f.labels = {{"env", "prod"}};
  EXPECT_EQ(ids_of(f), sorted({s1.id}));
}

TEST_P(IdentitiesTest, ListPaginatesWithCursors) {
  Identity h = human();
  std::vector<std::string> expected;
  for (int i = 0; i < 8; ++i) {
    NewIdentity input = spec(Kind::kAgent, "bot " + std::to_string(i), h.id);
    input.labels = {{"fleet", "a"}};
    expected.push_back(create(admin_, input).value().id);
    agent(h.id);  // an unlabelled one in between, filtered out
    clock_.advance(1000);
  }
  std::sort(expected.begin(), expected.end());

  IdentityFilter f;
  f.labels = {{"fleet", "a"}};
  f.limit = 3;
  std::vector<std::string> seen;
  int pages = 0;
  for (;;) {
    auto page = list(admin_, f);
    ASSERT_TRUE(page.ok()) << page.error().message;
    ++pages;
    EXPECT_LE(page->items.size(), 3u);
    for (const auto& i : page->items) seen.push_back(i.id);
    if (!page->next_cursor) break;
    f.cursor = page->next_cursor;
  }
  EXPECT_EQ(pages, 3);
  EXPECT_EQ(seen, expected);

  // An exact multiple of the limit ends without an empty extra page.
  f = {};
  f.labels = {{"fleet", "a"}};
  f.limit = 4;
  auto first = list(admin_, f);
  ASSERT_TRUE(first->next_cursor);
  f.cursor = first->next_cursor;
  auto second = list(admin_, f);
  EXPECT_EQ(second->items.size(), 4u);
  EXPECT_FALSE(second->next_cursor);

  for (const std::string& bad :
       std::vector<std::string>{"!!", "", base64url_encode("not-an-id"), "dXNyXzE"}) {
    IdentityFilter g;
    g.cursor = bad;
    auto r = list(admin_, g);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.error().code, Code::kInvalidArgument);
    EXPECT_EQ(r.error().field, "cursor");
  }
  for (int bad : {0, -1, 100'001}) {
    IdentityFilter g;
    g.limit = bad;
    EXPECT_EQ(list(admin_, g).error().field, "limit");
  }
}

}  // namespace
}  // namespace custody::directory
