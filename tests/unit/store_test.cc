// The store contract (src/store/store.h), run against every backend: SQLite always, PostgreSQL
// when CUSTODY_TEST_PG_URL_FILE names a file holding a server URL (tests/scripts/pg-cluster.sh
// writes one). Each test gets a fresh database: a new SQLite file, or a new PostgreSQL database
// created through that URL and dropped afterwards. Without the URL file the PostgreSQL cases
// skip, unless CUSTODY_REQUIRE_POSTGRES=1 makes them fail.
#include "store/store.h"

#include <gtest/gtest.h>
#include <libpq-fe.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <future>
#include <latch>
#include <limits>
#include <mutex>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "../common/batch_gate.h"
#include "../common/pg_exec.h"
#include "store/migrations.h"
#include "store/sqlite/sqlite_connection.h"

namespace custody::store {
namespace {

namespace fs = std::filesystem;

std::string describe(const Status& st) {
  if (st.ok()) return "OK";
  return std::string(code_name(st.error().code)) + ": " + st.error().message;
}

// --- fresh databases ---------------------------------------------------------------------------

fs::path make_temp_dir() {
  std::string tmpl = (fs::temp_directory_path() / "custody-store-test-XXXXXX").string();
  if (mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  return tmpl;
}

class TestDb {
 public:
  virtual ~TestDb() = default;
  virtual std::string url() const = 0;
};

class SqliteDb final : public TestDb {
 public:
  // The file sits in a subdirectory that does not exist yet: open_store() must create it.
  SqliteDb() : dir_(make_temp_dir()) {}
  ~SqliteDb() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  std::string url() const override { return "sqlite:" + (dir_ / "data" / "custody.db").string(); }
  std::string path() const { return (dir_ / "data" / "custody.db").string(); }

 private:
  fs::path dir_;
};

std::optional<std::string> pg_admin_url() {
  const char* file = std::getenv("CUSTODY_TEST_PG_URL_FILE");
  if (file == nullptr || *file == '\0') return std::nullopt;
  std::ifstream in(file);
  std::string url;
  if (!in || !std::getline(in, url) || url.empty()) return std::nullopt;
  return url;
}

bool postgres_required() {
  const char* v = std::getenv("CUSTODY_REQUIRE_POSTGRES");
  return v != nullptr && std::string_view(v) == "1";
}

// The URL with its database name replaced.
std::string with_database(const std::string& url, const std::string& db) {
  const auto authority = url.find("://") + 3;
  const auto slash = url.find('/', authority);
  const auto query = url.find('?', authority);
  const std::string base = url.substr(0, std::min(slash, query));
  const std::string tail = query == std::string::npos ? "" : url.substr(query);
  return base + "/" + db + tail;
}

class PgDb final : public TestDb {
 public:
  explicit PgDb(std::string admin_url) : admin_url_(std::move(admin_url)) {
    static std::atomic<int> counter{0};
    name_ = "custody_t_" + std::to_string(getpid()) + "_" + std::to_string(++counter);
    error_ = test_support::pg_exec(admin_url_, "CREATE DATABASE " + name_);
  }
  ~PgDb() override {
    if (error_.empty())
      (void)test_support::pg_exec(admin_url_, "DROP DATABASE " + name_ + " WITH (FORCE)");
  }
  std::string url() const override { return with_database(admin_url_, name_); }
  const std::string& error() const { return error_; }
  const std::string& name() const { return name_; }
  const std::string& admin_url() const { return admin_url_; }

 private:
  std::string admin_url_;
  std::string name_;
  std::string error_;
};

// --- helpers -----------------------------------------------------------------------------------

constexpr std::string_view kInsertIdentity =
    "INSERT INTO identities (id, kind, display_name, owner_id, state, version, created_at, "
    "updated_at) VALUES ($1, 'agent', $1, $2, 'active', 1, 0, 0)";

Status insert_identity(Tx& tx, const std::string& id,
                       const std::optional<std::string>& owner = std::nullopt) {
  CUSTODY_TRY(tx.exec(kInsertIdentity, {id, opt(owner)}));
  return ok_status();
}

Store::Work insert_identity_work(std::string id) {
  return [id = std::move(id)](Tx& tx) { return insert_identity(tx, id); };
}

std::int64_t count_rows(Store& s, const std::string& table) {
  std::int64_t n = -1;
  Status st = s.read([&](Tx& tx) -> Status {
    CUSTODY_ASSIGN(Rows rows, tx.query("SELECT COUNT(*) FROM " + table));
    n = rows.at(0).integer(0);
    return ok_status();
  });
  EXPECT_TRUE(st.ok()) << describe(st);
  return n;
}

bool identity_exists(Store& s, const std::string& id) {
  bool found = false;
  Status st = s.read([&](Tx& tx) -> Status {
    CUSTODY_ASSIGN(Rows rows, tx.query("SELECT id FROM identities WHERE id = $1", {id}));
    found = !rows.empty();
    return ok_status();
  });
  EXPECT_TRUE(st.ok()) << describe(st);
  return found;
}

// --- the parameterised suite -------------------------------------------------------------------

class StoreTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (GetParam() == "sqlite") {
      db_ = std::make_unique<SqliteDb>();
      return;
    }
    auto admin = pg_admin_url();
    if (!admin) {
      if (postgres_required()) {
        FAIL() << "CUSTODY_REQUIRE_POSTGRES=1 but CUSTODY_TEST_PG_URL_FILE names no URL file";
      }
      GTEST_SKIP() << "PostgreSQL not configured (set CUSTODY_TEST_PG_URL_FILE; see "
                      "tests/scripts/pg-cluster.sh)";
    }
    auto pg = std::make_unique<PgDb>(*admin);
    ASSERT_EQ(pg->error(), "") << "cannot create a test database";
    db_ = std::move(pg);
  }

  StoreOptions options() const {
    StoreOptions o;
    o.url = db_->url();
    return o;
  }

  std::unique_ptr<Store> open(StoreOptions o) {
    auto r = open_store(o);
    EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
    return r.ok() ? std::move(r).value() : nullptr;
  }
  std::unique_ptr<Store> open() { return open(options()); }

