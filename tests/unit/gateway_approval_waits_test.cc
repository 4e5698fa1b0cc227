// The gateway's approval waits (gateway/approval_waits.h) on both stores: a decision taken in this
// process ends its waits within milliseconds, one taken elsewhere (the row changed behind the
// process's back, as another node would) at the next poll; deadlines, expiry, heartbeats,
// cancellation, the cap, and shutdown each end a wait exactly once.
#include <gtest/gtest.h>

#include <atomic>
#include <future>

#include "directory_fixture.h"
#include "gateway/approval_waits.h"
#include "policy/approvals.h"

namespace custody::directory {
namespace {

using gateway::ApprovalWaits;
using testing::DirectoryTest;
using namespace std::chrono_literals;
using End = ApprovalWaits::End;

class ApprovalWaitsTest : public DirectoryTest {
 protected:
  // A pending approval of a fresh question about `tool`, routed to Ada.
  policy::Approval pending(const std::string& tool) {
    if (!ada_) {
      ada_ = human("Ada");
      bot_ = agent(ada_->id);
    }
    policy::Question q;
    q.subject = {"agent", bot_->id, nlohmann::json::object()};
    q.action = "call_tool";
    q.resource = {"tool", tool, {{"server", "https://s"}}};
    auto a = write([&](store::Tx& tx) {
      return policy::request_approval(tx, q, {"export"}, "tok_pep", clock_.now(),
                                      600 * kMicrosPerSecond);
    });
    EXPECT_TRUE(a.ok()) << a.error().message;
    return *a;
  }
  void decide(const std::string& id, bool approve) {
    auto d = write([&](store::Tx& tx) {
      return policy::decide_approval(tx, id, approve, owner_of(*ada_), "test", clock_.now());
    });
    ASSERT_TRUE(d.ok()) << d.error().message;
  }
  // What another node's decision looks like here: the row changes, no listener hears of it.
  void set_status_behind_the_back(const std::string& id, const std::string& status) {
    auto n = write([&](store::Tx& tx) {
      return tx.exec("UPDATE approvals SET status = $2 WHERE id = $1", {id, status});
    });
    ASSERT_TRUE(n.ok() && *n == 1);
  }

  // A wait whose end is delivered through a future (and the time it took).
  struct Watched {
    std::shared_ptr<std::promise<End>> ended = std::make_shared<std::promise<End>>();
    std::future<End> future = ended->get_future();
    std::shared_ptr<std::atomic<int>> heartbeats = std::make_shared<std::atomic<int>>(0);
    std::shared_ptr<std::atomic<int>> ends = std::make_shared<std::atomic<int>>(0);
    ApprovalWaits::Id id = 0;
  };
  Watched watch(ApprovalWaits& waits, const std::string& approval_id,
                std::chrono::milliseconds timeout = 30s) {
    Watched w;
    ApprovalWaits::Wait wait;
    wait.approval_id = approval_id;
    wait.deadline = std::chrono::steady_clock::now() + timeout;
    wait.on_end = [ended = w.ended, ends = w.ends](End e) {
      if (ends->fetch_add(1) == 0) ended->set_value(e);
    };
    wait.on_heartbeat = [beats = w.heartbeats] { beats->fetch_add(1); };
    w.id = waits.add(std::move(wait));
    return w;
  }
  ApprovalWaits::Options options(std::chrono::milliseconds poll) {
    ApprovalWaits::Options o;
    o.poll = poll;
    o.heartbeat = 60s;
    o.max_waits = 10;
    return o;
  }

  std::optional<Identity> ada_, bot_;
};

CUSTODY_ON_BOTH_BACKENDS(ApprovalWaitsTest);

TEST_P(ApprovalWaitsTest, ALocalDecisionEndsItsWaitsAtOnceWithoutWaitingForThePoll) {
  // The poll is an hour away: only the decision listener can end these in time.
  ApprovalWaits waits(*store_, clock_, options(3600s));
  auto a = pending("export");
  auto b = pending("purge");
  auto first = watch(waits, a.id);
  auto second = watch(waits, a.id);  // two calls held by the same approval
  auto other = watch(waits, b.id);
  ASSERT_NE(first.id, 0u);
  auto t0 = std::chrono::steady_clock::now();
  decide(a.id, true);
  ASSERT_EQ(first.future.wait_for(2s), std::future_status::ready);
  ASSERT_EQ(second.future.wait_for(2s), std::future_status::ready);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 1s);
  EXPECT_EQ(first.future.get(), End::kApproved);
  EXPECT_EQ(second.future.get(), End::kApproved);

