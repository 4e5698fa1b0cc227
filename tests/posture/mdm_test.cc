// MDM enrolment by the presence of a management agent's files.
#include "posture/mdm.h"

#include <gtest/gtest.h>

#include "test_support.h"

namespace custody::posture {
namespace {

using testing::fixture;

TEST(Mdm, IntuneAndLandscape) {
  auto intune = collect_mdm(RootFiles(fixture("debian-luks-nft")));
  EXPECT_TRUE(intune.known);
  EXPECT_TRUE(intune.enrolled);
  EXPECT_EQ(intune.vendor, "microsoft-intune");
  auto landscape = collect_mdm(RootFiles(fixture("ubuntu-plain-iptables")));
  EXPECT_TRUE(landscape.enrolled);
  EXPECT_EQ(landscape.vendor, "canonical-landscape");
}

TEST(Mdm, NoneIsKnownNotEnrolled) {
  auto none = collect_mdm(RootFiles(fixture("container-overlay")));
  EXPECT_TRUE(none.known);
  EXPECT_FALSE(none.enrolled);
  EXPECT_EQ(none.vendor, "");
}

TEST(Mdm, EveryAgentOfTheTableIsRecognised) {
  for (const auto& agent : mdm_agents()) {
    testing::TempTree t;
    t.mkdir(std::string(agent.path));
    auto m = collect_mdm(RootFiles(t.root()));
    EXPECT_TRUE(m.enrolled) << agent.vendor;
    EXPECT_EQ(m.vendor, agent.vendor);
  }
}

TEST(Mdm, ManagementAgentsComeBeforeSecurityAgents) {
  testing::TempTree t;
  t.mkdir("/opt/microsoft/mdatp");
  t.mkdir("/opt/jc");
  EXPECT_EQ(collect_mdm(RootFiles(t.root())).vendor, "jumpcloud");
}

}  // namespace
}  // namespace custody::posture
