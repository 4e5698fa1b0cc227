// Approval notifications on both stores (policy/approval_notifications.h, approval_callbacks.h):
// a new request queues its approver's webhook; a CIBA ping is held until the decision and then
// due; signed callbacks decide once as the approver and refuse forged, altered, replayed and
// expired links (expiry from the fixed clock, no waiting); the webhook signature's shape.
#include <gtest/gtest.h>

#include "common/encoding.h"
#include "crypto/keyed_hash.h"
#include "directory_fixture.h"
#include "policy/approval_callbacks.h"
#include "policy/approval_notifications.h"
#include "policy/approvals.h"

namespace custody::directory {
namespace {

using testing::DirectoryTest;

class ApprovalNotificationsStoreTest : public DirectoryTest {
 protected:
  policy::Approval request_for(const Identity& subject, Micros at) {
    policy::Question q;
    q.subject = {"agent", subject.id, nlohmann::json::object()};
    q.action = "call_tool";
    q.resource = {"tool", "export_all", nlohmann::json::object()};
    auto a = write([&](store::Tx& tx) {
      return policy::request_approval(tx, q, {"export"}, "tok_pep", at, kTtl);
    });
    EXPECT_TRUE(a.ok()) << a.error().message;
    return a.ok() ? a.value() : policy::Approval{};
  }
  std::vector<policy::ApprovalNotification> notifications(const std::string& id) {
    auto r = read([&](store::Tx& tx) { return policy::notifications_of(tx, id); });
    EXPECT_TRUE(r.ok());
    return r.ok() ? r.value() : std::vector<policy::ApprovalNotification>{};
  }
  Result<policy::Approval> callback(const std::string& id, const std::string& decision,
                                    const std::string& sig, Micros at) {
    return write([&](store::Tx& tx) {
      return policy::decide_by_callback(tx, hasher_, id, decision, sig, at);
    });
  }
  static constexpr Micros kTtl = 600 * kMicrosPerSecond;
  crypto::SecretHasher hasher_{std::string(32, 'k')};
};

CUSTODY_ON_BOTH_BACKENDS(ApprovalNotificationsStoreTest);

TEST_P(ApprovalNotificationsStoreTest, WebhooksAreQueuedAndPingsHeldUntilTheDecision) {
  Identity ada = human("Ada");
  Identity bot = agent(ada.id);
  Micros t0 = clock_.now();
  policy::Approval a = request_for(bot, t0);
  auto queued = notifications(a.id);
  ASSERT_EQ(queued.size(), 1u);
  EXPECT_EQ(queued[0].kind, policy::kWebhookNotification);
  EXPECT_EQ(queued[0].state, "pending");

  auto held = write([&](store::Tx& tx) -> Result<bool> {
    CUSTODY_TRY(policy::hold_ciba_ping(tx, a.id, "https://rp/ping", "tok-1", t0));
    return true;
  });
  ASSERT_TRUE(held.ok());
  auto due = read([&](store::Tx& tx) { return policy::due_notifications(tx, t0 + 1, 10); });
  ASSERT_TRUE(due.ok());
  ASSERT_EQ(due->size(), 1u) << "the held ping is not due";

  auto decided = write([&](store::Tx& tx) {
    return policy::decide_approval(tx, a.id, false, owner_of(ada), "no", t0 + 2);
  });
  ASSERT_TRUE(decided.ok()) << decided.error().message;
  due = read([&](store::Tx& tx) { return policy::due_notifications(tx, t0 + 2, 10); });
  ASSERT_TRUE(due.ok());
  ASSERT_EQ(due->size(), 2u);
  EXPECT_EQ((*due)[1].kind, policy::kCibaPing);
  EXPECT_EQ((*due)[1].bearer, "tok-1");
}

TEST_P(ApprovalNotificationsStoreTest, CallbacksDecideOnceAsTheApprover) {
  Identity ada = human("Ada");
  Identity bot = agent(ada.id);
  Micros t0 = clock_.now();
  policy::Approval a = request_for(bot, t0);
  std::string approve = policy::callback_signature(hasher_, a, "approve");
  std::string deny = policy::callback_signature(hasher_, a, "deny");
  EXPECT_NE(approve, deny);
  EXPECT_EQ(approve.size(), 64u);
  EXPECT_NE(policy::callback_url("https://c.example", hasher_, a, "approve")
                .find("/api/v1/approvals/" + a.id + "/callback?decision=approve&sig=" + approve),
            std::string::npos);

  // Signed for another approver or another expiry: not this approval's link.
  policy::Approval other = a;
  other.approver = "usr_mallory";
  auto forged =
      callback(a.id, "approve", policy::callback_signature(hasher_, other, "approve"), t0 + 1);
  ASSERT_FALSE(forged.ok());
  EXPECT_EQ(forged.error().code, Code::kPermissionDenied);
  other = a;
  other.expires_at += kTtl;
  EXPECT_FALSE(
      callback(a.id, "approve", policy::callback_signature(hasher_, other, "approve"), t0 + 1)
          .ok());
  EXPECT_FALSE(callback(a.id, "deny", approve, t0 + 1).ok()) << "a swapped decision";
  EXPECT_FALSE(callback("apr_unknown", "approve", approve, t0 + 1).ok());

  auto ok = callback(a.id, "approve", approve, t0 + 1);
  ASSERT_TRUE(ok.ok()) << ok.error().message;
  EXPECT_EQ(ok->status, "approved");
  EXPECT_EQ(ok->decided_by, ada.id);
  auto replayed = callback(a.id, "deny", deny, t0 + 2);
  ASSERT_FALSE(replayed.ok());
  EXPECT_EQ(replayed.error().code, Code::kConflict);
  EXPECT_NE(replayed.error().message.find("replayed"), std::string::npos);
}

TEST_P(ApprovalNotificationsStoreTest, ExpiredCallbacksAndSeparationOfDuties) {
  Identity ada = human("Ada");
  Identity bot = agent(ada.id);
  Micros t0 = clock_.now();
  policy::Approval a = request_for(bot, t0);
  auto late =
      callback(a.id, "approve", policy::callback_signature(hasher_, a, "approve"), a.expires_at);
  ASSERT_FALSE(late.ok());
  EXPECT_EQ(late.error().code, Code::kConflict);
  EXPECT_NE(late.error().message.find("expired"), std::string::npos);

  // The approver asked for it themselves: separation of duties holds through the link too.
  policy::Question q;
  q.subject = {"agent", bot.id, nlohmann::json::object()};
  q.action = "call_tool";
  q.resource = {"tool", "delete_all", nlohmann::json::object()};
  auto own = write(
      [&](store::Tx& tx) { return policy::request_approval(tx, q, {"export"}, ada.id, t0, kTtl); });
  ASSERT_TRUE(own.ok());
  auto refused =
      callback(own->id, "approve", policy::callback_signature(hasher_, *own, "approve"), t0 + 1);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, Code::kPermissionDenied);
  EXPECT_NE(refused.error().message.find("separation of duties"), std::string::npos);
}

TEST(WebhookSignature, IsTimestampedHmacOfTheBody) {
  std::string sig = policy::webhook_signature("secret", 1796020800, "{\"a\":1}");
  EXPECT_EQ(sig,
            "t=1796020800,v1=" + hex_encode(crypto::hmac_sha256("secret", "1796020800.{\"a\":1}")));
}

}  // namespace
}  // namespace custody::directory