  decide(b.id, false);
  ASSERT_EQ(other.future.wait_for(2s), std::future_status::ready);
  EXPECT_EQ(other.future.get(), End::kDenied);
  EXPECT_EQ(waits.size(), 0u);
  EXPECT_EQ(*first.ends + *second.ends + *other.ends, 3) << "each wait ends once";
}

TEST_P(ApprovalWaitsTest, ADecisionTakenElsewhereIsSeenAtTheNextPoll) {
  ApprovalWaits waits(*store_, clock_, options(100ms));
  auto a = pending("export");
  auto b = pending("purge");
  auto c = pending("delete");
  auto approved = watch(waits, a.id);
  auto used = watch(waits, b.id);
  auto still = watch(waits, c.id);
  set_status_behind_the_back(a.id, "approved");
  set_status_behind_the_back(b.id, "used");
  ASSERT_EQ(approved.future.wait_for(3s), std::future_status::ready);
  ASSERT_EQ(used.future.wait_for(3s), std::future_status::ready);
  EXPECT_EQ(approved.future.get(), End::kApproved);
  EXPECT_EQ(used.future.get(), End::kUsed);
  EXPECT_EQ(still.future.wait_for(300ms), std::future_status::timeout) << "still pending";
  EXPECT_EQ(waits.size(), 1u);
}

TEST_P(ApprovalWaitsTest, AnExpiredApprovalEndsItsWait) {
  ApprovalWaits waits(*store_, clock_, options(50ms));
  auto a = pending("export");
  auto w = watch(waits, a.id);
  EXPECT_EQ(w.future.wait_for(200ms), std::future_status::timeout);
  // Its TTL ran out undecided (moved, not the clock: the watcher reads the clock meanwhile).
  auto n = write([&](store::Tx& tx) {
    return tx.exec("UPDATE approvals SET expires_at = $2 WHERE id = $1", {a.id, clock_.now()});
  });
  ASSERT_TRUE(n.ok() && *n == 1);
  ASSERT_EQ(w.future.wait_for(3s), std::future_status::ready);
  EXPECT_EQ(w.future.get(), End::kExpired);
}

TEST_P(ApprovalWaitsTest, TheDeadlineEndsAWaitAndHeartbeatsRunMeanwhile) {
  auto o = options(3600s);
  o.heartbeat = 50ms;
  ApprovalWaits waits(*store_, clock_, o);
  auto a = pending("export");
  auto t0 = std::chrono::steady_clock::now();
  auto w = watch(waits, a.id, 400ms);
  ASSERT_EQ(w.future.wait_for(5s), std::future_status::ready);
  auto took = std::chrono::steady_clock::now() - t0;
  EXPECT_EQ(w.future.get(), End::kTimedOut);
  EXPECT_GE(took, 390ms);
  EXPECT_LT(took, 2s);
  EXPECT_GE(*w.heartbeats, 3) << "about one per 50 ms of the 400 ms wait";
  // The approval itself is untouched: still pending, decidable later.
  auto row = read([&](store::Tx& tx) { return policy::get_approval(tx, a.id); });
  ASSERT_TRUE(row.ok());
  EXPECT_EQ(row->status, "pending");
}

TEST_P(ApprovalWaitsTest, ACancelledWaitNeverEndsAndTheCapRefusesMore) {
  auto o = options(50ms);
  o.max_waits = 2;
  ApprovalWaits waits(*store_, clock_, o);
  auto a = pending("export");
  auto first = watch(waits, a.id);
  auto second = watch(waits, a.id);
  auto third = watch(waits, a.id);
  EXPECT_NE(first.id, 0u);
  EXPECT_NE(second.id, 0u);
  EXPECT_EQ(third.id, 0u) << "over max_waits: the caller answers at once";
  EXPECT_TRUE(waits.cancel(first.id));
  EXPECT_FALSE(waits.cancel(first.id));
  decide(a.id, true);
  ASSERT_EQ(second.future.wait_for(3s), std::future_status::ready);
  EXPECT_EQ(first.future.wait_for(200ms), std::future_status::timeout);
  EXPECT_EQ(*first.ends, 0);
}

TEST_P(ApprovalWaitsTest, ShutdownEndsEveryOpenWaitAsStopped) {
  auto a = pending("export");
  Watched w;
  {
    ApprovalWaits waits(*store_, clock_, options(3600s));
    w = watch(waits, a.id);
  }
  ASSERT_EQ(w.future.wait_for(0s), std::future_status::ready);
  EXPECT_EQ(w.future.get(), End::kStopped);
  // A decision after the gateway is gone reaches no listener of it.
  decide(a.id, true);
}

}  // namespace
}  // namespace custody::directory