  std::unique_ptr<TestDb> db_;
};

TEST_P(StoreTest, BackendNameAndPing) {
  auto s = open();
  ASSERT_TRUE(s);
  EXPECT_EQ(s->backend(), GetParam());
  Status st = s->ping();
  EXPECT_TRUE(st.ok()) << describe(st);
}

TEST_P(StoreTest, StatementTimeoutCancelsASlowStatementAndTheStoreGoesOn) {
  StoreOptions o = options();
  o.statement_timeout_ms = 200;
  auto s = open(o);  // the migrations ran under it (they run without it)
  ASSERT_TRUE(s);
  if (GetParam() != "postgres") GTEST_SKIP() << "PostgreSQL only (SQLite has its busy timeout)";
  auto run = [](std::string sql) {
    return [sql](Tx& tx) -> Status {
      auto r = tx.query(sql);
      return r.ok() ? ok_status() : Status(r.error());
    };
  };
  auto started = std::chrono::steady_clock::now();
  Status slow = s->read(run("SELECT pg_sleep(5)"));
  auto took = std::chrono::steady_clock::now() - started;
  ASSERT_FALSE(slow.ok());
  EXPECT_EQ(slow.error().code, Code::kUnavailable) << describe(slow);
  EXPECT_NE(slow.error().message.find("statement timeout"), std::string::npos) << describe(slow);
  EXPECT_LT(took, std::chrono::seconds(2));
  Status write = s->write_sync(run("SELECT pg_sleep(5)"));
  EXPECT_EQ(write.ok() ? Code::kInternal : write.error().code, Code::kUnavailable);
  // Both connections are usable afterwards.
  EXPECT_TRUE(s->read(run("SELECT 1")).ok());
  EXPECT_TRUE(s->write_sync(run("SELECT 1")).ok());
}

TEST_P(StoreTest, MigrationsAreAppliedOnce) {
  const auto& migrations = embedded_migrations();
  ASSERT_FALSE(migrations.empty());
  auto applied = [](Store& s) {
    std::vector<std::pair<std::int64_t, std::int64_t>> out;  // version, applied_at
    Status st = s.read([&](Tx& tx) -> Status {
      CUSTODY_ASSIGN(Rows rows, tx.query("SELECT version, name, applied_at FROM "
                                         "schema_migrations ORDER BY version"));
      for (const Row& r : rows) out.emplace_back(r.integer(0), r.integer(2));
      return ok_status();
    });
    EXPECT_TRUE(st.ok()) << describe(st);
    return out;
  };

  auto s = open();
  ASSERT_TRUE(s);
  const auto first = applied(*s);
  ASSERT_EQ(first.size(), migrations.size());
  for (std::size_t i = 0; i < migrations.size(); ++i) {
    EXPECT_EQ(first[i].first, migrations[i].version);
  }
  EXPECT_EQ(count_rows(*s, "identities"), 0);
  EXPECT_EQ(count_rows(*s, "audit_events"), 0);
  s->close();

  auto again = open();  // a reopen finds nothing to do and changes nothing
  ASSERT_TRUE(again);
  EXPECT_EQ(applied(*again), first);
}

// The commit hook runs after a durable COMMIT, before that batch's done(), sees what committed
// (not what a failed work rolled back), and no longer runs once cleared.
TEST_P(StoreTest, CommitHookSeesCommittedStateBeforeDone) {
  auto s = open();
  ASSERT_TRUE(s);
  std::mutex mu;
  std::vector<std::int64_t> seen;  // meta rows visible to the hook, per commit
  s->set_commit_hook([&](Tx& tx) {
    auto rows = tx.query("SELECT COUNT(*) FROM meta");
    std::lock_guard lk(mu);
    seen.push_back(rows.ok() ? (*rows)[0].integer(0) : -1);
  });
  auto insert = [&](const std::string& key) {
    return s->write_sync([&](Tx& tx) -> Status {
      CUSTODY_TRY(tx.exec("INSERT INTO meta (key, value) VALUES ($1, 'v')", {key}));
      return ok_status();
    });
  };
  ASSERT_TRUE(insert("a").ok());
  {
    std::lock_guard lk(mu);
    ASSERT_EQ(seen.size(), 1u) << "the hook ran before write_sync returned";
    EXPECT_EQ(seen.back(), 1);
  }
  Status failed = s->write_sync([](Tx& tx) -> Status {
    CUSTODY_TRY(tx.exec("INSERT INTO meta (key, value) VALUES ('b', 'v')"));
    return Error::conflict("roll me back");
  });
  EXPECT_FALSE(failed.ok());
  {
    std::lock_guard lk(mu);
    ASSERT_EQ(seen.size(), 2u);
    EXPECT_EQ(seen.back(), 1) << "a rolled-back work is not visible to the hook";
  }
  s->set_commit_hook(nullptr);
  ASSERT_TRUE(insert("c").ok());
  std::lock_guard lk(mu);
  EXPECT_EQ(seen.size(), 2u);
}

TEST_P(StoreTest, RefusesSchemaNewerThanBuild) {
  auto s = open();
  ASSERT_TRUE(s);
  Status st = s->write_sync([](Tx& tx) -> Status {
    CUSTODY_TRY(tx.exec(
        "INSERT INTO schema_migrations (version, name, applied_at) VALUES (999999, 'x', 0)"));
    return ok_status();
  });
  ASSERT_TRUE(st.ok()) << describe(st);
  s->close();
  auto r = open_store(options());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Code::kInternal);
  EXPECT_NE(r.error().message.find("newer"), std::string::npos) << r.error().message;
}

TEST_P(StoreTest, ParametersCanRepeatAndComeOutOfOrder) {
  auto s = open();
  ASSERT_TRUE(s);
  // $2 before $1, $3 three times.
  Status st = s->write_sync([](Tx& tx) -> Status {
    CUSTODY_ASSIGN(auto n, tx.exec("INSERT INTO identities (id, kind, display_name, state, "
                                   "version, created_at, updated_at) VALUES ($2, 'agent', $1, "
                                   "'active', $3, $3, $3)",
                                   {std::string("Name"), std::string("agt_1"), std::int64_t{7}}));
    EXPECT_EQ(n, 1);
    return ok_status();
  });
  ASSERT_TRUE(st.ok()) << describe(st);

  st = s->read([](Tx& tx) -> Status {
    CUSTODY_ASSIGN(Rows rows,
                   tx.query("SELECT id, display_name, version, created_at, updated_at "
                            "FROM identities WHERE display_name = $2 AND id = $1 "
                            "AND version = $3 AND created_at = $3",
                            {std::string("agt_1"), std::string("Name"), std::int64_t{7}}));
    EXPECT_EQ(rows.size(), 1u);
    if (rows.size() == 1) {
      EXPECT_EQ(rows[0].text(0), "agt_1");
      EXPECT_EQ(rows[0].text(1), "Name");
      EXPECT_EQ(rows[0].integer(2), 7);
      EXPECT_EQ(rows[0].integer(4), 7);
    }
    // "$1" inside a string literal is text, not a parameter.
    CUSTODY_ASSIGN(Rows lit, tx.query("SELECT '$1 and $2', $1", {std::string("x")}));
    EXPECT_EQ(lit.at(0).text(0), "$1 and $2");
    EXPECT_EQ(lit.at(0).text(1), "x");
    return ok_status();
  });
  EXPECT_TRUE(st.ok()) << describe(st);
}

TEST_P(StoreTest, WrongParameterCountIsAnErrorNotACrash) {
  auto s = open();
  ASSERT_TRUE(s);
  Status st = s->read([](Tx& tx) -> Status {
    CUSTODY_TRY(tx.query("SELECT id FROM identities WHERE id = $1 AND kind = $2",
                         {std::string("only one")}));
    return ok_status();
  });
  EXPECT_FALSE(st.ok());
  EXPECT_TRUE(s->ping().ok());  // the connection is still usable
}

