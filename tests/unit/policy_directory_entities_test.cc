// DirectoryEntities (policy/directory_entities.h): an identity's entitlements in force are read
// once per reader, and entitlements the caller already read in the same transaction
// (add_grants) are used as they are instead of being read again.
#include <gtest/gtest.h>

#include "directory/entitlements.h"
#include "directory_fixture.h"
#include "policy/directory_entities.h"

namespace custody::policy {
namespace {

using directory::testing::DirectoryTest;

class DirectoryEntitiesTest : public DirectoryTest {
 protected:
  void entitle(const std::string& identity_id, const std::string& scope) {
    directory::NewEntitlement e;
    e.scope = scope;
    e.resource = "https://api.example.com";
    e.justification = "test";
    ASSERT_TRUE(write([&](store::Tx& tx) {
                  return directory::grant_entitlement(tx, ctx(admin_), identity_id, e);
                }).ok());
  }

  // The "grants" attribute of the identity's entity as `entities` loads it.
  static std::vector<std::string> grants_attribute(DirectoryEntities& entities,
                                                   const directory::Identity& identity) {
    cedar::EntityStore layer;
    auto uid = cedar::EntityUid::intern(cedar_type_of(identity.kind), identity.id);
    auto loaded = entities.load(uid, layer);
    EXPECT_TRUE(loaded.ok() && *loaded);
    const cedar::Entity* entity = layer.find(uid);
    std::vector<std::string> out;
    if (entity == nullptr) return out;
    auto it = entity->attrs.find(std::string_view("grants"));
    if (it == entity->attrs.end()) return out;
    for (const auto& v : it->second.as_set()) out.push_back(v.as_string());
    std::sort(out.begin(), out.end());
    return out;
  }
};

CUSTODY_ON_BOTH_BACKENDS(DirectoryEntitiesTest);

TEST_P(DirectoryEntitiesTest, EntitlementsTheCallerReadAreUsedInsteadOfReadAgain) {
  auto owner = human();
  auto bot = agent(owner.id);
  entitle(bot.id, "read");
  entitle(bot.id, "write");
  const Micros now = clock_.now();

  auto seeded = read([&](store::Tx& tx) -> Result<std::vector<std::string>> {
    CUSTODY_ASSIGN(auto in_force, directory::active_entitlements(tx, bot.id, now));
    EXPECT_EQ(in_force.size(), 2u);
    // A subset stands in for what the caller read: were the rows read again, both would show.
    std::vector<directory::Entitlement> subset;
    for (auto& e : in_force)
      if (e.scope == "read") subset.push_back(e);
    DirectoryEntities entities(tx, now);
    entities.add_grants(bot.id, subset);
    CUSTODY_ASSIGN(auto grants, entities.grants_in_force(bot.id));
    EXPECT_EQ(grants->size(), 1u);
    return grants_attribute(entities, bot);
  });
  ASSERT_TRUE(seeded.ok()) << seeded.error().message;
  EXPECT_EQ(*seeded, std::vector<std::string>{"https://api.example.com read"});

  // Without an addition the reader reads them; an addition after that read changes nothing.
  auto unseeded = read([&](store::Tx& tx) -> Result<std::vector<std::string>> {
    DirectoryEntities entities(tx, now);
    CUSTODY_ASSIGN(auto grants, entities.grants_in_force(bot.id));
    EXPECT_EQ(grants->size(), 2u);
    entities.add_grants(bot.id, {});
    return grants_attribute(entities, bot);
  });
  ASSERT_TRUE(unseeded.ok()) << unseeded.error().message;
  EXPECT_EQ(*unseeded, (std::vector<std::string>{"https://api.example.com read",
                                                 "https://api.example.com write"}));
}

}  // namespace
}  // namespace custody::policy
