// Names, id prefixes and the lifecycle table of directory/model.h and principal.h.
#include <gtest/gtest.h>

#include <set>
#include <utility>

#include "common/ids.h"
#include "directory/model.h"
#include "directory/principal.h"

namespace custody::directory {
namespace {

constexpr State kStates[] = {State::kDiscovered, State::kPending, State::kActive, State::kSuspended,
                             State::kRetired};
constexpr Kind kKinds[] = {Kind::kHuman, Kind::kService, Kind::kAgent, Kind::kMcpServer};

TEST(DirectoryModel, TransitionTableIsExactlyTheDocumentedOne) {
  using S = State;
  const std::set<std::pair<S, S>> legal = {
      {S::kDiscovered, S::kPending}, {S::kPending, S::kActive},     {S::kActive, S::kSuspended},
      {S::kSuspended, S::kActive},   {S::kDiscovered, S::kRetired}, {S::kPending, S::kRetired},
      {S::kActive, S::kRetired},     {S::kSuspended, S::kRetired},
  };
  for (State from : kStates) {
    for (State to : kStates) {
      EXPECT_EQ(transition_allowed(from, to), legal.count({from, to}) == 1)
          << state_name(from) << " -> " << state_name(to);
    }
  }
}

TEST(DirectoryModel, KindNamesAndPrefixesRoundTrip) {
  EXPECT_EQ(kind_name(Kind::kMcpServer), "mcp_server");
  EXPECT_EQ(id_prefix(Kind::kHuman), "usr");
  EXPECT_EQ(id_prefix(Kind::kService), "svc");
  EXPECT_EQ(id_prefix(Kind::kAgent), "agt");
  EXPECT_EQ(id_prefix(Kind::kMcpServer), "mcp");
  for (Kind k : kKinds) {
    EXPECT_EQ(parse_kind(kind_name(k)), k);
    EXPECT_EQ(kind_of_id(new_id(id_prefix(k), 1'000'000)), k);
  }
  EXPECT_FALSE(parse_kind("Human"));
  EXPECT_FALSE(parse_kind(""));
  EXPECT_FALSE(kind_of_id("ent_01JDQ3V6S7K2W8C0M4N5P6R7T8"));
  EXPECT_FALSE(kind_of_id("usr_short"));
  EXPECT_FALSE(kind_of_id("agt"));
}

TEST(DirectoryModel, StateAndOtherNamesRoundTrip) {
  for (State s : kStates) EXPECT_EQ(parse_state(state_name(s)), s);
  EXPECT_EQ(state_name(State::kDiscovered), "discovered");
  EXPECT_FALSE(parse_state("ACTIVE"));
  EXPECT_EQ(parse_credential_type("client_secret"), CredentialType::kClientSecret);
  EXPECT_EQ(credential_type_name(CredentialType::kJwk), "jwk");
  EXPECT_FALSE(parse_credential_type("password"));
  for (Role r : {Role::kAdmin, Role::kAuditor, Role::kOwner})
    EXPECT_EQ(parse_role(role_name(r)), r);
  EXPECT_FALSE(parse_role("root"));
}

TEST(DirectoryModel, SystemPrincipalIsAnAdminWithoutHuman) {
  Principal p = system_principal();
  EXPECT_EQ(p.token_id, "system");
  EXPECT_EQ(p.role, Role::kAdmin);
  EXPECT_EQ(p.actor(), "system");
  EXPECT_TRUE(p.can_write());
}

TEST(DirectoryModel, ActiveAtHonoursExpiryAndRevocation) {
  Entitlement e;
  EXPECT_TRUE(e.active_at(100));
  e.expires_at = 100;
  EXPECT_TRUE(e.active_at(99));
  EXPECT_FALSE(e.active_at(100));
  e.expires_at.reset();
  e.revoked_at = 5;
  EXPECT_FALSE(e.active_at(1));
}

}  // namespace
}  // namespace custody::directory