TEST_P(StoreTest, ValuesRoundTrip) {
  auto s = open();
  ASSERT_TRUE(s);
  constexpr auto kMin = std::numeric_limits<std::int64_t>::min();
  constexpr auto kMax = std::numeric_limits<std::int64_t>::max();
  const std::string utf8 = "Zugriff f\xC3\xBCr \xE6\x97\xA5\xE6\x9C\xAC \xF0\x9F\x94\x90 'quoted'";
  Status st = s->write_sync([&](Tx& tx) -> Status {
    CUSTODY_TRY(insert_identity(tx, "agt_rt"));
    CUSTODY_TRY(
        tx.exec("INSERT INTO entitlements (id, identity_id, scope, resource, tools, expires_at, "
                "granted_by, justification, created_at, revoked_at, revoked_by) "
                "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
                {std::string("ent_1"), std::string("agt_rt"), std::string(""), std::string("r"),
                 Null{}, kMin, std::string("adm"), utf8, std::int64_t{0}, kMax,
                 opt(std::optional<std::string>())}));
    return ok_status();
  });
  ASSERT_TRUE(st.ok()) << describe(st);

  st = s->read([&](Tx& tx) -> Status {
    CUSTODY_ASSIGN(Rows rows,
                   tx.query("SELECT scope, tools, expires_at, justification, created_at, "
                            "revoked_at, revoked_by FROM entitlements WHERE id = $1",
                            {std::string("ent_1")}));
    EXPECT_EQ(rows.size(), 1u);
    if (rows.size() != 1) return ok_status();
    const Row& r = rows[0];
    EXPECT_EQ(r.text(0), "");
    EXPECT_FALSE(r.is_null(0));
    EXPECT_TRUE(r.is_null(1));
    EXPECT_EQ(r.opt_text(1), std::nullopt);
    EXPECT_EQ(r.integer(2), kMin);
    EXPECT_EQ(r.text(3), utf8);
    EXPECT_EQ(r.integer(4), 0);
    EXPECT_EQ(r.integer(5), kMax);
    EXPECT_TRUE(r.is_null(6));
    // Bare parameters come back as they were given, and COUNT/SUM/comparisons are integers.
    CUSTODY_ASSIGN(Rows bare, tx.query("SELECT $1, $2, $3", {kMax, utf8, Null{}}));
    EXPECT_EQ(bare.at(0).integer(0), kMax);
    EXPECT_EQ(bare.at(0).text(1), utf8);
    EXPECT_TRUE(bare.at(0).is_null(2));
    CUSTODY_ASSIGN(Rows agg, tx.query("SELECT COUNT(*), SUM(created_at), MAX(revoked_at), "
                                      "1 = 1 FROM entitlements"));
    EXPECT_EQ(agg.at(0).integer(0), 1);
    EXPECT_EQ(agg.at(0).integer(1), 0);
    EXPECT_EQ(agg.at(0).integer(2), kMax);
    EXPECT_EQ(agg.at(0).integer(3), 1);
    return ok_status();
  });
  EXPECT_TRUE(st.ok()) << describe(st);
}

TEST_P(StoreTest, ExecCountsChangedRows) {
  auto s = open();
  ASSERT_TRUE(s);
  std::int64_t updated = -1, none = -1;
  Status st = s->write_sync([&](Tx& tx) -> Status {
    for (const char* id : {"agt_a", "agt_b", "agt_c"}) CUSTODY_TRY(insert_identity(tx, id));
    CUSTODY_ASSIGN(updated, tx.exec("UPDATE identities SET version = version + 1 WHERE id <> $1",
                                    {std::string("agt_b")}));
    CUSTODY_ASSIGN(none, tx.exec("DELETE FROM identities WHERE id = $1", {std::string("nope")}));
    return ok_status();
  });
  ASSERT_TRUE(st.ok()) << describe(st);
  EXPECT_EQ(updated, 2);
  EXPECT_EQ(none, 0);
}

TEST_P(StoreTest, UniqueViolationIsConflictNamingTheColumn) {
  auto s = open();
  ASSERT_TRUE(s);
  ASSERT_TRUE(s->write_sync(insert_identity_work("agt_dup")).ok());
  Status st = s->write_sync(insert_identity_work("agt_dup"));
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code, Code::kConflict) << describe(st);
  EXPECT_NE(st.error().message.find("identities.id"), std::string::npos) << describe(st);

  auto token = [](std::string id) {
    return [id = std::move(id)](Tx& tx) -> Status {
      CUSTODY_TRY(
          tx.exec("INSERT INTO admin_tokens (id, token_hash, role, created_by, "
                  "created_at) VALUES ($1, 'same-hash', 'admin', 'test', 0)",
                  {id}));
      return ok_status();
    };
  };
  ASSERT_TRUE(s->write_sync(token("tok_1")).ok());
  st = s->write_sync(token("tok_2"));
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code, Code::kConflict);
  EXPECT_NE(st.error().message.find("admin_tokens.token_hash"), std::string::npos) << describe(st);
  EXPECT_EQ(st.error().message.find("same-hash"), std::string::npos) << "leaks the value";
}

TEST_P(StoreTest, ForeignKeyViolationIsUnprocessable) {
  auto s = open();
  ASSERT_TRUE(s);
  Status st = s->write_sync([](Tx& tx) -> Status {
    CUSTODY_TRY(
        tx.exec("INSERT INTO entitlements (id, identity_id, scope, resource, granted_by, "
                "justification, created_at) VALUES ('ent_x', $1, 's', 'r', 'a', 'j', 0)",
                {std::string("agt_missing")}));
    return ok_status();
  });
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code, Code::kUnprocessable) << describe(st);
  EXPECT_EQ(count_rows(*s, "entitlements"), 0);
}

TEST_P(StoreTest, ReadConnectionsRefuseWrites) {
  auto s = open();
  ASSERT_TRUE(s);
  Status st = s->read([](Tx& tx) { return insert_identity(tx, "agt_sneaky"); });
  EXPECT_FALSE(st.ok());
  EXPECT_FALSE(identity_exists(*s, "agt_sneaky"));
}

// The store's threads carry names (common/thread_name.h), so that top -H and perf tell the
// writer from an io thread.
TEST_P(StoreTest, WriterThreadIsNamed) {
  auto s = open();
  ASSERT_TRUE(s);
  std::multiset<std::string> names;
  for (const auto& task : std::filesystem::directory_iterator("/proc/self/task")) {
    std::ifstream comm(task.path() / "comm");
    std::string name;
    std::getline(comm, name);
    names.insert(name);
  }
  EXPECT_EQ(names.count("store-writer"), 1u);
  EXPECT_EQ(names.count("store-ckpt"), GetParam() == "sqlite" ? 1u : 0u);
}

// A full write queue refuses at once instead of growing without bound.
TEST_P(StoreTest, FullWriteQueueRefusesAtOnce) {
  StoreOptions o = options();
  o.max_queued_writes = 2;
  auto s = open(o);
  ASSERT_TRUE(s);
  std::promise<void> started, release;
  std::promise<Status> held;
  s->write(
      [&](Tx&) {
        started.set_value();
        release.get_future().wait();
        return ok_status();
      },
      [&](Status st) { held.set_value(st); });
  started.get_future().wait();  // the writer holds this one; the queue is empty again
  std::vector<std::promise<Status>> queued(3);
  for (std::size_t i = 0; i < queued.size(); ++i) {
    s->write(insert_identity_work("agt_q" + std::to_string(i)),
             [&queued, i](Status st) { queued[i].set_value(st); });
  }
  // The third did not fit: refused at once, before the writer is released.
  auto third = queued[2].get_future();
  ASSERT_EQ(third.wait_for(std::chrono::seconds(0)), std::future_status::ready);
  Status refused = third.get();
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, Code::kUnavailable);
  EXPECT_NE(refused.error().message.find("queue is full"), std::string::npos);
  release.set_value();
  EXPECT_TRUE(held.get_future().get().ok());
  EXPECT_TRUE(queued[0].get_future().get().ok());
  EXPECT_TRUE(queued[1].get_future().get().ok());
}

