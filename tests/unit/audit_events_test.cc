// Audit events: append assigns id and seq, list filters newest first with opaque cursors.
#include <gtest/gtest.h>

#include "audit/events.h"
#include "directory_fixture.h"

namespace custody::audit {
namespace {

using directory::testing::DirectoryTest;
using directory::testing::kT0;

class AuditEventsTest : public DirectoryTest {
 protected:
  Result<Event> add(Event e) {
    return write([&](store::Tx& tx) -> Result<Event> {
      CUSTODY_TRY(append(tx, e));
      return e;
    });
  }
  Event event(const std::string& actor, const std::string& action, const std::string& target,
              Micros time, const std::string& outcome = "success") {
    Event e;
    e.time = time;
    e.actor = actor;
    e.action = action;
    e.target = target;
    e.outcome = outcome;
    e.request_id = "req";
    return e;
  }
  Result<EventPage> page(EventFilter f) {
    return read([&](store::Tx& tx) { return list(tx, f); });
  }
};

CUSTODY_ON_BOTH_BACKENDS(AuditEventsTest);

TEST_P(AuditEventsTest, AppendAssignsIdAndIncreasingSeq) {
  Event e = event("tok_a", "identity.create", "agt_1", kT0);
  e.details = {{"kind", "agent"}};
  auto first = add(e);
  ASSERT_TRUE(first.ok()) << first.error().message;
  EXPECT_TRUE(first->id.starts_with("evt_"));
  EXPECT_GT(first->seq, 0);
  auto second = add(event("tok_a", "identity.update", "agt_1", kT0 + 1));
  ASSERT_TRUE(second.ok());
  EXPECT_GT(second->seq, first->seq);

  Event given = event("tok_a", "x", "", kT0);
  given.id = "evt_given";
  EXPECT_EQ(add(given)->id, "evt_given");

  auto all = page({});
  ASSERT_TRUE(all.ok()) << all.error().message;
  ASSERT_EQ(all->items.size(), 3u);
  EXPECT_EQ(all->items[2].id, first->id);
  EXPECT_EQ(all->items[2].details, e.details);
  EXPECT_EQ(all->items[2].request_id, "req");
  EXPECT_EQ(all->items[2].time, kT0);
  EXPECT_FALSE(all->next_cursor);
}

TEST_P(AuditEventsTest, InvalidUtf8InDetailsIsStoredReplaced) {
  Event e = event("anonymous", "request.refused", "", kT0, "invalid_argument");
  e.details = {{"path", std::string("/api/v1/\xff")}};
  ASSERT_TRUE(add(e).ok());
  Event null_details = event("anonymous", "request.refused", "", kT0, "not_found");
  null_details.details = nullptr;
  ASSERT_TRUE(add(null_details).ok());
  auto all = page({});
  ASSERT_EQ(all->items.size(), 2u);
  EXPECT_TRUE(all->items[0].details.is_object());
  EXPECT_EQ(all->items[1].details["path"], "/api/v1/\xef\xbf\xbd");
}

TEST_P(AuditEventsTest, FiltersAndPaginatesNewestFirst) {
  for (int i = 0; i < 10; ++i) {
    ASSERT_TRUE(add(event(i % 2 ? "tok_odd" : "tok_even", i < 5 ? "a.one" : "a.two",
                          "t" + std::to_string(i % 3), kT0 + i * kMicrosPerSecond,
                          i == 9 ? "conflict" : "success"))
                    .ok());
  }
  EventFilter f;
  f.actor = "tok_odd";
  auto odd = page(f);
  ASSERT_EQ(odd->items.size(), 5u);
  EXPECT_EQ(odd->items[0].time, kT0 + 9 * kMicrosPerSecond);
  f = {};
  f.action = "a.one";
  f.target = "t0";
  EXPECT_EQ(page(f)->items.size(), 2u);  // i = 0, 3
  f = {};
  f.outcome = "conflict";
  EXPECT_EQ(page(f)->items.size(), 1u);
  f = {};
  f.since = kT0 + 2 * kMicrosPerSecond;
  f.until = kT0 + 4 * kMicrosPerSecond;
  auto window = page(f);
  ASSERT_EQ(window->items.size(), 3u);  // inclusive bounds
  EXPECT_EQ(window->items[0].time, kT0 + 4 * kMicrosPerSecond);

  f = {};
  f.limit = 4;
  std::vector<std::int64_t> seqs;
  int pages = 0;
  for (;;) {
    auto p = page(f);
    ASSERT_TRUE(p.ok()) << p.error().message;
    ++pages;
    for (const auto& e : p->items) seqs.push_back(e.seq);
    if (!p->next_cursor) break;
    auto before = decode_cursor(*p->next_cursor);
    ASSERT_TRUE(before.ok());
    f.before_seq = *before;
  }
  EXPECT_EQ(pages, 3);
  ASSERT_EQ(seqs.size(), 10u);
  for (std::size_t i = 1; i < seqs.size(); ++i) EXPECT_GT(seqs[i - 1], seqs[i]);

  EXPECT_EQ(decode_cursor(encode_cursor(1234)).value(), 1234);
  for (const char* bad : {"", "abc", "!!", "MTIz"}) {
    auto r = decode_cursor(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.error().field, "cursor");
  }
}

TEST_P(AuditEventsTest, RefusedWorkLeavesNoEvent) {
  Status st = store_->write_sync([&](store::Tx& tx) -> Status {
    Event e = event("tok_a", "identity.create", "agt_x", kT0);
    CUSTODY_TRY(append(tx, e));
    return Error::conflict("refused after the event");
  });
  EXPECT_FALSE(st.ok());
  EXPECT_TRUE(page({})->items.empty());
}

TEST_P(AuditEventsTest, JsonShape) {
  Event e = event("usr_1", "identity.suspend", "agt_1", 1'800'000'000'123'000);
  e.seq = 42;
  e.id = "evt_1";
  e.details = {{"reason", "x"}};
  nlohmann::json expected = {{"seq", 42},
                             {"id", "evt_1"},
                             {"time", "2027-01-15T08:00:00.123Z"},
                             {"actor", "usr_1"},
                             {"action", "identity.suspend"},
                             {"target", "agt_1"},
                             {"outcome", "success"},
                             {"request_id", "req"},
                             {"details", {{"reason", "x"}}},
                             {"chain_root", ""},
                             {"delegation_id", ""},
                             {"leaf_index", nullptr},
                             {"leaf_hash", nullptr}};
  EXPECT_EQ(to_json(e), expected);
}

}  // namespace
}  // namespace custody::audit
