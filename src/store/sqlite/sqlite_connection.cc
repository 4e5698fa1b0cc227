#include "store/sqlite/sqlite_connection.h"

#include <sqlite3.h>

#include <string>
#include <unordered_map>

#include "store/sqlite/wal_append_buffer.h"

namespace custody::store {
namespace {

// Past this many distinct SQL texts the cache is emptied: custody's SQL is static, so growth
// means generated SQL, which must not grow memory without bound.
constexpr std::size_t kMaxCachedStatements = 512;

std::string strip_prefix(std::string msg, std::string_view prefix) {
  if (std::string_view(msg).starts_with(prefix)) msg.erase(0, prefix.size());
  return msg;
}

// Maps an SQLite result code (extended codes are enabled) onto custody's codes, per store.h.
Error map_error(int rc, const std::string& msg) {
  switch (rc) {
    case SQLITE_CONSTRAINT_UNIQUE:
    case SQLITE_CONSTRAINT_PRIMARYKEY:
      // "UNIQUE constraint failed: table.column[, table.column]"
      return Error::conflict("unique constraint violated: " +
                             strip_prefix(msg, "UNIQUE constraint failed: "));
    case SQLITE_CONSTRAINT_FOREIGNKEY:
      return Error::unprocessable("foreign key constraint violated");
    default:
      break;
  }
  switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return Error::unavailable("sqlite: " + msg);
    default:
      return Error::internal("sqlite: " + msg);
  }
}

class SqliteConnection final : public Connection {
 public:
  explicit SqliteConnection(sqlite3* db) : db_(db) {}
  ~SqliteConnection() override {
    clear_cache();
    sqlite3_close(db_);
  }
  SqliteConnection(const SqliteConnection&) = delete;
  SqliteConnection& operator=(const SqliteConnection&) = delete;

  using Connection::exec;
  using Connection::query;

  Result<Rows> query(std::string_view sql, std::span<const Value> params) override {
    Rows rows;
    CUSTODY_TRY(run(sql, params, &rows));
    return rows;
  }

  Result<std::int64_t> exec(std::string_view sql, std::span<const Value> params) override {
    CUSTODY_ASSIGN(sqlite3_stmt * stmt, run(sql, params, nullptr));
    // sqlite3_changes64 keeps the count of the last INSERT/UPDATE/DELETE; a read changes nothing.
    return sqlite3_stmt_readonly(stmt) ? std::int64_t{0} : sqlite3_changes64(db_);
  }

  Status exec_raw(std::string_view sql) override {
    char* err = nullptr;
    const int rc = sqlite3_exec(db_, std::string(sql).c_str(), nullptr, nullptr, &err);
    if (rc == SQLITE_OK) return ok_status();
    std::string msg = err ? err : sqlite3_errstr(rc);
    sqlite3_free(err);
    return map_error(sqlite3_extended_errcode(db_), msg);
  }

  bool broken() const override { return false; }  // a file does not hang up
  Dialect dialect() const override { return Dialect::kSqlite; }

 private:
  Result<sqlite3_stmt*> prepare(std::string_view sql) {
    // Looked up by the view itself: no copy of the SQL text per statement run.
    if (auto it = cache_.find(sql); it != cache_.end()) return it->second;
    if (cache_.size() >= kMaxCachedStatements) clear_cache();
    const std::string text = sqlite_rewrite_params(sql);
    sqlite3_stmt* stmt = nullptr;
    const char* tail = nullptr;
    const int rc = sqlite3_prepare_v3(db_, text.c_str(), static_cast<int>(text.size() + 1),
                                      SQLITE_PREPARE_PERSISTENT, &stmt, &tail);
    if (rc != SQLITE_OK) return map_error(rc, sqlite3_errmsg(db_));
    if (stmt == nullptr) return Error::internal("sqlite: empty statement");
    if (tail != nullptr &&
        std::string_view(tail).find_first_not_of(" \t\r\n;") != std::string_view::npos) {
      sqlite3_finalize(stmt);
      return Error::internal("sqlite: more than one statement in a parameterised call");
    }
    cache_.emplace(std::string(sql), stmt);
    return stmt;
  }