// The latency histograms (/metrics) measure what they name: two works queued while the writer
// is held for 60 ms waited at least that long for their transaction, and the held batch took
// that long from BEGIN to COMMIT; one observation per work and per committed batch.
TEST_P(StoreTest, WriteWaitAndCommitHistogramsMeasureTheQueueAndTheTransaction) {
  auto s = open(options());
  ASSERT_TRUE(s);
  // The count of observations above 25 ms: buckets whose lower bound is at least 0.025.
  auto above_25ms = [](const LatencyHistogram::Snapshot& h) {
    std::uint64_t n = 0;
    for (std::size_t i = 1; i < h.counts.size(); ++i)
      if (LatencyHistogram::kBounds[i - 1] >= 0.025) n += h.counts[i];
    return n;
  };
  {
    test_support::BatchGate gate(*s, 3);
    gate.queue(1, insert_identity_work("agt_wait1"));
    gate.queue(2, insert_identity_work("agt_wait2"));
    std::this_thread::sleep_for(std::chrono::milliseconds(60));
    gate.release();
    ASSERT_TRUE(gate.result(0).ok());
    ASSERT_TRUE(gate.result(1).ok());
    ASSERT_TRUE(gate.result(2).ok());
  }
  const StoreStats stats = s->stats();
  EXPECT_EQ(stats.write_wait.count(), stats.writes);
  EXPECT_EQ(stats.commit.count(), stats.batches);
  EXPECT_EQ(stats.write_wait.count(), 3u);
  EXPECT_EQ(above_25ms(stats.write_wait), 2u);  // the two queued behind the held work
  EXPECT_GE(stats.write_wait.sum_seconds, 0.1);
  EXPECT_EQ(above_25ms(stats.commit), 1u);  // the held batch; the next one is quick
  EXPECT_GE(stats.commit.sum_seconds, 0.06);
}

// Pacing (StoreOptions::commit_interval_us): after a batch of kPacedBatch works or more, the
// writer gathers arriving works until the interval after that batch began, or, once as many
// works as that batch held are queued, until none has arrived for interval / kPaceQuietDivisor;
// after a smaller batch the next one begins at once, and 0 turns pacing off. The intervals are
// long so that a busy test machine's scheduling hiccups stay well inside the quiet gap.
namespace {

using Clock = std::chrono::steady_clock;

// Holds the writer, queues `queued` works behind it and releases them as one batch; returns the
// time of the release (the batch begins after it).
Clock::time_point release_batch(Store& s, std::size_t queued, const std::string& prefix) {
  test_support::BatchGate gate(s, queued + 1);
  for (std::size_t i = 1; i <= queued; ++i)
    gate.queue(i, insert_identity_work(prefix + std::to_string(i)));
  const auto released = Clock::now();
  gate.release();
  for (std::size_t i = 0; i <= queued; ++i) EXPECT_TRUE(gate.result(i).ok()) << i;
  return released;
}

// Releases a batch of `queued` works, then writes one more work; returns the time from that
// write to its commit.
Clock::duration lone_write_after_batch(Store& s, std::size_t queued, const std::string& prefix) {
  (void)release_batch(s, queued, prefix);
  const auto t0 = Clock::now();
  EXPECT_TRUE(s.write_sync(insert_identity_work(prefix + "after")).ok());
  return Clock::now() - t0;
}

// What feed() saw: when the first of its works committed, when it wrote the last one, and the
// longest time between two of its writes (a busy machine can stall the feeding thread).
struct Fed {
  Clock::time_point first_commit = Clock::time_point::max();
  Clock::time_point last_write;
  Clock::duration longest_gap{};
};

// Writes `n` works, one every `every`, then waits for all of them (each must succeed).
Fed feed(Store& s, int n, std::chrono::milliseconds every, const std::string& prefix) {
  std::mutex mu;
  std::condition_variable cv;
  int done = 0;
  Fed fed;
  for (int i = 0; i < n; ++i) {
    const auto now = Clock::now();
    if (i > 0) fed.longest_gap = std::max(fed.longest_gap, now - fed.last_write);
    fed.last_write = now;
    s.write(insert_identity_work(prefix + std::to_string(i)), [&](Status st) {
      const auto t = Clock::now();
      EXPECT_TRUE(st.ok()) << (st.ok() ? "" : st.error().message);
      std::lock_guard lk(mu);
      fed.first_commit = std::min(fed.first_commit, t);
      ++done;
      cv.notify_all();
    });
    std::this_thread::sleep_for(every);
  }
  std::unique_lock lk(mu);
  EXPECT_TRUE(cv.wait_for(lk, std::chrono::seconds(30), [&] { return done == n; }));
  return fed;
}

}  // namespace

// Works arriving steadily after a busy batch are gathered while they keep coming: none commits
// before the last has arrived, and all commit in one batch. (The interval's cap on the wait:
// FewerWorksThanTheLastBatchWaitForTheInterval.)
TEST_P(StoreTest, BusyWriterGathersWorksWhileTheyKeepArriving) {
  StoreOptions o = options();
  // Quiet gap 400 ms; a work arrives every 20 ms for 1 s, fewer works than a full batch (64 on
  // PostgreSQL).
  o.commit_interval_us = 6'400'000;
  const auto quiet = std::chrono::microseconds(o.commit_interval_us / kPaceQuietDivisor);
  auto s = open(o);
  ASSERT_TRUE(s);
  (void)release_batch(*s, static_cast<std::size_t>(kPacedBatch), "agt_busy");
  const std::uint64_t batches_before = s->stats().batches;
  const Fed fed = feed(*s, 50, std::chrono::milliseconds(20), "agt_fed");
  if (fed.longest_gap >= quiet) {
    GTEST_SKIP() << "the feeding thread stalled for "
                 << std::chrono::duration_cast<std::chrono::milliseconds>(fed.longest_gap).count()
                 << " ms, longer than the quiet gap: the works did not keep arriving";
  }
  EXPECT_GE(fed.first_commit, fed.last_write);
  EXPECT_EQ(s->stats().batches - batches_before, 1u);
}

// Fewer works than the busy batch held may be followed by more: they wait for the interval.
TEST_P(StoreTest, FewerWorksThanTheLastBatchWaitForTheInterval) {
  StoreOptions o = options();
  o.commit_interval_us = 1'000'000;
  auto s = open(o);
  ASSERT_TRUE(s);
  const auto released = release_batch(*s, static_cast<std::size_t>(kPacedBatch), "agt_fewer");
  ASSERT_TRUE(s->write_sync(insert_identity_work("agt_fewer_after")).ok());
  EXPECT_GE(Clock::now() - released, std::chrono::microseconds(o.commit_interval_us));
}

// Once as many works as the busy batch held are queued and no more arrive (closed-loop clients,
// all waiting), the writer stops waiting after the quiet gap, not the interval.
TEST_P(StoreTest, BusyWriterStopsWaitingWhenWorksStopArriving) {
  StoreOptions o = options();
  o.commit_interval_us = 3'200'000;  // quiet gap 200 ms
  auto s = open(o);
  ASSERT_TRUE(s);
  (void)release_batch(*s, static_cast<std::size_t>(kPacedBatch), "agt_quiet");
  const auto t0 = Clock::now();
  const auto first_commit =
      feed(*s, kPacedBatch, std::chrono::milliseconds(0), "agt_quiet_next").first_commit;
  EXPECT_GE(first_commit - t0, std::chrono::microseconds(o.commit_interval_us / kPaceQuietDivisor));
  EXPECT_LT(first_commit - t0, std::chrono::microseconds(o.commit_interval_us / 2));
}

