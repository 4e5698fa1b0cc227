// The cache of tracked-table reads (store/tracked_cache.h): which statements it takes, how its
// entries follow directory_version, and, on both backends, that no change to a tracked table is
// ever answered from it: not this store's writes, not another store's on the same database, not
// plain SQL, and not a read whose snapshot is older than the cache.
#include <gtest/gtest.h>

#include <future>
#include <thread>

#include "directory/credentials.h"
#include "directory/entitlements.h"
#include "directory/identity_rows.h"
#include "directory_fixture.h"
#include "store/tracked_cache.h"

namespace custody::store {
namespace {

// --- which statements ------------------------------------------------------------------------

TEST(TrackedTables, TheDirectoryStatementsAreTracked) {
  for (const char* sql : {
           "SELECT i.id FROM identities i LEFT JOIN discovery_findings f ON f.identity_id = i.id "
           "WHERE i.id = $1",
           "SELECT CASE WHEN EXISTS (SELECT 1 FROM device_identities d WHERE d.identity_id = "
           "i.id) THEN 1 ELSE 0 END FROM identities i WHERE i.id = $1",
           "SELECT id FROM credentials WHERE identity_id = $1 AND revoked_at IS NULL ORDER BY id",
           "select scope from Entitlements where identity_id = $1",
           "SELECT a.id FROM identities a, identities b WHERE a.owner_id = b.id",
       }) {
    EXPECT_TRUE(check_reads_tracked_tables_only(sql).ok()) << sql;
  }
}

TEST(TrackedTables, AnyOtherTableIsRefusedByName) {
  struct Case {
    const char* sql;
    const char* names;
  };
  for (const Case& c : {
           Case{"SELECT revoked_at FROM delegation_records WHERE id = $1", "delegation_records"},
           Case{"SELECT i.id FROM identities i JOIN audit_events e ON e.actor = i.id",
                "audit_events"},
           Case{"SELECT 1 FROM identities i, replay_cache r", "replay_cache"},
           Case{"SELECT 1 FROM identities WHERE EXISTS (SELECT 1 FROM devices d)", "devices"},
           Case{"SELECT n FROM directory_version", "directory_version"},
       }) {
    Status st = check_reads_tracked_tables_only(c.sql);
    ASSERT_FALSE(st.ok()) << c.sql;
    EXPECT_EQ(st.error().code, Code::kInternal);
    EXPECT_NE(st.error().message.find(c.names), std::string::npos) << st.error().message;
  }
  EXPECT_FALSE(check_reads_tracked_tables_only("SELECT 1").ok());
  EXPECT_FALSE(check_reads_tracked_tables_only("SELECT * FROM (SELECT 1)").ok());
}

TEST(TrackedTables, AColumnWhoseChangesDoNotMoveTheVersionIsRefused) {
  for (const char* sql : {
           "SELECT f.last_seen_at FROM identities i LEFT JOIN discovery_findings f ON "
           "f.identity_id = i.id WHERE i.id = $1",
           "SELECT * FROM discovery_findings WHERE identity_id = $1",
           "SELECT i.id, f.* FROM identities i JOIN discovery_findings f ON f.identity_id = i.id",
           "SELECT identity_id FROM discovery_findings ORDER BY LAST_SEEN_AT",
       }) {
    Status st = check_reads_tracked_tables_only(sql);
    ASSERT_FALSE(st.ok()) << sql;
    EXPECT_EQ(st.error().code, Code::kInternal);
    EXPECT_NE(st.error().message.find("discovery_findings.last_seen_at"), std::string::npos)
        << st.error().message;
  }
  // The name alone is no reason when discovery_findings is not read.
  EXPECT_TRUE(
      check_reads_tracked_tables_only("SELECT last_seen_at FROM identities WHERE id = $1").ok());
}

// --- entries and versions --------------------------------------------------------------------

Rows rows_of(const std::string& text) {
  return Rows{Row({Value(text)})};
}
std::string text_of(const std::shared_ptr<const Rows>& rows) {
  return rows && !rows->empty() ? (*rows)[0].text(0) : "(none)";
}

TEST(TrackedCacheEntries, AnEntryAnswersOnlyItsVersionStatementAndParameters) {
  TrackedCache cache(100);
  const std::vector<Value> ab = {Value("a"), Value("bc")};
  const std::vector<Value> abc = {Value("ab"), Value("c")};
  cache.put(7, "SELECT 1 FROM identities", ab, rows_of("first"));
  EXPECT_EQ(text_of(cache.find(7, "SELECT 1 FROM identities", ab)), "first");
  EXPECT_EQ(cache.find(7, "SELECT 1 FROM identities", abc), nullptr);  // same characters
  EXPECT_EQ(cache.find(7, "SELECT 2 FROM identities", ab), nullptr);
  EXPECT_EQ(cache.find(8, "SELECT 1 FROM identities", ab), nullptr);
  const std::vector<Value> null_vs_int = {Value(Null{})};
  const std::vector<Value> zero = {Value(std::int64_t{0})};
  cache.put(7, "q FROM identities", null_vs_int, rows_of("null"));
  EXPECT_EQ(cache.find(7, "q FROM identities", zero), nullptr);
}

TEST(TrackedCacheEntries, ANewerVersionEmptiesItAndAnOlderOneIsNotKept) {
  TrackedCache cache(100);
  const std::vector<Value> p = {Value("x")};
  cache.put(5, "s", p, rows_of("v5"));
  cache.put(6, "t", p, rows_of("v6"));  // a newer snapshot: v5's entries go
  EXPECT_EQ(cache.find(5, "s", p), nullptr);
  EXPECT_EQ(cache.find(6, "s", p), nullptr);
  EXPECT_EQ(text_of(cache.find(6, "t", p)), "v6");
  cache.put(5, "s", p, rows_of("late v5"));  // an older snapshot finishing late: not kept
  EXPECT_EQ(cache.find(5, "s", p), nullptr);
  EXPECT_EQ(cache.find(6, "s", p), nullptr);
  EXPECT_EQ(cache.stats().resets, 1u);
}

TEST(TrackedCacheEntries, AFullCacheIsEmptiedNotGrown) {
  TrackedCache cache(3);
  for (int i = 0; i < 3; ++i) cache.put(1, "s" + std::to_string(i), {}, rows_of("r"));
  EXPECT_NE(cache.find(1, "s0", {}), nullptr);
  cache.put(1, "s3", {}, rows_of("r"));
  EXPECT_EQ(cache.find(1, "s0", {}), nullptr);
  EXPECT_NE(cache.find(1, "s3", {}), nullptr);
  EXPECT_FALSE(TrackedCache(0).enabled());
}

// --- on both backends ------------------------------------------------------------------------

using directory::Identity;
using directory::State;
using directory::testing::DirectoryTest;

class TrackedReadTest : public DirectoryTest {
 protected:
  Result<std::optional<directory::rows::IdentityFacts>> facts(Store& store, const std::string& id) {
    std::optional<Result<std::optional<directory::rows::IdentityFacts>>> out;
    Status st = store.read([&](Tx& tx) -> Status {
      out.emplace(directory::rows::find_identity_facts(tx, id));
      return ok_status();
    });
    if (!out) return st.error();
    return std::move(*out);
  }
  State state_of(Store& store, const std::string& id) {
    auto f = facts(store, id);
    EXPECT_TRUE(f.ok() && f->has_value()) << (f.ok() ? "no identity" : f.error().message);
    return f.ok() && f->has_value() ? (*f)->identity.state : State::kRetired;
  }
  StoreStats stats() const { return store_->stats(); }
  // directory_version.n as a read sees it now; -1 (and a failure) when it cannot be read.
  std::int64_t directory_version() {
    auto r = read([&](Tx& tx) -> Result<std::int64_t> {
      CUSTODY_ASSIGN(Rows rows, tx.query("SELECT n FROM directory_version WHERE id = 1"));
      return rows.at(0).integer(0);
    });
    EXPECT_TRUE(r.ok()) << r.error().message;
    return r.ok() ? *r : -1;
  }
};

CUSTODY_ON_BOTH_BACKENDS(TrackedReadTest);

TEST_P(TrackedReadTest, ReadsAreAnsweredFromTheCacheUntilATrackedTableChanges) {
  Identity ada = human();
  Identity bot = agent(ada.id);
  ASSERT_EQ(state_of(*store_, bot.id), State::kActive);
  const auto before = stats();
  ASSERT_EQ(state_of(*store_, bot.id), State::kActive);
  EXPECT_EQ(stats().read_cache_hits, before.read_cache_hits + 1);

  ASSERT_TRUE(move(admin_, bot.id, State::kSuspended).ok());
  EXPECT_EQ(state_of(*store_, bot.id), State::kSuspended);
  EXPECT_GT(stats().read_cache_resets, before.read_cache_resets);
}

TEST_P(TrackedReadTest, EveryTrackedTableMovesTheVersion) {
  Identity ada = human();
  Identity bot = agent(ada.id);
  // Each statement changes one tracked table, as plain SQL (an administrator, another release).
  const std::vector<std::string> changes = {
      "UPDATE identities SET description = 'x' WHERE id = $1",
      "INSERT INTO entitlements (id, identity_id, scope, resource, granted_by, justification, "
      "created_at) VALUES ('ent_t', $1, 'read', 'r', 'test', 'j', 1)",
      "DELETE FROM entitlements WHERE identity_id = $1",
      "INSERT INTO credentials (id, identity_id, type, secret_hash, description, created_by, "
      "created_at, expires_at) VALUES ('cred_t', $1, 'client_secret', 'h', '', 'test', 1, 2)",
      "UPDATE credentials SET revoked_at = 3 WHERE identity_id = $1",
      "DELETE FROM credentials WHERE identity_id = $1",
      "INSERT INTO devices (id, owner_id, hostname, platform, public_jwk, key_thumbprint, state, "
      "trust, trust_reasons, trust_changed_at, enrolled_at) VALUES ('dev_t', (SELECT owner_id "
      "FROM identities WHERE id = $1), 'h', 'linux', '{}', 'tp', 'active', 'trusted', '[]', 1, 1)",
      "INSERT INTO device_identities (device_id, identity_id, selectors, created_by, created_at) "
      "VALUES ('dev_t', $1, '[]', 'test', 1)",
      "DELETE FROM device_identities WHERE identity_id = $1",
      "INSERT INTO discovery_findings (identity_id, definition_hash, kind, name, transport, "
      "target, definition, first_seen_at, last_seen_at) VALUES ($1, 'h1', 'mcp-server', 'n', "
      "'stdio', 't', '{}', 1, 1)",
      "UPDATE discovery_findings SET drifted_hash = 'h2' WHERE identity_id = $1",
      "DELETE FROM discovery_findings WHERE identity_id = $1",
  };
  for (const std::string& sql : changes) {
    const std::int64_t was = directory_version();
    auto changed = write([&](Tx& tx) { return tx.exec(sql, {bot.id}); });
    ASSERT_TRUE(changed.ok()) << sql << ": " << changed.error().message;
    const bool touches_tracked = sql.find("INTO devices") == std::string::npos;
    if (touches_tracked) {
      EXPECT_GT(directory_version(), was) << sql;
    } else {
      EXPECT_EQ(directory_version(), was) << "devices is not tracked: " << sql;
    }
  }
}

// Every column of discovery_findings but the unwatched last_seen_at moves the version when an
// UPDATE sets it, so a column added to the table without adding it to migration 0020's trigger
// fails here. A discovery sighting (last_seen_at only) leaves the cache as it is.
TEST_P(TrackedReadTest, OnlyTheSightingTimeOfAFindingChangesWithoutMovingTheVersion) {
  Identity ada = human();
  Identity bot = agent(ada.id);
  ASSERT_TRUE(write([&](Tx& tx) {
                return tx.exec(
                    "INSERT INTO discovery_findings (identity_id, definition_hash, kind, name, "
                    "transport, target, definition, first_seen_at, last_seen_at) VALUES ($1, "
                    "'h1', 'mcp-server', 'n', 'stdio', 't', '{}', 1, 1)",
                    {bot.id});
              }).ok());
  auto columns = read([&](Tx& tx) -> Result<std::vector<std::string>> {
    CUSTODY_ASSIGN(Rows rows,
                   tx.query(GetParam() == "sqlite"
                                ? "SELECT name FROM pragma_table_info('discovery_findings')"
                                : "SELECT column_name::text FROM information_schema.columns "
                                  "WHERE table_schema = current_schema() AND table_name = "
                                  "'discovery_findings'"));
    std::vector<std::string> names;
    for (const Row& row : rows) names.push_back(row.text(0));
    return names;
  });
  ASSERT_TRUE(columns.ok()) << columns.error().message;
  ASSERT_GE(columns->size(), 13u);
  for (const std::string& column : *columns) {
    const std::int64_t was = directory_version();
    const std::string sql =
        "UPDATE discovery_findings SET " + column + " = " + column + " WHERE identity_id = $1";
    auto changed = write([&](Tx& tx) { return tx.exec(sql, {bot.id}); });
    ASSERT_TRUE(changed.ok()) << sql << ": " << changed.error().message;
    ASSERT_EQ(*changed, 1) << sql;
    if (column == "last_seen_at") {
      EXPECT_EQ(directory_version(), was) << sql;
    } else {
      EXPECT_GT(directory_version(), was) << column << " is missing from migration 0020's trigger";
    }
  }

  // The token path's read of the client is still served from the cache after a sighting.
  ASSERT_EQ(state_of(*store_, bot.id), State::kActive);
  const auto before = stats();
  ASSERT_TRUE(write([&](Tx& tx) {
                return tx.exec(
                    "UPDATE discovery_findings SET last_seen_at = 99 WHERE identity_id = $1",
                    {bot.id});
              }).ok());
  ASSERT_EQ(state_of(*store_, bot.id), State::kActive);
  EXPECT_EQ(stats().read_cache_hits, before.read_cache_hits + 1);
  EXPECT_EQ(stats().read_cache_resets, before.read_cache_resets);
}

TEST_P(TrackedReadTest, AChangeMadeThroughAnotherStoreOnTheSameDatabaseIsSeenAtOnce) {
  Identity ada = human();
  Identity bot = agent(ada.id);
  ASSERT_EQ(state_of(*store_, bot.id), State::kActive);
  ASSERT_EQ(state_of(*store_, bot.id), State::kActive);  // now cached

  // Another custodyd (or an operator's SQL) on the same database: this store's cache never sees
  // the write, only the version the trigger moved.
  StoreOptions options;
  options.url = url_;
  auto other = open_store(options);
  ASSERT_TRUE(other.ok()) << other.error().message;
  Status st = (*other)->write_sync([&](Tx& tx) -> Status {
    CUSTODY_TRY(tx.exec("UPDATE identities SET state = 'suspended' WHERE id = $1", {bot.id}));
    return ok_status();
  });
  ASSERT_TRUE(st.ok()) << st.error().message;
  (*other)->close();

  EXPECT_EQ(state_of(*store_, bot.id), State::kSuspended);
}

TEST_P(TrackedReadTest, AReadOlderThanTheCacheNeitherUsesNorFillsIt) {
  Identity ada = human();
  Identity bot = agent(ada.id);
  Identity pinned = agent(ada.id);
  std::promise<void> snapshot_taken, changed;
  std::future<void> changed_seen = changed.get_future();
  std::optional<State> old_reader_saw;
  std::thread old_reader([&] {
    (void)store_->read([&](Tx& tx) -> Status {
      // The first tracked read takes the snapshot (and its version).
      (void)directory::rows::find_identity_facts(tx, pinned.id);
      snapshot_taken.set_value();
      changed_seen.wait();
      auto f = directory::rows::find_identity_facts(tx, bot.id);
      if (f.ok() && f->has_value()) old_reader_saw = (*f)->identity.state;
      return ok_status();
    });
  });
  snapshot_taken.get_future().wait();
  ASSERT_TRUE(move(admin_, bot.id, State::kSuspended).ok());
  EXPECT_EQ(state_of(*store_, bot.id), State::kSuspended);  // the cache moves to the new version
  changed.set_value();
  old_reader.join();
  ASSERT_TRUE(old_reader_saw.has_value());
  if (store_->backend() == "sqlite") {
    // One snapshot per read: the old reader still sees the identity active...
    EXPECT_EQ(*old_reader_saw, State::kActive);
  }
  // ... and what it read is not served to anyone reading now.
  EXPECT_EQ(state_of(*store_, bot.id), State::kSuspended);
  EXPECT_EQ(state_of(*store_, bot.id), State::kSuspended);
}

TEST_P(TrackedReadTest, ATrackedReadOfAnotherTableFailsInsteadOfBeingCached) {
  auto r = read([&](Tx& tx) { return tx.query_tracked("SELECT id FROM delegation_records"); });
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Code::kInternal);
  EXPECT_NE(r.error().message.find("delegation_records"), std::string::npos);
}

TEST_P(TrackedReadTest, InsideAWriteATrackedReadSeesTheWorksOwnChanges) {
  Identity ada = human();
  Identity bot = agent(ada.id);
  ASSERT_EQ(state_of(*store_, bot.id), State::kActive);  // cached at the old version
  auto seen = write([&](Tx& tx) -> Result<std::string> {
    CUSTODY_TRY(tx.exec("UPDATE identities SET state = 'suspended' WHERE id = $1", {bot.id}));
    CUSTODY_ASSIGN(auto f, directory::rows::find_identity_facts(tx, bot.id));
    return f ? std::string(directory::state_name(f->identity.state)) : "none";
  });
  ASSERT_TRUE(seen.ok()) << seen.error().message;
  EXPECT_EQ(*seen, "suspended");
}

TEST_P(TrackedReadTest, ExpiryIsJudgedAtEachReadEvenFromTheCache) {
  Identity ada = human();
  Identity bot = agent(ada.id);
  directory::NewEntitlement e{.scope = "read",
                              .resource = "api",
                              .tools = std::nullopt,
                              .expires_at = clock_.now() + 10,
                              .justification = "test"};
  ASSERT_TRUE(
      write([&](Tx& tx) { return directory::grant_entitlement(tx, ctx(admin_), bot.id, e); }).ok());
  auto in_force = [&](Micros now) {
    auto r = read([&](Tx& tx) { return directory::active_entitlements(tx, bot.id, now); });
    EXPECT_TRUE(r.ok()) << r.error().message;
    return r.ok() ? r->size() : 99;
  };
  EXPECT_EQ(in_force(clock_.now()), 1u);
  EXPECT_EQ(in_force(clock_.now() + 9), 1u);  // from the cache
  const auto hits = stats().read_cache_hits;
  EXPECT_EQ(in_force(clock_.now() + 10), 0u);  // same rows, now expired
  EXPECT_GT(stats().read_cache_hits, hits);
}

TEST_P(TrackedReadTest, ACacheOfZeroEntriesReadsThroughEveryTime) {
  StoreOptions options;
  options.url = url_;
  options.read_cache_entries = 0;
  auto uncached = open_store(options);
  ASSERT_TRUE(uncached.ok()) << uncached.error().message;
  Identity ada = human();
  for (int i = 0; i < 3; ++i) EXPECT_EQ(state_of(**uncached, ada.id), State::kActive);
  EXPECT_EQ((*uncached)->stats().read_cache_hits, 0u);
  (*uncached)->close();
}

}  // namespace
}  // namespace custody::store
