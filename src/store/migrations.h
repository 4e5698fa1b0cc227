// Numbered SQL migrations, embedded at build time from src/store/migrations/NNNN_name.sql.
// Files are applied in version order, once each; the applied versions are kept in the table
// schema_migrations(version BIGINT PRIMARY KEY, name TEXT, applied_at BIGINT).
//
// Dialect tokens replaced before a migration runs:
//   {{SERIAL_PK}}  SQLite: INTEGER PRIMARY KEY AUTOINCREMENT   PostgreSQL: BIGSERIAL PRIMARY KEY
//   {{BLOB}}       SQLite: BLOB                                 PostgreSQL: BYTEA
//   {{WITHOUT_ROWID}} SQLite: WITHOUT ROWID (after a CREATE TABLE's ")")   PostgreSQL: nothing
// A line that starts with {{SQLITE}} or {{POSTGRES}} is kept (without the token) only for that
// dialect.
// Statements are separated by ";" at the end of a line (so a trigger body stays on one line).
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace custody::store {

struct Migration {
  long version;
  const char* name;
  const char* sql;
};

const std::vector<Migration>& embedded_migrations();

enum class Dialect { kSqlite, kPostgres };
// The migration's SQL with the dialect tokens replaced, split into statements.
std::vector<std::string> migration_statements(std::string_view sql, Dialect dialect);

}  // namespace custody::store