TEST_P(StoreTest, LightlyLoadedWriterDoesNotWaitForTheInterval) {
  StoreOptions o = options();
  o.commit_interval_us = 4'800'000;  // quiet gap 300 ms
  auto s = open(o);
  ASSERT_TRUE(s);
  const auto light = static_cast<std::size_t>(kPacedBatch) - 1;
  // Shorter than even the quiet gap: a small batch does not pace the next commit.
  EXPECT_LT(lone_write_after_batch(*s, light, "agt_light"), std::chrono::milliseconds(250));
  // A lone write after idle time is not paced either.
  const auto t0 = Clock::now();
  ASSERT_TRUE(s->write_sync(insert_identity_work("agt_lone")).ok());
  EXPECT_LT(Clock::now() - t0, std::chrono::milliseconds(250));
}

// A full batch (max_batch) gains nothing by waiting: while works keep arriving, the writer takes
// each full batch when it next looks (at the latest a quiet gap later) instead of waiting out
// the interval.
TEST_P(StoreTest, FullBatchIsNotPacedWhileWorksKeepArriving) {
  StoreOptions o = options();
  // Quiet gap 100 ms; a work arrives every 5 ms for 1 s, past the 800 ms the first commit must
  // come before.
  o.commit_interval_us = 1'600'000;
  o.max_batch = kPacedBatch;
  auto s = open(o);
  ASSERT_TRUE(s);
  const auto released = release_batch(*s, static_cast<std::size_t>(kPacedBatch), "agt_full");
  const auto first_commit = feed(*s, 200, std::chrono::milliseconds(5), "agt_fedfull").first_commit;
  EXPECT_LT(first_commit - released, std::chrono::microseconds(o.commit_interval_us / 2));
}

TEST_P(StoreTest, ZeroCommitIntervalTurnsPacingOff) {
  StoreOptions o = options();
  o.commit_interval_us = 0;
  auto s = open(o);
  ASSERT_TRUE(s);
  const auto busy = static_cast<std::size_t>(kPacedBatch) + 4;
  EXPECT_LT(lone_write_after_batch(*s, busy, "agt_unpaced"), std::chrono::milliseconds(250));
}

TEST_P(StoreTest, NegativeCommitIntervalIsRefused) {
  StoreOptions o = options();
  o.commit_interval_us = -1;
  auto r = open_store(o);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Code::kInvalidArgument);
  EXPECT_NE(r.error().message.find("commit interval"), std::string::npos) << r.error().message;
}

// One batch holding works that succeed, fail in different ways, and succeed again: each failure
// is rolled back alone, the rest commit together.
TEST_P(StoreTest, FailingWorkInBatchRollsBackAlone) {
  auto s = open();
  ASSERT_TRUE(s);
  ASSERT_TRUE(s->write_sync(insert_identity_work("agt_taken")).ok());
  const auto before = s->stats();

  // Hold the writer inside a first batch until every other work is queued behind it.
  test_support::BatchGate gate(*s, 7);
  auto queue = [&](std::size_t i, Store::Work w) { gate.queue(i, std::move(w)); };
  queue(1, insert_identity_work("agt_ok1"));
  queue(2, [](Tx& tx) -> Status {  // writes, then refuses: its row must vanish
    CUSTODY_TRY(insert_identity(tx, "agt_refused"));
    return Error::conflict("refused by the work");
  });
  queue(3, insert_identity_work("agt_taken"));  // unique violation
  queue(4, [](Tx& tx) -> Status {               // throws after writing
    CUSTODY_TRY(insert_identity(tx, "agt_thrower"));
    throw std::runtime_error("boom");
  });
  queue(5, [](Tx& tx) -> Status {  // swallows a failed statement and claims success
    CUSTODY_TRY(insert_identity(tx, "agt_swallower"));
    (void)insert_identity(tx, "agt_taken");
    return ok_status();
  });
  queue(6, insert_identity_work("agt_ok2"));
  gate.release();

  std::vector<Status> st;
  for (std::size_t i = 0; i < 7; ++i) st.push_back(gate.result(i));
  EXPECT_TRUE(st[0].ok()) << describe(st[0]);
  EXPECT_TRUE(st[1].ok()) << describe(st[1]);
  ASSERT_FALSE(st[2].ok());
  EXPECT_EQ(st[2].error().message, "refused by the work");
  ASSERT_FALSE(st[3].ok());
  EXPECT_EQ(st[3].error().code, Code::kConflict);
  ASSERT_FALSE(st[4].ok());
  EXPECT_EQ(st[4].error().code, Code::kInternal);
  EXPECT_NE(st[4].error().message.find("boom"), std::string::npos);
  ASSERT_FALSE(st[5].ok());
  EXPECT_EQ(st[5].error().code, Code::kInternal) << describe(st[5]);
  EXPECT_TRUE(st[6].ok()) << describe(st[6]);

  EXPECT_TRUE(identity_exists(*s, "agt_ok1"));
  EXPECT_TRUE(identity_exists(*s, "agt_ok2"));
  for (const char* gone : {"agt_refused", "agt_thrower", "agt_swallower"}) {
    EXPECT_FALSE(identity_exists(*s, gone)) << gone;
  }
  const auto after = s->stats();
  EXPECT_EQ(after.batches - before.batches, 2u);  // the holding batch, then all six together
  EXPECT_EQ(after.writes - before.writes, 3u);
  EXPECT_EQ(after.write_errors - before.write_errors, 4u);
}

// A batch state counts what its kept works recorded and writes it once before COMMIT; a failed
// work's records are undone with its rows; the commit hook sees the committed state; a failing
// before_commit fails the whole batch; outside a batch there is no state.
class CountingState final : public BatchState {
 public:
  void record() { ++pending_; }
  void work_kept() override {
    kept_ += pending_;
    pending_ = 0;
  }
  void work_undone() override { pending_ = 0; }
  Status before_commit(Tx& tx) override {
    if (fail) return Error::unavailable("before_commit refused");
    CUSTODY_TRY(
        tx.exec("INSERT INTO meta (key, value) VALUES ('counted', $1)", {std::to_string(kept_)}));
    return ok_status();
  }
  int kept() const { return kept_; }
  bool fail = false;

 private:
  int pending_ = 0, kept_ = 0;
};

