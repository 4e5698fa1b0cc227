// rows::find_identity_facts on both backends: the identity's row with whether it is bound to
// devices and its discovery state, read in one statement (portable SQL: the flags are integers
// on SQLite and PostgreSQL alike).
#include <gtest/gtest.h>

#include "directory/identity_rows.h"
#include "directory_fixture.h"

namespace custody::directory {
namespace {

using testing::DirectoryTest;
using testing::kT0;

class IdentityFactsTest : public DirectoryTest {
 protected:
  Result<std::optional<rows::IdentityFacts>> facts(const std::string& id) {
    return read([&](store::Tx& tx) { return rows::find_identity_facts(tx, id); });
  }
};

TEST_P(IdentityFactsTest, CarryTheRowTheDeviceBindingAndTheDiscoveryState) {
  Identity ada = human();
  Identity bot = agent(ada.id);

  auto plain = facts(bot.id);
  ASSERT_TRUE(plain.ok()) << plain.error().message;
  ASSERT_TRUE(plain->has_value());
  const rows::IdentityFacts& f = **plain;
  EXPECT_EQ(f.identity.id, bot.id);
  EXPECT_EQ(f.identity.owner_id, ada.id);
  EXPECT_EQ(f.identity.state, State::kActive);
  EXPECT_FALSE(f.device_bound);
  EXPECT_FALSE(f.discovered);
  EXPECT_FALSE(f.drifted);

  // A device binding and a drifted discovery finding, written as the device and inventory
  // modules write them.
  ASSERT_TRUE(write([&](store::Tx& tx) -> Status {
                CUSTODY_TRY(tx.exec(
                    "INSERT INTO devices (id, owner_id, hostname, platform, public_jwk, "
                    "key_thumbprint, state, trust, trust_reasons, trust_changed_at, enrolled_at) "
                    "VALUES ('dev_1', $1, 'h', 'linux', '{}', 'tp', 'active', 'trusted', '[]', "
                    "$2, $2)",
                    {ada.id, kT0}));
                CUSTODY_TRY(
                    tx.exec("INSERT INTO device_identities (device_id, identity_id, selectors, "
                            "created_by, created_at) VALUES ('dev_1', $1, '[]', 'test', $2)",
                            {bot.id, kT0}));
                CUSTODY_TRY(tx.exec(
                    "INSERT INTO discovery_findings (identity_id, definition_hash, kind, name, "
                    "transport, target, definition, drifted_hash, first_seen_at, last_seen_at) "
                    "VALUES ($1, 'h1', 'mcp-server', 'n', 'stdio', 't', '{}', 'h2', $2, $2)",
                    {bot.id, kT0}));
                return ok_status();
              }).ok());
  auto marked = facts(bot.id);
  ASSERT_TRUE(marked.ok()) << marked.error().message;
  ASSERT_TRUE(marked->has_value());
  EXPECT_TRUE((*marked)->device_bound);
  EXPECT_TRUE((*marked)->discovered);
  EXPECT_TRUE((*marked)->drifted);

  // The owner has none of them; an unknown id has no row.
  auto owner = facts(ada.id);
  ASSERT_TRUE(owner.ok() && owner->has_value());
  EXPECT_FALSE((*owner)->device_bound || (*owner)->discovered || (*owner)->drifted);
  auto missing = facts("agt_01JUNKJUNKJUNKJUNKJUNKJUNK");
  ASSERT_TRUE(missing.ok());
  EXPECT_FALSE(missing->has_value());
}

CUSTODY_ON_BOTH_BACKENDS(IdentityFactsTest);

}  // namespace
}  // namespace custody::directory
