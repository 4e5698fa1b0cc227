// The authorization server's stored state on both backends: the replay cache, signing key
// rotation with pre-publication and retention, and delegation subtree revocation.
#include <gtest/gtest.h>

#include "delegation/cascade.h"
#include "delegation/holder_filters.h"
#include "delegation/record.h"
#include "directory_fixture.h"
#include "oauth/key_manager.h"
#include "oauth/replay.h"

namespace custody::oauth {
namespace {

using directory::testing::DirectoryTest;
using directory::testing::kT0;

class OAuthStoreTest : public DirectoryTest {};

TEST_P(OAuthStoreTest, AOneTimeValueIsAcceptedOnceUntilItExpires) {
  auto once = [&](Micros now) {
    bool fresh = false;
    EXPECT_TRUE(store_
                    ->write_sync([&](store::Tx& tx) -> Status {
                      CUSTODY_ASSIGN(fresh, record_once(tx, "dpop", "jkt:j1", kT0 + 100, now));
                      return ok_status();
                    })
                    .ok());
    return fresh;
  };
  EXPECT_TRUE(once(kT0));
  EXPECT_FALSE(once(kT0 + 50)) << "a replay within the lifetime is refused";
  EXPECT_TRUE(once(kT0 + 100)) << "an expired entry is reused in place";
  std::int64_t purged = -1;
  ASSERT_TRUE(store_
                  ->write_sync([&](store::Tx& tx) -> Status {
                    CUSTODY_ASSIGN(purged, purge_replay_cache(tx, kT0 + 1000));
                    return ok_status();
                  })
                  .ok());
  EXPECT_EQ(purged, 1);
}

TEST_P(OAuthStoreTest, KeysArePublishedAheadSignInTurnAndStayUntilTheirTokensExpire) {
  auto kek = crypto::KeyEncryptionKey::generate();
  KeyManagerOptions options;
  options.rotation = 1000 * kMicrosPerSecond;
  options.retention = 100 * kMicrosPerSecond;
  KeyManager keys(*store_, kek, clock_, options);
  ASSERT_TRUE(keys.refresh().ok());
  auto d = keys.describe();
  ASSERT_EQ(d.size(), 2u);
  EXPECT_EQ(d[0].status, "upcoming");
  EXPECT_EQ(d[0].activate_at, kT0 + 1000 * kMicrosPerSecond);
  EXPECT_EQ(d[1].status, "current");
  std::string first = d[1].kid, second = d[0].kid;
  EXPECT_EQ(keys.keys().current()->key.kid(), first);
  EXPECT_NE(keys.keys().find(second), nullptr) << "the upcoming key verifies and is in JWKS";

  // The schedule: at the upcoming key's activation it signs and a third key is published.
  clock_.advance(1000 * kMicrosPerSecond);
  ASSERT_TRUE(keys.refresh().ok());
  EXPECT_EQ(keys.keys().current()->key.kid(), second);
  d = keys.describe();
  ASSERT_EQ(d.size(), 3u);
  EXPECT_EQ(d[2].status, "previous");
  EXPECT_EQ(d[2].published_until, kT0 + 1100 * kMicrosPerSecond);
  // Retention over: the first key is gone from the set.
  clock_.advance(101 * kMicrosPerSecond);
  ASSERT_TRUE(keys.refresh().ok());
  EXPECT_EQ(keys.keys().find(first), nullptr);

  // A second manager (another node, or a restart) derives the same set from the rows.
  KeyManager other(*store_, kek, clock_, options);
  ASSERT_TRUE(other.refresh().ok());
  EXPECT_EQ(other.keys().current()->key.kid(), second);

  // Manual rotation activates the published key now, and audits it.
  std::string upcoming;
  for (const auto& k : keys.describe())
    if (k.status == "upcoming") upcoming = k.kid;
  ASSERT_TRUE(keys.rotate_now("tok_admin", "req-1").ok());
  EXPECT_EQ(keys.keys().current()->key.kid(), upcoming);

  // A KEK that did not wrap the keys cannot load them: start-up fails instead of re-keying.
  auto wrong = crypto::KeyEncryptionKey::generate();
  KeyManager stranger(*store_, wrong, clock_, options);
  Status s = stranger.refresh();
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().message.find("cannot unwrap signing key"), std::string::npos);
}

TEST_P(OAuthStoreTest, RevokingARecordRevokesExactlyItsSubtree) {
  auto rec = [&](std::string id, std::optional<std::string> parent, int depth) {
    delegation::Record r;
    r.id = std::move(id);
    r.parent_id = std::move(parent);
    r.root_id = "dlg_root";
    r.subject = "agt_a";
    r.subject_issuer = "https://iam";
    r.client_id = "agt_a";
    r.audience = {"x"};
    r.scopes = {"read"};
    r.depth = depth;
    r.grant_type = "client_credentials";
    r.issued_at = kT0;
    r.expires_at = kT0 + 600 * kMicrosPerSecond;
    return r;
  };
  ASSERT_TRUE(store_
                  ->write_sync([&](store::Tx& tx) -> Status {
                    CUSTODY_TRY(delegation::insert_record(tx, rec("dlg_root", std::nullopt, 0)));
                    CUSTODY_TRY(delegation::insert_record(tx, rec("dlg_b", "dlg_root", 1)));
                    CUSTODY_TRY(delegation::insert_record(tx, rec("dlg_c", "dlg_b", 2)));
                    CUSTODY_TRY(delegation::insert_record(tx, rec("dlg_sib", "dlg_root", 1)));
                    return ok_status();
                  })
                  .ok());
  std::vector<std::string> revoked;
  ASSERT_TRUE(store_
                  ->write_sync([&](store::Tx& tx) -> Status {
                    CUSTODY_ASSIGN(revoked,
                                   delegation::revoke_subtree(tx, "dlg_b", kT0, "agt_a", "test"));
                    return ok_status();
                  })
                  .ok());
  std::sort(revoked.begin(), revoked.end());
  EXPECT_EQ(revoked, (std::vector<std::string>{"dlg_b", "dlg_c"}));
  ASSERT_TRUE(store_
                  ->read([&](store::Tx& tx) -> Status {
                    EXPECT_TRUE(*delegation::is_live(tx, "dlg_root"));
                    EXPECT_TRUE(*delegation::is_live(tx, "dlg_sib"));
                    EXPECT_FALSE(*delegation::is_live(tx, "dlg_c"));
                    // The narrow read a token exchange bounds its record by.
                    auto link = delegation::find_link(tx, "dlg_c");
                    EXPECT_TRUE(link.ok() && link->has_value());
                    if (link.ok() && link->has_value()) {
                      EXPECT_EQ((*link)->root_id, "dlg_root");
                      EXPECT_EQ((*link)->depth, 2);
                      EXPECT_TRUE((*link)->revoked);
                      EXPECT_FALSE((*link)->max_hops.has_value());
                    }
                    auto live_link = delegation::find_link(tx, "dlg_sib");
                    EXPECT_TRUE(live_link.ok() && live_link->has_value() && !(*live_link)->revoked);
                    auto none = delegation::find_link(tx, "dlg_none");
                    EXPECT_TRUE(none.ok() && !none->has_value());
                    auto chain = delegation::chain(tx, "dlg_c");
                    EXPECT_TRUE(chain.ok());
                    EXPECT_EQ(chain->size(), 3u);
                    EXPECT_EQ(chain->front().id, "dlg_root");
                    return ok_status();
                  })
                  .ok());
  // A record made with an actor token dies with the actor token's record.
  ASSERT_TRUE(store_
                  ->write_sync([&](store::Tx& tx) -> Status {
                    auto acted = rec("dlg_acted", "dlg_root", 1);
                    acted.actor_delegation_id = "dlg_sib";
                    return delegation::insert_record(tx, acted);
                  })
                  .ok());
  ASSERT_TRUE(store_
                  ->write_sync([&](store::Tx& tx) -> Status {
                    CUSTODY_ASSIGN(
                        revoked, delegation::revoke_subtree(tx, "dlg_sib", kT0, "agt_b", "actor"));
                    return ok_status();
                  })
                  .ok());
  std::sort(revoked.begin(), revoked.end());
  EXPECT_EQ(revoked, (std::vector<std::string>{"dlg_acted", "dlg_sib"}));
  ASSERT_TRUE(store_
                  ->read([&](store::Tx& tx) -> Status {
                    EXPECT_TRUE(*delegation::is_live(tx, "dlg_root"));
                    auto below = delegation::descendants(tx, "dlg_root");
                    EXPECT_TRUE(below.ok());
                    EXPECT_EQ(below->size(), 4u) << "dlg_acted is listed once";
                    return ok_status();
                  })
                  .ok());
  // Revoking again changes nothing.
  ASSERT_TRUE(store_
                  ->write_sync([&](store::Tx& tx) -> Status {
                    CUSTODY_ASSIGN(revoked,
                                   delegation::revoke_subtree(tx, "dlg_b", kT0, "agt_a", "again"));
                    return ok_status();
                  })
                  .ok());
  EXPECT_TRUE(revoked.empty());
}

// The cascades find an identity's records in every role through three indexed clauses
// (delegation/holder_filters.h), although subject and actor are indexed only where they differ
// from the client: the sets are the same as with one full index per column.
TEST_P(OAuthStoreTest, CascadesFindEveryRoleOfAnIdentityThroughPartialIndexes) {
  auto rec = [&](std::string id, std::string subject, std::string client, std::string actor,
                 std::string grant) {
    delegation::Record r;
    r.id = id;
    r.root_id = id;
    r.subject = std::move(subject);
    r.subject_issuer = "https://iam";
    r.client_id = std::move(client);
    r.actor = std::move(actor);
    r.audience = {"res"};
    r.scopes = {"read"};
    r.grant_type = std::move(grant);
    r.issued_at = kT0;
    r.expires_at = kT0 + 600 * kMicrosPerSecond;
    return r;
  };
  const std::string te = "urn:ietf:params:oauth:grant-type:token-exchange";
  ASSERT_TRUE(store_
                  ->write_sync([&](store::Tx& tx) -> Status {
                    for (const auto& r : {
                             rec("dlg_cc", "agt_x", "agt_x", "", "client_credentials"),
                             rec("dlg_x_exchanged", "agt_a", "agt_x", "agt_x", te),
                             rec("dlg_x_acts_for_b", "agt_a", "agt_b", "agt_x", te),
                             rec("dlg_code", "agt_x", "agt_c", "agt_c", "authorization_code"),
                             rec("dlg_x_subject", "agt_x", "agt_b", "agt_b", te),
                             rec("dlg_other", "agt_a", "agt_b", "agt_b", te),
                         })
                      CUSTODY_TRY(delegation::insert_record(tx, r));
                    return ok_status();
                  })
                  .ok());
  auto revoke = [&](auto cascade) {
    std::vector<std::string> revoked;
    Status s = store_->write_sync([&](store::Tx& tx) -> Status {
      CUSTODY_ASSIGN(revoked, cascade(tx));
      // Undone, so that the next cascade starts from the same records.
      return Error::conflict("roll back");
    });
    EXPECT_EQ(s.error().message, "roll back");
    std::sort(revoked.begin(), revoked.end());
    return revoked;
  };
  EXPECT_EQ(revoke([&](store::Tx& tx) {
              return delegation::revoke_for_identity(tx, "agt_x", kT0, "test", "suspended");
            }),
            (std::vector<std::string>{"dlg_cc", "dlg_code", "dlg_x_acts_for_b", "dlg_x_exchanged",
                                      "dlg_x_subject"}));
  // The entitlement cascade: records held as client or actor, or as the subject of an
  // authorization code token; not a token exchanged from x's token by someone else.
  EXPECT_EQ(
      revoke([&](store::Tx& tx) {
        return delegation::revoke_for_entitlement(tx, "agt_x", "read", "res", kT0, "test",
                                                  "entitlement revoked");
      }),
      (std::vector<std::string>{"dlg_cc", "dlg_code", "dlg_x_acts_for_b", "dlg_x_exchanged"}));

  // Each clause is answered by its own index, not by a scan of the table: SQLite and PostgreSQL
  // must both see that the clause implies the partial index's WHERE. (PostgreSQL is told not to
  // scan, since on a table this small a scan is cheaper; what is checked is that the index is
  // usable at all. SET LOCAL ends with the transaction, which this work rolls back.)
  const bool lite = GetParam() == "sqlite";
  struct Clause {
    std::string_view where, index;
  };
  Status explained = store_->write_sync([&](store::Tx& tx) -> Status {
    if (!lite) CUSTODY_TRY(tx.exec("SET LOCAL enable_seqscan = off"));
    for (const Clause& c : {Clause{delegation::kAsClient, "delegation_records_client"},
                            Clause{delegation::kAsSubjectNotClient, "delegation_records_subject"},
                            Clause{delegation::kAsActorNotClient, "delegation_records_actor_id"},
                            Clause{"parent_id = $1", "delegation_records_parent"},
                            Clause{"actor_delegation_id = $1", "delegation_records_actor"},
                            Clause{"device_id = $1", "delegation_records_device"}}) {
      const std::string query = "SELECT id FROM delegation_records WHERE " + std::string(c.where) +
                                " AND revoked_at IS NULL AND expires_at > $2";
      CUSTODY_ASSIGN(auto plan,
                     tx.query((lite ? "EXPLAIN QUERY PLAN " : "EXPLAIN ") + query, {"x", kT0}));
      std::string detail;
      for (const auto& row : plan) detail += row.text(lite ? 3 : 0) + "; ";
      EXPECT_NE(detail.find(std::string(c.index) + (lite ? " (" : " ")), std::string::npos)
          << c.where << ": " << detail;
    }
    return Error::conflict("roll back");
  });
  EXPECT_EQ(explained.error().message, "roll back");
}

CUSTODY_ON_BOTH_BACKENDS(OAuthStoreTest);

}  // namespace
}  // namespace custody::oauth