TEST_P(StoreTest, BatchStateFollowsKeptAndUndoneWorks) {
  auto s = open();
  ASSERT_TRUE(s);
  int hook_saw = -1;
  s->set_commit_hook([&](Tx& tx) {
    auto* state = static_cast<CountingState*>(tx.batch_state("count"));
    hook_saw = state ? state->kept() : -1;
  });
  auto counting = [](Tx& tx) {
    auto* state = static_cast<CountingState*>(tx.batch_state("count"));
    if (state == nullptr) {
      auto fresh = std::make_unique<CountingState>();
      state = fresh.get();
      EXPECT_TRUE(tx.set_batch_state("count", std::move(fresh)));
      EXPECT_FALSE(tx.set_batch_state("count", std::make_unique<CountingState>()))
          << "a key is registered once per batch";
    }
    return state;
  };

  // Hold the writer so that the next works share one batch.
  test_support::BatchGate gate(*s, 4);
  gate.queue(1, [&](Tx& tx) -> Status {
    counting(tx)->record();
    counting(tx)->record();
    return ok_status();
  });
  gate.queue(2, [&](Tx& tx) -> Status {
    counting(tx)->record();
    return Error::conflict("undone");
  });
  gate.queue(3, [&](Tx& tx) -> Status {
    counting(tx)->record();
    return ok_status();
  });
  gate.release();
  for (std::size_t i : {0u, 1u, 3u}) EXPECT_TRUE(gate.result(i).ok()) << i;
  EXPECT_FALSE(gate.result(2).ok());
  EXPECT_EQ(hook_saw, 3) << "two + one kept records; the failed work's one undone";
  Status read = s->read([&](Tx& tx) -> Status {
    EXPECT_EQ(tx.batch_state("count"), nullptr);
    EXPECT_FALSE(tx.set_batch_state("count", std::make_unique<CountingState>()));
    CUSTODY_ASSIGN(Rows rows, tx.query("SELECT value FROM meta WHERE key = 'counted'"));
    EXPECT_EQ(rows.size(), 1u);
    if (!rows.empty()) {
      EXPECT_EQ(rows[0].text(0), "3") << "written once, before COMMIT";
    }
    return ok_status();
  });
  EXPECT_TRUE(read.ok()) << describe(read);

  // A failing before_commit fails every work of its batch, and nothing of it commits.
  Status failed = s->write_sync([&](Tx& tx) -> Status {
    CUSTODY_TRY(tx.exec("INSERT INTO meta (key, value) VALUES ('lost', 'v')"));
    counting(tx)->fail = true;
    return ok_status();
  });
  ASSERT_FALSE(failed.ok());
  EXPECT_NE(failed.error().message.find("before_commit refused"), std::string::npos)
      << describe(failed);
  Status gone = s->read([](Tx& tx) -> Status {
    CUSTODY_ASSIGN(Rows rows, tx.query("SELECT key FROM meta WHERE key = 'lost'"));
    EXPECT_TRUE(rows.empty()) << "the failed batch's work did not commit";
    return ok_status();
  });
  EXPECT_TRUE(gone.ok()) << describe(gone);
  s->set_commit_hook(nullptr);
}

TEST_P(StoreTest, ConcurrentWritesWithSomeFailing) {
  auto s = open();
  ASSERT_TRUE(s);
  ASSERT_TRUE(s->write_sync(insert_identity_work("agt_taken")).ok());
  constexpr int kThreads = 8, kPerThread = 60;
  std::latch all_done(kThreads * kPerThread);
  std::atomic<int> ok{0}, conflicts{0}, other{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        const bool fail = i % 4 == 3;
        std::string id = fail ? "agt_taken" : "agt_" + std::to_string(t) + "_" + std::to_string(i);
        s->write(insert_identity_work(std::move(id)), [&](Status st) {
          if (st.ok()) {
            ++ok;
          } else if (st.error().code == Code::kConflict) {
            ++conflicts;
          } else {
            ++other;
          }
          all_done.count_down();
        });
      }
    });
  }
  for (auto& th : threads) th.join();
  all_done.wait();
  EXPECT_EQ(ok.load(), kThreads * kPerThread * 3 / 4);
  EXPECT_EQ(conflicts.load(), kThreads * kPerThread / 4);
  EXPECT_EQ(other.load(), 0);
  EXPECT_EQ(count_rows(*s, "identities"), 1 + ok.load());
  EXPECT_LT(s->stats().batches, static_cast<std::uint64_t>(1 + kThreads * kPerThread));
}

TEST_P(StoreTest, ReadsSeeWhatWritesCommitted) {
  auto s = open();
  ASSERT_TRUE(s);
  Status st = s->write_sync(insert_identity_work("agt_seen"));
  ASSERT_TRUE(st.ok()) << describe(st);
  EXPECT_TRUE(identity_exists(*s, "agt_seen"));

  // done() runs after the commit: a read from inside it sees the row.
  std::promise<bool> seen;
  s->write(insert_identity_work("agt_seen2"),
           [&](Status st2) { seen.set_value(st2.ok() && identity_exists(*s, "agt_seen2")); });
  EXPECT_TRUE(seen.get_future().get());
}

TEST_P(StoreTest, WriteSyncInsideAWorkIsRefused) {
  auto s = open();
  ASSERT_TRUE(s);
  Status inner;
  Status outer = s->write_sync([&](Tx&) {
    inner = s->write_sync(insert_identity_work("agt_inner"));
    return ok_status();
  });
  EXPECT_TRUE(outer.ok());
  ASSERT_FALSE(inner.ok());
  EXPECT_EQ(inner.error().code, Code::kInternal);
}

TEST_P(StoreTest, CloseFromInsideDoneStopsWritesWithoutDeadlock) {
  auto s = open();
  ASSERT_TRUE(s);
  std::promise<Status> late;
  s->write(insert_identity_work("agt_first"), [&](Status) {
    s->close();  // on the writer thread: must not join itself
    s->write(insert_identity_work("agt_late"), [&](Status st) { late.set_value(st); });
  });
  const Status st = late.get_future().get();
  EXPECT_EQ(st.ok() ? Code::kInternal : st.error().code, Code::kUnavailable);
  s->close();
  s.reset();
  auto again = open();
  ASSERT_TRUE(again);
  EXPECT_TRUE(identity_exists(*again, "agt_first"));
  EXPECT_FALSE(identity_exists(*again, "agt_late"));
}

TEST_P(StoreTest, CloseDrainsQueuedWritesThenRejects) {
  auto s = open();
  ASSERT_TRUE(s);
  constexpr int kWrites = 300;
  std::atomic<int> ok{0}, failed{0};
  for (int i = 0; i < kWrites; ++i) {
    s->write(insert_identity_work("agt_" + std::to_string(i)),
             [&](Status st) { ++(st.ok() ? ok : failed); });
  }
  s->close();  // returns after every queued work's done()
  EXPECT_EQ(ok.load(), kWrites);
  EXPECT_EQ(failed.load(), 0);

  std::optional<Status> rejected;
  s->write(insert_identity_work("agt_late"), [&](Status st) { rejected = st; });
  ASSERT_TRUE(rejected.has_value());  // rejected at once, on the caller's thread
  ASSERT_FALSE(rejected->ok());
  EXPECT_EQ(rejected->error().code, Code::kUnavailable);
  EXPECT_EQ(rejected->error().message, "store is closing");
  Status st = s->write_sync(insert_identity_work("agt_late2"));
  EXPECT_EQ(st.ok() ? Code::kInternal : st.error().code, Code::kUnavailable);
  st = s->read([](Tx&) { return ok_status(); });
  EXPECT_EQ(st.ok() ? Code::kInternal : st.error().code, Code::kUnavailable);
  EXPECT_FALSE(s->ping().ok());
  s->close();  // idempotent
  s.reset();   // and the destructor after it

  auto again = open();
  ASSERT_TRUE(again);
  EXPECT_EQ(count_rows(*again, "identities"), kWrites);
}

