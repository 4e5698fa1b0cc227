// The WAL append buffer (src/store/sqlite/wal_append_buffer.h), driven through SQLite itself:
// a commit's frames reach the file as one block, other connections (plain VFS) see every
// committed row, frames rewritten within a transaction and rolled-back spills stay correct,
// and a block that cannot be written fails the commit without damaging the database.
#include <gtest/gtest.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <stdexcept>
#include <string>

#include "store/sqlite/wal_append_buffer.h"

namespace custody::store {
namespace {

namespace fs = std::filesystem;

// What insert_rows stores in a column: the letter, then the id zero-padded to 200 digits.
std::string padded(char letter, int id) {
  const std::string digits = std::to_string(id);
  return letter + std::string(200 - digits.size(), '0') + digits;
}

class Db {
 public:
  // Opens `path` through the buffering VFS (buffered) or SQLite's default, in WAL mode with
  // synchronous=FULL as custody's connections are.
  Db(const fs::path& path, bool buffered) {
    const char* vfs = nullptr;
    if (buffered) {
      auto name = wal_append_buffer_vfs();
      if (!name.ok()) throw std::runtime_error(name.error().message);
      vfs = *name;
    }
    const int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
    if (sqlite3_open_v2(path.c_str(), &db_, flags, vfs) != SQLITE_OK)
      throw std::runtime_error("open failed");
    exec("PRAGMA journal_mode=WAL");
    exec("PRAGMA synchronous=FULL");
    exec("PRAGMA wal_autocheckpoint=0");
  }
  ~Db() { sqlite3_close(db_); }
  Db(const Db&) = delete;
  Db& operator=(const Db&) = delete;

  // Returns SQLite's result code; tests assert on it.
  int exec(const std::string& sql) {
    char* err = nullptr;
    const int rc = sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &err);
    last_error_ = err ? err : "";
    sqlite3_free(err);
    return rc;
  }
  std::string text(const std::string& sql) {
    sqlite3_stmt* st = nullptr;
    if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &st, nullptr) != SQLITE_OK) return "<prepare>";
    std::string out;
    if (sqlite3_step(st) == SQLITE_ROW) {
      const auto* t = sqlite3_column_text(st, 0);
      out = t ? reinterpret_cast<const char*>(t) : "";
    }
    sqlite3_finalize(st);
    return out;
  }
  const std::string& last_error() const { return last_error_; }

 private:
  sqlite3* db_ = nullptr;
  std::string last_error_;
};

class WalAppendBufferTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "custody-wal-buffer-XXXXXX").string();
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    path_ = dir_ / "test.db";
  }
  void TearDown() override { fs::remove_all(dir_); }

  // A schema whose rows land on several B-trees, so a commit changes many pages.
  static void create_schema(Db& db) {
    ASSERT_EQ(
        db.exec("CREATE TABLE t (id INTEGER PRIMARY KEY, a TEXT, b TEXT, c TEXT);"
                "CREATE INDEX t_a ON t(a); CREATE INDEX t_b ON t(b); CREATE INDEX t_c ON t(c)"),
        SQLITE_OK)
        << db.last_error();
  }
  // Inserts `n` rows starting at `first` in one transaction.
  static int insert_rows(Db& db, int first, int n) {
    std::string sql = "BEGIN;";
    for (int i = first; i < first + n; ++i) {
      const std::string v = std::to_string(i);
      sql += "INSERT INTO t VALUES (" + v + ", printf('a%0200d', " + v + "), printf('b%0200d', " +
             v + "), printf('c%0200d', " + v + "));";
    }
    sql += "COMMIT";
    return db.exec(sql);
  }

  fs::path dir_, path_;
};

TEST_F(WalAppendBufferTest, ACommitsFramesReachTheFileAsOneBlock) {
  Db writer(path_, true);
  create_schema(writer);
  ASSERT_EQ(insert_rows(writer, 0, 10), SQLITE_OK);  // past the WAL header's own sync

  const auto before = wal_append_buffer_stats();
  ASSERT_EQ(insert_rows(writer, 10, 50), SQLITE_OK) << writer.last_error();
  const auto after = wal_append_buffer_stats();

  EXPECT_GE(after.appends - before.appends, 30u)
      << "50 rows of 600 bytes on four B-trees span over a dozen frames, each written by SQLite "
         "as header and page";
  EXPECT_EQ(after.block_writes - before.block_writes, 1u);
  EXPECT_EQ(after.block_failures, before.block_failures);
}

TEST_F(WalAppendBufferTest, ACommitLargerThanOneWriteGoesOutInPieces) {
  // SQLite's unix VFS writes at most 128 KiB at a time; runs of 0.1 to 2.5 MiB must all land.
  Db writer(path_, true);
  create_schema(writer);
  Db reader(path_, false);
  int rows = 0;
  for (const int n : {100, 200, 300, 400, 800, 1600, 3200}) {
    const auto before = wal_append_buffer_stats();
    ASSERT_EQ(insert_rows(writer, rows, n), SQLITE_OK) << n << " rows: " << writer.last_error();
    rows += n;
    const auto after = wal_append_buffer_stats();
    EXPECT_EQ(after.block_failures, before.block_failures);
    EXPECT_EQ(reader.text("SELECT count(*) FROM t"), std::to_string(rows));
    EXPECT_EQ(reader.text("SELECT c FROM t WHERE id = " + std::to_string(rows - 1)),
              padded('c', rows - 1));
  }
  EXPECT_EQ(reader.text("PRAGMA integrity_check"), "ok");
}

