// decide_call against a real store and PDP on both backends: a granted approval is looked up
// only when @approval policies alone hold a call back, waives them once, and a call the
// policies permit anyway neither needs nor uses one.
#include <gtest/gtest.h>

#include "directory_fixture.h"
#include "gateway/authorize.h"
#include "policy/approvals.h"
#include "policy/bundle.h"
#include "policy/pdp.h"

namespace custody::gateway {
namespace {

using directory::Identity;
using directory::testing::DirectoryTest;

constexpr const char* kPolicies = R"(
@id("tools") permit (principal, action == Action::"call_tool", resource);
@id("export-needs-approval") @approval("data export")
forbid (principal, action == Action::"call_tool", resource) when { resource.name == "export" };
@id("no-purge") forbid (principal, action == Action::"call_tool", resource)
when { resource.name == "purge" };
)";

class GatewayDecideTest : public DirectoryTest {
 protected:
  void SetUp() override {
    DirectoryTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    policy::BundleSource source;
    source.files = {{"gateway.cedar", kPolicies}};
    auto compiled = policy::compile_bundle(source);
    ASSERT_TRUE(compiled.errors.empty()) << compiled.errors.front().message;
    pdp_.install_policies(
        1, std::shared_ptr<const policy::CompiledBundle>(std::move(compiled.bundle)));
    ada_ = human();
    bot_ = agent(ada_.id);
    route_.name = "files";
    route_.public_url = "https://custody.test/mcp/files";
    route_.upstream_url = "http://127.0.0.1:9/mcp";
    route_.scope = "mcp";
    caller_.principal = bot_.id;
    caller_.chain = {bot_.id};
    caller_.presented.subject = bot_.id;
  }
  Result<CallDecision> decide(const std::string& tool) {
    CallTarget target{"tools/call", tool, {{"rows", 10}}};
    return read([&](store::Tx& tx) {
      return decide_call(tx, pdp_, route_, caller_, target, clock_.now(), DecideOptions{});
    });
  }
  // Requests and grants an approval of the question `decision` asked.
  std::string grant(const CallDecision& decision) {
    auto a = write([&](store::Tx& tx) {
      return policy::request_approval(tx, decision.question, {"data export"}, "tok_pep",
                                      clock_.now(), 600 * kMicrosPerSecond);
    });
    EXPECT_TRUE(a.ok()) << a.error().message;
    auto d = write([&](store::Tx& tx) {
      return policy::decide_approval(tx, a->id, true, owner_of(ada_), "ok", clock_.now());
    });
    EXPECT_TRUE(d.ok()) << d.error().message;
    return a->id;
  }

  policy::Pdp pdp_{policy::PdpSettings{}};
  Identity ada_, bot_;
  Route route_;
  Caller caller_;
};

TEST_P(GatewayDecideTest, AnApprovalIsLookedUpOnlyForACheckpoint) {
  auto held = decide("export");
  ASSERT_TRUE(held.ok()) << held.error().message;
  EXPECT_EQ(held->outcome, "approval_required");
  EXPECT_EQ(held->approval_labels, std::vector<std::string>{"data export"});
  EXPECT_FALSE(held->approval_used.has_value());

  std::string id = grant(*held);
  auto through = decide("export");
  ASSERT_TRUE(through.ok()) << through.error().message;
  EXPECT_EQ(through->outcome, "permit");
  EXPECT_EQ(through->approval_used, id);

  // Consumed, the approval lets no second call through.
  ASSERT_TRUE(
      write([&](store::Tx& tx) { return policy::consume_approval(tx, id, clock_.now()); }).ok());
  auto again = decide("export");
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->outcome, "approval_required");
}

TEST_P(GatewayDecideTest, PermittedAndDeniedCallsDoNotUseAnApproval) {
  auto echo = decide("echo");
  ASSERT_TRUE(echo.ok()) << echo.error().message;
  EXPECT_EQ(echo->outcome, "permit");
  EXPECT_EQ(echo->reasons, std::vector<std::string>{"tools"});
  // A granted approval of the very same question stays unused: the call does not need it.
  std::string id = grant(*echo);
  auto again = decide("echo");
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->outcome, "permit");
  EXPECT_FALSE(again->approval_used.has_value());
  auto valid = read(
      [&](store::Tx& tx) { return policy::approval_valid(tx, id, again->question, clock_.now()); });
  EXPECT_TRUE(valid.ok() && *valid);

  // A forbid without @approval is a deny, approval or not.
  auto purge = decide("purge");
  ASSERT_TRUE(purge.ok());
  EXPECT_EQ(purge->outcome, "deny");
  grant(*purge);
  auto still = decide("purge");
  ASSERT_TRUE(still.ok());
  EXPECT_EQ(still->outcome, "deny");
  EXPECT_FALSE(still->approval_used.has_value());
}

CUSTODY_ON_BOTH_BACKENDS(GatewayDecideTest);

}  // namespace
}  // namespace custody::gateway