TEST_P(StoreTest, ConcurrentReadersAndWriters) {
  StoreOptions o = options();
  o.read_connections = 2;  // fewer connections than readers: read() must wait, not fail
  auto s = open(o);
  ASSERT_TRUE(s);
  constexpr int kThreads = 4, kOps = 500;
  std::atomic<int> writes{0}, errors{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      std::string last;
      for (int i = 0; i < kOps; ++i) {
        if (i % 2 == 0) {
          last = "agt_" + std::to_string(t) + "_" + std::to_string(i);
          Status st = s->write_sync(insert_identity_work(last));
          st.ok() ? ++writes : ++errors;
        } else if (!identity_exists(*s, last)) {  // read-your-writes once write_sync returned
          ++errors;
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(errors.load(), 0);
  EXPECT_EQ(writes.load(), kThreads * kOps / 2);
  EXPECT_EQ(count_rows(*s, "identities"), writes.load());
  const StoreStats stats = s->stats();
  EXPECT_EQ(stats.writes, static_cast<std::uint64_t>(writes.load()));
  EXPECT_GE(stats.reads, static_cast<std::uint64_t>(kThreads * kOps / 2));
  EXPECT_GT(stats.batches, 0u);
  EXPECT_LE(stats.batches, stats.writes);
}

TEST_P(StoreTest, ReconnectsAfterConnectionLoss) {
  auto* pg = dynamic_cast<PgDb*>(db_.get());
  if (pg == nullptr) GTEST_SKIP() << "only PostgreSQL connections can be lost";
  StoreOptions o = options();
  o.read_connections = 1;
  auto s = open(o);
  ASSERT_TRUE(s);
  ASSERT_TRUE(s->ping().ok());
  ASSERT_TRUE(s->write_sync(insert_identity_work("agt_before")).ok());

  const std::string kill =
      "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '" + pg->name() +
      "' AND pid <> pg_backend_pid()";
  ASSERT_EQ(test_support::pg_exec(pg->admin_url(), kill), "");
  // pg_terminate_backend only signals; wait until the sessions are gone.
  for (int i = 0; i < 100; ++i) {
    PGconn* c = PQconnectdb(pg->admin_url().c_str());
    PGresult* r = PQexec(
        c, ("SELECT COUNT(*) FROM pg_stat_activity WHERE datname = '" + pg->name() + "'").c_str());
    const bool gone =
        PQresultStatus(r) == PGRES_TUPLES_OK && std::string(PQgetvalue(r, 0, 0)) == "0";
    PQclear(r);
    PQfinish(c);
    if (gone) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }

  // The first use of each dead connection reports kUnavailable; the next one reconnects.
  Status st = s->ping();
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code, Code::kUnavailable) << describe(st);
  st = s->ping();
  EXPECT_TRUE(st.ok()) << describe(st);

  st = s->write_sync(insert_identity_work("agt_lost"));
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code, Code::kUnavailable) << describe(st);
  st = s->write_sync(insert_identity_work("agt_after"));
  EXPECT_TRUE(st.ok()) << describe(st);
  EXPECT_TRUE(identity_exists(*s, "agt_before"));
  EXPECT_FALSE(identity_exists(*s, "agt_lost"));
  EXPECT_TRUE(identity_exists(*s, "agt_after"));
}

INSTANTIATE_TEST_SUITE_P(Backends, StoreTest, ::testing::Values("sqlite", "postgres"),
                         [](const auto& info) { return info.param; });

// --- backend-independent pieces ----------------------------------------------------------------

TEST(StoreMigrationText, ReplacesTokensAndSplitsStatements) {
  const char* sql =
      "-- leading comment; with a semicolon\n"
      "CREATE TABLE a (\n  id {{SERIAL_PK}},\n  b {{BLOB}}\n);\n"
      "\n-- only a comment;\n\n"
      "CREATE INDEX a_b ON a(b);\n"
      "INSERT INTO a (b) VALUES ('x;y')";
  auto lite = migration_statements(sql, Dialect::kSqlite);
  ASSERT_EQ(lite.size(), 3u);
  EXPECT_EQ(lite[0], "CREATE TABLE a (\n  id INTEGER PRIMARY KEY AUTOINCREMENT,\n  b BLOB\n);");
  EXPECT_EQ(lite[1], "CREATE INDEX a_b ON a(b);");
  EXPECT_EQ(lite[2], "INSERT INTO a (b) VALUES ('x;y')");
  auto pg = migration_statements(sql, Dialect::kPostgres);
  ASSERT_EQ(pg.size(), 3u);
  EXPECT_EQ(pg[0], "CREATE TABLE a (\n  id BIGSERIAL PRIMARY KEY,\n  b BYTEA\n);");

  const char* clustered =
      "CREATE TABLE k (a TEXT, b BIGINT, PRIMARY KEY (a, b)) {{WITHOUT_ROWID}};";
  EXPECT_EQ(migration_statements(clustered, Dialect::kSqlite).at(0),
            "CREATE TABLE k (a TEXT, b BIGINT, PRIMARY KEY (a, b)) WITHOUT ROWID;");
  EXPECT_EQ(migration_statements(clustered, Dialect::kPostgres).at(0),
            "CREATE TABLE k (a TEXT, b BIGINT, PRIMARY KEY (a, b)) ;");
}

// Lines for one dialect only (migration 0019's triggers): kept without their token there,
// dropped elsewhere; a trigger body's inner ";" does not end the statement.
TEST(StoreMigrationText, LinesForOneDialectOnly) {
  const char* triggers =
      "CREATE TABLE v (n BIGINT);\n"
      "{{SQLITE}}CREATE TRIGGER t AFTER INSERT ON a BEGIN UPDATE v SET n = n + 1; END;\n"
      "{{POSTGRES}}CREATE FUNCTION f() RETURNS trigger AS $$ BEGIN RETURN NULL; END $$;\n"
      "{{POSTGRES}}CREATE TRIGGER t AFTER INSERT ON a EXECUTE FUNCTION f();\n";
  auto lite_triggers = migration_statements(triggers, Dialect::kSqlite);
  ASSERT_EQ(lite_triggers.size(), 2u);
  EXPECT_EQ(lite_triggers[1],
            "CREATE TRIGGER t AFTER INSERT ON a BEGIN UPDATE v SET n = n + 1; END;");
  auto pg_triggers = migration_statements(triggers, Dialect::kPostgres);
  ASSERT_EQ(pg_triggers.size(), 3u);
  EXPECT_EQ(pg_triggers[1], "CREATE FUNCTION f() RETURNS trigger AS $$ BEGIN RETURN NULL; END $$;");
  EXPECT_EQ(pg_triggers[2], "CREATE TRIGGER t AFTER INSERT ON a EXECUTE FUNCTION f();");
}

TEST(StoreMigrationText, EmbeddedMigrationsSplitIntoTheirStatements) {
  for (const Migration& m : embedded_migrations()) {
    const std::string text = m.sql;
    for (Dialect d : {Dialect::kSqlite, Dialect::kPostgres}) {
      // Every statement starts a line with one of these keywords (0003 also alters and
      // inserts), after the token of a line for one dialect only.
      const std::string_view mine = d == Dialect::kSqlite ? "{{SQLITE}}" : "{{POSTGRES}}";
      const std::string_view theirs = d == Dialect::kSqlite ? "{{POSTGRES}}" : "{{SQLITE}}";
      std::size_t creates = 0;
      std::size_t line_start = 0;
      while (line_start < text.size()) {
        std::string_view line = std::string_view(text).substr(line_start);
        if (line.starts_with(mine)) line.remove_prefix(mine.size());
        if (!line.starts_with(theirs)) {
          for (std::string_view kw : {"CREATE ", "ALTER ", "INSERT ", "UPDATE ", "DROP "})
            if (line.starts_with(kw)) ++creates;
        }
        const auto nl = text.find('\n', line_start);
        if (nl == std::string::npos) break;
        line_start = nl + 1;
      }
      auto stmts = migration_statements(text, d);
      EXPECT_EQ(stmts.size(), creates) << m.name;
      for (const auto& st : stmts) EXPECT_EQ(st.find("{{"), std::string::npos) << st;
    }
  }
}

TEST(StoreSqliteParams, RewritesOutsideLiteralsOnly) {
  EXPECT_EQ(sqlite_rewrite_params("SELECT $1, $12 FROM t WHERE a = $2"),
            "SELECT ?1, ?12 FROM t WHERE a = ?2");
  EXPECT_EQ(sqlite_rewrite_params("SELECT '$1', \"$2\", $3 -- $4\n, $5 /* $6 */ $7"),
            "SELECT '$1', \"$2\", ?3 -- $4\n, ?5 /* $6 */ ?7");
  EXPECT_EQ(sqlite_rewrite_params("SELECT 'it''s $1', $1"), "SELECT 'it''s $1', ?1");
  EXPECT_EQ(sqlite_rewrite_params("SELECT 'unterminated $1"), "SELECT 'unterminated $1");
  EXPECT_EQ(sqlite_rewrite_params("SELECT $ , $a"), "SELECT $ , $a");
}

TEST(StoreOpen, RejectsUnusableUrls) {
  for (const char* url : {"", "sqlite:", ":memory:", "sqlite::memory:", "mysql://h/db"}) {
    StoreOptions o;
    o.url = url;
    auto r = open_store(o);
    ASSERT_FALSE(r.ok()) << url;
    EXPECT_EQ(r.error().code, Code::kInvalidArgument) << url;
  }
  StoreOptions o;
  o.url = "postgres://nobody@127.0.0.1:1/none";  // nothing listens on port 1
  o.busy_timeout_ms = 2000;
  auto r = open_store(o);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Code::kUnavailable) << r.error().message;
}

