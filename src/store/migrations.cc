// Migration text handling and the migration runner. See migrations.h and connection.h.
#include "store/migrations.h"

#include <algorithm>
#include <string>

#include "store/connection.h"

namespace custody::store {
namespace {

void replace_all(std::string& s, std::string_view from, std::string_view to) {
  for (std::size_t pos = s.find(from); pos != std::string::npos; pos = s.find(from, pos)) {
    s.replace(pos, from.size(), to);
    pos += to.size();
  }
}

std::string_view trim(std::string_view s) {
  constexpr std::string_view kSpace = " \t\r\n";
  const auto b = s.find_first_not_of(kSpace);
  if (b == std::string_view::npos) return {};
  return s.substr(b, s.find_last_not_of(kSpace) - b + 1);
}

bool is_comment_line(std::string_view line) {
  return trim(line).starts_with("--");
}

// Ends the statement collected so far; drops it when it holds no SQL (blank or comments only).
void flush(std::string& current, std::vector<std::string>& out) {
  std::string_view stmt = trim(current);
  if (!stmt.empty()) out.emplace_back(stmt);
  current.clear();
}

// The highest applied version, or 0; the caller holds the migration lock.
Result<std::int64_t> max_applied(Connection& conn) {
  CUSTODY_ASSIGN(Rows rows, conn.query("SELECT MAX(version) FROM schema_migrations"));
  if (rows.empty() || rows[0].is_null(0)) return std::int64_t{0};
  return rows[0].integer(0);
}

// Takes the cross-process migration lock inside an open transaction. SQLite's BEGIN IMMEDIATE
// already holds the database write lock; PostgreSQL needs an explicit advisory lock (released at
// COMMIT/ROLLBACK) because DDL alone does not serialize concurrent migrators.
Status lock_for_migration(Connection& conn) {
  if (conn.dialect() == Dialect::kSqlite) return ok_status();
  constexpr std::int64_t kLockKey = 0x637573746f6479;  // "custody"
  auto r = conn.query("SELECT pg_advisory_xact_lock($1)", {kLockKey});
  if (!r.ok()) return r.error();
  return ok_status();
}

// Runs `body` inside BEGIN/COMMIT with the migration lock held; rolls back on any failure.
template <class Body>
Status in_migration_tx(Connection& conn, Body body) {
  CUSTODY_TRY(conn.exec_raw(begin_sql(conn.dialect())));
  Status st = lock_for_migration(conn);
  if (st.ok()) st = body();
  if (st.ok()) st = conn.exec_raw("COMMIT");
  if (!st.ok()) (void)conn.exec_raw("ROLLBACK");  // the original error is what matters
  return st;
}

constexpr std::string_view kSqliteOnly = "{{SQLITE}}";
constexpr std::string_view kPostgresOnly = "{{POSTGRES}}";

}  // namespace

std::vector<std::string> migration_statements(std::string_view sql, Dialect dialect) {
  std::string text(sql);
  const bool lite = dialect == Dialect::kSqlite;
  replace_all(text, "{{SERIAL_PK}}",
              lite ? "INTEGER PRIMARY KEY AUTOINCREMENT" : "BIGSERIAL PRIMARY KEY");
  replace_all(text, "{{BLOB}}", lite ? "BLOB" : "BYTEA");
  // A table clustered on its primary key: SQLite stores it as that B-tree alone; PostgreSQL has
  // no such clause (its primary key index serves the same lookups).
  replace_all(text, "{{WITHOUT_ROWID}}", lite ? "WITHOUT ROWID" : "");

  std::vector<std::string> out;
  std::string current;
  std::string_view rest = text;
  while (!rest.empty()) {
    const auto nl = rest.find('\n');
    std::string_view line = rest.substr(0, nl);
    rest = nl == std::string_view::npos ? std::string_view{} : rest.substr(nl + 1);
    // Whole-line comments are dropped so that a statement's text is only SQL.
    if (is_comment_line(line)) continue;
    // A line for one dialect only (triggers: their bodies differ).
    if (line.starts_with(kSqliteOnly)) {
      if (!lite) continue;
      line.remove_prefix(kSqliteOnly.size());
    } else if (line.starts_with(kPostgresOnly)) {
      if (lite) continue;
      line.remove_prefix(kPostgresOnly.size());
    }
    current.append(line);
    current.push_back('\n');
    if (trim(line).ends_with(';')) flush(current, out);
  }
  flush(current, out);  // a last statement without ";"
  return out;
}

Status apply_migrations(Connection& conn, std::int64_t now_micros) {
  return apply_migrations(conn, embedded_migrations(), now_micros);
}

Status apply_migrations(Connection& conn, const std::vector<Migration>& migrations,
                        std::int64_t now_micros) {
  std::vector<Migration> sorted = migrations;
  std::sort(sorted.begin(), sorted.end(),
            [](const Migration& a, const Migration& b) { return a.version < b.version; });
  const std::int64_t newest = sorted.empty() ? 0 : sorted.back().version;

  CUSTODY_TRY(in_migration_tx(conn, [&]() -> Status {
    return conn.exec_raw(
        "CREATE TABLE IF NOT EXISTS schema_migrations ("
        "version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)");
  }));

  for (const Migration& m : sorted) {
    CUSTODY_TRY(in_migration_tx(conn, [&]() -> Status {
      // Re-read under the lock: another process may have applied it meanwhile.
      CUSTODY_ASSIGN(std::int64_t applied, max_applied(conn));
      if (applied > newest) {
        return Error::internal("database schema version " + std::to_string(applied) +
                               " is newer than this build's " + std::to_string(newest) +
                               "; refusing to run an older custody on it");
      }
      CUSTODY_ASSIGN(Rows done, conn.query("SELECT 1 FROM schema_migrations WHERE version = $1",
                                           {std::int64_t{m.version}}));
      if (!done.empty()) return ok_status();
      for (const std::string& stmt : migration_statements(m.sql, conn.dialect())) {
        Status st = conn.exec_raw(stmt);
        if (!st.ok()) {
          Error e = st.error();
          e.message = "migration " + std::string(m.name) + " failed: " + e.message;
          return e;
        }
      }
      CUSTODY_TRY(
          conn.exec("INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)",
                    {std::int64_t{m.version}, std::string(m.name), now_micros}));
      return ok_status();
    }));
  }
  return ok_status();
}

}  // namespace custody::store