  static Status bind(sqlite3_stmt* stmt, std::span<const Value> params) {
    const int expected = sqlite3_bind_parameter_count(stmt);
    if (expected != static_cast<int>(params.size())) {
      return Error::internal("sqlite: statement takes " + std::to_string(expected) +
                             " parameters, " + std::to_string(params.size()) + " given");
    }
    for (std::size_t i = 0; i < params.size(); ++i) {
      const int idx = static_cast<int>(i + 1);
      const Value& v = params[i];
      int rc = SQLITE_OK;
      if (const auto* n = std::get_if<std::int64_t>(&v)) {
        rc = sqlite3_bind_int64(stmt, idx, *n);
      } else if (const auto* s = std::get_if<std::string>(&v)) {
        // STATIC: the caller's values outlive the statement's use; bindings are cleared after.
        rc = sqlite3_bind_text64(stmt, idx, s->data(), s->size(), SQLITE_STATIC, SQLITE_UTF8);
      } else {
        rc = sqlite3_bind_null(stmt, idx);
      }
      if (rc != SQLITE_OK) return Error::internal(std::string("sqlite: ") + sqlite3_errstr(rc));
    }
    return ok_status();
  }

  static Value column(sqlite3_stmt* stmt, int i) {
    switch (sqlite3_column_type(stmt, i)) {
      case SQLITE_NULL:
        return Null{};
      case SQLITE_INTEGER:
      case SQLITE_FLOAT:  // custody stores no floats; AVG() and friends are truncated
        return static_cast<std::int64_t>(sqlite3_column_int64(stmt, i));
      default: {  // TEXT or BLOB: bytes as they are
        const auto* p = static_cast<const char*>(sqlite3_column_blob(stmt, i));
        const int n = sqlite3_column_bytes(stmt, i);
        return p ? std::string(p, static_cast<std::size_t>(n)) : std::string();
      }
    }
  }

  // Prepares (or reuses), binds, steps to the end, collecting rows when `rows` is given. The
  // statement is always reset and unbound afterwards so that it holds no read snapshot (which
  // would block WAL checkpoints) and no pointer into the caller's values.
  Result<sqlite3_stmt*> run(std::string_view sql, std::span<const Value> params, Rows* rows) {
    CUSTODY_ASSIGN(sqlite3_stmt * stmt, prepare(sql));
    Status st = bind(stmt, params);
    if (st.ok()) {
      const int ncol = sqlite3_column_count(stmt);
      int rc;
      while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        if (rows == nullptr) continue;
        std::vector<Value> values;
        values.reserve(static_cast<std::size_t>(ncol));
        for (int i = 0; i < ncol; ++i) values.push_back(column(stmt, i));
        rows->emplace_back(std::move(values));
      }
      if (rc != SQLITE_DONE) st = map_error(rc, sqlite3_errmsg(db_));
    }
    sqlite3_reset(stmt);
    sqlite3_clear_bindings(stmt);
    if (!st.ok()) return st.error();
    return stmt;
  }

  void clear_cache() {
    for (auto& [sql, stmt] : cache_) sqlite3_finalize(stmt);
    cache_.clear();
  }

  // Transparent hashing, so that find() takes a string_view.
  struct SqlHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view sql) const {
      return std::hash<std::string_view>{}(sql);
    }
  };

  sqlite3* db_;
  std::unordered_map<std::string, sqlite3_stmt*, SqlHash, std::equal_to<>> cache_;
};

// Runs a PRAGMA and returns its first column of the first row ("" when it returns none).
Result<std::string> pragma(Connection& c, const std::string& sql) {
  CUSTODY_ASSIGN(Rows rows, c.query(sql));
  if (rows.empty() || rows[0].size() == 0 || rows[0].is_null(0)) return std::string();
  const Value& v = rows[0].at(0);
  if (const auto* s = std::get_if<std::string>(&v)) return *s;
  return std::to_string(std::get<std::int64_t>(v));
}

}  // namespace