TEST(StoreOpen, PlainPathOpensSqlite) {
  const fs::path dir = make_temp_dir();
  StoreOptions o;
  o.url = (dir / "nested" / "plain.db").string();
  {
    auto r = open_store(o);
    ASSERT_TRUE(r.ok()) << r.error().message;
    EXPECT_EQ((*r)->backend(), "sqlite");
    EXPECT_TRUE((*r)->ping().ok());
  }
  EXPECT_TRUE(fs::exists(dir / "nested" / "plain.db"));
  fs::remove_all(dir);
}

// A writer process killed mid-stream loses nothing it had been told was committed.
// The SQLite checkpointer gathers commits for 20 ms before it checkpoints; the commits of
// those 20 ms must not wake it (it once waited for them on the condition the writer signals
// after every commit: a wake-up and a context switch per commit). Its voluntary context
// switches are counted while a writer commits as fast as the file system lets it: on /dev/shm
// that is dozens of commits per delay, against a handful of switches per checkpoint round.
TEST(StoreCheckpointer, CommitsDuringItsDelayDoNotWakeIt) {
  if (!fs::is_directory("/dev/shm")) GTEST_SKIP() << "needs /dev/shm for fast commits";
  std::string tmpl = "/dev/shm/custody-ckpt-test-XXXXXX";
  ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
  const fs::path dir = tmpl;
  struct RemoveDir {  // also when an assertion returns early
    fs::path path;
    ~RemoveDir() {
      std::error_code ec;
      fs::remove_all(path, ec);
    }
  } remove_dir{dir};
  StoreOptions o;
  o.url = "sqlite:" + (dir / "custody.db").string();
  auto s = open_store(o);
  ASSERT_TRUE(s.ok()) << s.error().message;
  auto switches_of = [](const std::string& thread) -> std::optional<long> {
    for (const auto& task : fs::directory_iterator("/proc/self/task")) {
      std::ifstream comm(task.path() / "comm");
      std::string name;
      std::getline(comm, name);
      if (name != thread) continue;
      std::ifstream status(task.path() / "status");
      for (std::string line; std::getline(status, line);)
        if (line.starts_with("voluntary_ctxt_switches:")) return std::stol(line.substr(24));
    }
    return std::nullopt;
  };
  const auto before = switches_of("store-ckpt");
  ASSERT_TRUE(before.has_value()) << "no store-ckpt thread";
  const std::uint64_t commits_before = (*s)->stats().batches;
  const auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; std::chrono::steady_clock::now() - t0 < std::chrono::milliseconds(400); ++i) {
    const std::string key = "ckpt_" + std::to_string(i);
    Status st = (*s)->write_sync([&](Tx& tx) -> Status {
      CUSTODY_TRY(tx.exec("INSERT INTO meta (key, value) VALUES ($1, $1)", {key}));
      return ok_status();
    });
    ASSERT_TRUE(st.ok()) << describe(st);
  }
  const auto after = switches_of("store-ckpt");
  const std::uint64_t commits = (*s)->stats().batches - commits_before;
  (*s)->close();
  ASSERT_TRUE(after.has_value());
  const long woken = *after - *before;
  ASSERT_GE(commits, 100u) << "too few commits to tell (slow machine?)";
  EXPECT_LT(static_cast<std::uint64_t>(woken), commits / 4)
      << woken << " checkpointer context switches for " << commits << " commits";
}

TEST(StoreDurability, SqliteAcknowledgedWritesSurviveSigkill) {
  const SqliteDb db;
  constexpr int kRows = 100000;  // far more than it can write before the kill
  constexpr int kKillAfter = 300;
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  // Forking is safe here: the test process runs no other threads at this point (every store of
  // earlier tests was closed, which joined its writer).
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    close(fds[0]);
    StoreOptions o;
    o.url = db.url();
    auto s = open_store(o);
    if (!s.ok()) _exit(2);
    for (int i = 0; i < kRows; ++i) {
      const std::string key = "key_" + std::to_string(i);
      Status st = (*s)->write_sync([&](Tx& tx) -> Status {
        CUSTODY_TRY(tx.exec("INSERT INTO meta (key, value) VALUES ($1, $1)", {key}));
        return ok_status();
      });
      if (!st.ok()) _exit(3);
      const std::string line = key + "\n";
      if (write(fds[1], line.data(), line.size()) != static_cast<ssize_t>(line.size())) _exit(4);
    }
    _exit(0);  // no destructors, no test-framework teardown in the child
  }
  close(fds[1]);

  std::set<std::string> acked;
  std::string buffer;
  char chunk[4096];
  bool killed = false;
  for (;;) {
    const ssize_t n = read(fds[0], chunk, sizeof chunk);
    if (n <= 0) break;  // EOF: the child is gone
    buffer.append(chunk, static_cast<std::size_t>(n));
    for (auto nl = buffer.find('\n'); nl != std::string::npos; nl = buffer.find('\n')) {
      acked.insert(buffer.substr(0, nl));
      buffer.erase(0, nl + 1);
    }
    if (!killed && acked.size() >= kKillAfter) {
      ASSERT_EQ(kill(pid, SIGKILL), 0);
      killed = true;
    }
  }
  close(fds[0]);
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
      << "child ended on its own with status " << status;
  ASSERT_GE(acked.size(), static_cast<std::size_t>(kKillAfter));

  StoreOptions o;
  o.url = db.url();
  auto s = open_store(o);
  ASSERT_TRUE(s.ok()) << s.error().message;
  std::set<std::string> present;
  Status st = (*s)->read([&](Tx& tx) -> Status {
    CUSTODY_ASSIGN(Rows rows, tx.query("SELECT key FROM meta"));
    for (const Row& r : rows) present.insert(r.text(0));
    return ok_status();
  });
  ASSERT_TRUE(st.ok()) << describe(st);
  std::size_t missing = 0;
  for (const auto& key : acked) missing += present.count(key) == 0;
  EXPECT_EQ(missing, 0u) << "of " << acked.size() << " acknowledged rows";
  EXPECT_GE(present.size(), acked.size());
}

}  // namespace
}  // namespace custody::store