TEST_F(WalAppendBufferTest, OtherConnectionsSeeEveryCommittedRow) {
  Db writer(path_, true);
  create_schema(writer);
  Db reader(path_, false);
  for (int round = 0; round < 20; ++round) {
    ASSERT_EQ(insert_rows(writer, round * 50, 50), SQLITE_OK) << writer.last_error();
    EXPECT_EQ(reader.text("SELECT count(*) FROM t"), std::to_string((round + 1) * 50));
    const int last = round * 50 + 49;
    EXPECT_EQ(reader.text("SELECT b FROM t WHERE id = " + std::to_string(last)), padded('b', last));
  }
  // The checkpointer's path: copy the WAL into the database and read it back without the WAL.
  ASSERT_EQ(reader.exec("PRAGMA wal_checkpoint(TRUNCATE)"), SQLITE_OK) << reader.last_error();
  EXPECT_EQ(reader.text("PRAGMA integrity_check"), "ok");
  EXPECT_EQ(reader.text("SELECT count(*) FROM t"), "1000");
  // And the writer goes on after the WAL restarted from its header.
  ASSERT_EQ(insert_rows(writer, 1000, 50), SQLITE_OK) << writer.last_error();
  EXPECT_EQ(reader.text("SELECT count(*) FROM t"), "1050");
}

TEST_F(WalAppendBufferTest, FramesRewrittenInsideATransactionAndRolledBackSpillsStayCorrect) {
  Db writer(path_, true);
  create_schema(writer);
  ASSERT_EQ(insert_rows(writer, 0, 400), SQLITE_OK);
  // A page cache of ten pages makes SQLite spill dirty pages to the WAL in mid-transaction and
  // write some of those frames again before the commit; then read them back from the WAL.
  ASSERT_EQ(writer.exec("PRAGMA cache_size=10"), SQLITE_OK);
  std::string sql = "BEGIN;";
  for (int pass = 0; pass < 3; ++pass)
    sql += "UPDATE t SET a = printf('p" + std::to_string(pass) + "%0200d', id);";
  sql += "COMMIT";
  ASSERT_EQ(writer.exec(sql), SQLITE_OK) << writer.last_error();

  Db reader(path_, false);
  EXPECT_EQ(reader.text("SELECT count(*) FROM t WHERE a LIKE 'p2%'"), "400");
  EXPECT_EQ(reader.text("SELECT count(*) FROM t WHERE a NOT LIKE 'p2%'"), "0");

  // A spilled transaction rolled back leaves nothing behind.
  ASSERT_EQ(writer.exec("BEGIN; UPDATE t SET c = 'gone'; DELETE FROM t WHERE id < 100"), SQLITE_OK)
      << writer.last_error();
  ASSERT_EQ(writer.exec("ROLLBACK"), SQLITE_OK);
  EXPECT_EQ(writer.text("SELECT count(*) FROM t WHERE c = 'gone'"), "0");
  EXPECT_EQ(reader.text("SELECT count(*) FROM t"), "400");
  EXPECT_EQ(reader.text("PRAGMA integrity_check"), "ok");
  EXPECT_EQ(writer.text("PRAGMA integrity_check"), "ok");
}

TEST_F(WalAppendBufferTest, ABlockThatCannotBeWrittenFailsTheCommitAndLosesNothingCommitted) {
  {
    Db setup(path_, false);
    create_schema(setup);
    ASSERT_EQ(insert_rows(setup, 0, 10), SQLITE_OK);
  }
  // In a child, cap the size of files it may write (RLIMIT_FSIZE, SIGXFSZ ignored) so that the
  // commit's writes fail with EFBIG, and report what SQLite and the counters said.
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    signal(SIGXFSZ, SIG_IGN);
    Db writer(path_, true);
    // A run of several pieces goes through before the limit: what fails below is the limit.
    if (insert_rows(writer, 10, 500) != SQLITE_OK) _exit(9);
    if (writer.exec("PRAGMA wal_checkpoint(TRUNCATE)") != SQLITE_OK) _exit(9);
    const auto before = wal_append_buffer_stats();
    const rlimit limit{64 * 1024, 64 * 1024};  // the WAL restarted at 0; the commit is ~600 KiB
    if (setrlimit(RLIMIT_FSIZE, &limit) != 0) _exit(10);
    const int rc = insert_rows(writer, 510, 500);
    const auto after = wal_append_buffer_stats();
    if (rc == SQLITE_OK) _exit(11);
    if (after.block_failures == before.block_failures) _exit(12);
    _exit(0);  // no destructors: the child's connection dies as a crash would leave it
  }
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status)) << "child died with status " << status;
  EXPECT_EQ(WEXITSTATUS(status), 0)
      << "9: the commit before the limit failed; 11: the commit past the limit succeeded; 12: no "
         "failed write counted";

  Db after(path_, false);
  EXPECT_EQ(after.text("PRAGMA integrity_check"), "ok");
  EXPECT_EQ(after.text("SELECT count(*) FROM t"), "510");
  ASSERT_EQ(insert_rows(after, 510, 20), SQLITE_OK) << after.last_error();
  EXPECT_EQ(after.text("SELECT count(*) FROM t"), "530");
}

}  // namespace
}  // namespace custody::store