std::string sqlite_rewrite_params(std::string_view sql) {
  std::string out;
  out.reserve(sql.size());
  std::size_t i = 0;
  auto copy_until = [&](std::string_view end) {  // copies through the next `end` (or to EOF)
    const std::size_t e = sql.find(end, i);
    const std::size_t stop = e == std::string_view::npos ? sql.size() : e + end.size();
    out.append(sql.substr(i, stop - i));
    i = stop;
  };
  while (i < sql.size()) {
    const char c = sql[i];
    if (c == '\'' || c == '"') {  // '' and "" escapes are two adjacent literals: same result
      out.push_back(c);
      ++i;
      copy_until(std::string_view(&c, 1));
    } else if (sql.substr(i, 2) == "--") {
      copy_until("\n");
    } else if (sql.substr(i, 2) == "/*") {
      copy_until("*/");
    } else if (c == '$' && i + 1 < sql.size() && sql[i + 1] >= '0' && sql[i + 1] <= '9') {
      out.push_back('?');
      ++i;
    } else {
      out.push_back(c);
      ++i;
    }
  }
  return out;
}

Result<std::unique_ptr<Connection>> open_sqlite_connection(const std::string& path,
                                                           ConnectionRole role,
                                                           int busy_timeout_ms) {
  // SQLite's memory statistics (SQLITE_CONFIG_MEMSTATUS, on by default) take one process-wide
  // mutex around every allocation and free SQLite makes, so the io threads' readers and the
  // writer queued on it (futex waits under token load). custody reads none of the statistics.
  // The setting only takes before SQLite initializes, i.e. before the first open; should
  // something have initialized it earlier, SQLite keeps its default and nothing else changes.
  static const bool memstatus_off [[maybe_unused]] =
      sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0) == SQLITE_OK;
  // The writer appends to the WAL through wal_append_buffer.h: one write(2) per commit
  // instead of two per changed page. Readers and the checkpointer never append.
  const char* vfs = nullptr;
  if (role == ConnectionRole::kWriter) {
    CUSTODY_ASSIGN(vfs, wal_append_buffer_vfs());
  }
  sqlite3* db = nullptr;
  const int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
  const int rc = sqlite3_open_v2(path.c_str(), &db, flags, vfs);
  if (rc != SQLITE_OK) {
    std::string msg = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
    sqlite3_close(db);
    return Error::unavailable("cannot open sqlite database " + path + ": " + msg);
  }
  sqlite3_extended_result_codes(db, 1);
  sqlite3_busy_timeout(db, busy_timeout_ms);
  auto conn = std::make_unique<SqliteConnection>(db);

  CUSTODY_ASSIGN(std::string mode, pragma(*conn, "PRAGMA journal_mode=WAL"));
  if (mode != "wal") {
    return Error::internal("sqlite: cannot use WAL journal mode on " + path + " (got " + mode +
                           ")");
  }
  CUSTODY_TRY(conn->exec_raw("PRAGMA synchronous=FULL"));
  CUSTODY_TRY(conn->exec_raw("PRAGMA foreign_keys=ON"));
  if (role == ConnectionRole::kReader) CUSTODY_TRY(conn->exec_raw("PRAGMA query_only=1"));
  // The checkpointer connection keeps the WAL short; the writer checkpoints only if the WAL
  // grows past this many pages anyway (the checkpointer stalled), not at SQLite's default of
  // 1000, which put every checkpoint on the group-commit writer's thread.
  if (role == ConnectionRole::kWriter) {
    CUSTODY_TRY(conn->exec_raw("PRAGMA wal_autocheckpoint=" +
                               std::to_string(kWriterCheckpointBackstopPages)));
    // Each work of a group commit runs in its own savepoint, and SQLite keeps the original of
    // every page a savepoint changes in a sub-journal for the whole transaction. By default the
    // sub-journal spills to a temporary file past 64 KiB, i.e. from the second or third token
    // of a batch on: one write(2) per page per work, 12 us of each issued token's writer time.
    // In memory it costs a page copy per page changed per work, freed at COMMIT: at most
    // max_batch works × the pages each changes (about 16 MiB for 512 token issuances of 8
    // pages). Nothing durable lives in it: a crash loses the uncommitted transaction either way.
    CUSTODY_TRY(conn->exec_raw("PRAGMA temp_store=MEMORY"));
  }
  return std::unique_ptr<Connection>(std::move(conn));
}

}  // namespace custody::store
