// Approval requests on both stores: binding to the question's digest, routing to the owner,
// separation of duties, expiry (derived from the clock), single use.
#include <gtest/gtest.h>

#include "directory_fixture.h"
#include "policy/approvals.h"

namespace custody::directory {
namespace {

using testing::DirectoryTest;

class ApprovalsStoreTest : public DirectoryTest {
 protected:
  policy::Question question(const std::string& subject, const std::string& tool) {
    policy::Question q;
    q.subject = {"agent", subject, nlohmann::json::object()};
    q.action = "call_tool";
    q.resource = {"tool", tool, {{"server", "https://s"}}};
    return q;
  }
  Result<policy::Approval> request(const policy::Question& q, Micros at) {
    return write([&](store::Tx& tx) {
      return policy::request_approval(tx, q, {"export"}, "tok_pep", at, kTtl);
    });
  }
  Result<policy::Approval> decide(const std::string& id, bool approve, const Principal& who,
                                  Micros at) {
    return write([&](store::Tx& tx) {
      return policy::decide_approval(tx, id, approve, who, "because", at);
    });
  }
  static constexpr Micros kTtl = 600 * kMicrosPerSecond;
};

CUSTODY_ON_BOTH_BACKENDS(ApprovalsStoreTest);

TEST_P(ApprovalsStoreTest, DigestBindsTheWholeQuestionButNotTheApprovalId) {
  auto q = question("agt_x", "export_all");
  auto with_id = q;
  with_id.context = {{"approval_id", "apr_1"}};
  EXPECT_EQ(policy::question_digest(q), policy::question_digest(with_id));
  auto other = q;
  other.resource.properties["rows"] = 10;
  EXPECT_NE(policy::question_digest(q), policy::question_digest(other));
}

TEST_P(ApprovalsStoreTest, RoutedToTheOwnerWithSeparationOfDutiesAndSingleUse) {
  Identity ada = human("Ada");
  Identity bot = agent(ada.id);
  auto q = question(bot.id, "export_all");
  Micros t0 = clock_.now();
  auto a = request(q, t0);
  ASSERT_TRUE(a.ok()) << a.error().message;
  EXPECT_EQ(a->approver, ada.id);
  EXPECT_EQ(request(q, t0 + 1)->id, a->id) << "the pending request is found again";

  Identity eve = human("Eve");
  auto wrong = decide(a->id, true, owner_of(eve), t0 + 2);
  ASSERT_FALSE(wrong.ok());
  EXPECT_EQ(wrong.error().code, Code::kPermissionDenied);
  // An admin token that was the requester may not decide it.
  Principal pep{.token_id = "tok_pep", .role = Role::kAdmin, .human_id = std::nullopt};
  auto own = decide(a->id, true, pep, t0 + 2);
  ASSERT_FALSE(own.ok());
  EXPECT_NE(own.error().message.find("separation of duties"), std::string::npos);

  ASSERT_TRUE(decide(a->id, true, owner_of(ada), t0 + 3).ok());
  auto valid = read([&](store::Tx& tx) { return policy::approval_valid(tx, a->id, q, t0 + 4); });
  EXPECT_TRUE(valid.ok() && *valid);
  auto altered = question(bot.id, "delete_all");
  auto invalid =
      read([&](store::Tx& tx) { return policy::approval_valid(tx, a->id, altered, t0 + 4); });
  EXPECT_TRUE(invalid.ok() && !*invalid);

  EXPECT_TRUE(
      write([&](store::Tx& tx) { return policy::consume_approval(tx, a->id, t0 + 5); }).ok());
  auto twice = write([&](store::Tx& tx) { return policy::consume_approval(tx, a->id, t0 + 6); });
  ASSERT_FALSE(twice.ok());
  EXPECT_EQ(twice.error().code, Code::kConflict);
}

TEST_P(ApprovalsStoreTest, ExpiredRequestsCanNeitherBeDecidedNorUsed) {
  Identity ada = human("Ada");
  Identity bot = agent(ada.id);
  auto q = question(bot.id, "export_all");
  Micros t0 = clock_.now();
  auto a = request(q, t0);
  ASSERT_TRUE(a.ok());
  auto late = decide(a->id, true, owner_of(ada), t0 + kTtl);
  ASSERT_FALSE(late.ok());
  EXPECT_EQ(late.error().code, Code::kConflict);
  EXPECT_EQ(policy::to_json(*a, t0 + kTtl)["status"], "expired");
  // A new request replaces the expired one.
  EXPECT_NE(request(q, t0 + kTtl)->id, a->id);

  auto b = request(question(bot.id, "export_other"), t0);
  ASSERT_TRUE(decide(b->id, true, owner_of(ada), t0 + 1).ok());
  auto used_late =
      write([&](store::Tx& tx) { return policy::consume_approval(tx, b->id, t0 + kTtl); });
  EXPECT_FALSE(used_late.ok()) << "an approval expires unused";
}

}  // namespace
}  // namespace custody::directory
