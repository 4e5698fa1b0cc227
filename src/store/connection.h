// Internal to the store module: one backend connection, and the helpers built on it. Nothing
// outside src/store includes this header.
//
// A Connection is used by one thread at a time (the GroupCommitStore's pool guarantees it); it
// is not thread-safe itself. It implements Tx: query()/exec() take PostgreSQL-style $N
// parameters and cache one prepared statement per SQL text. Errors are mapped onto custody
// codes as store.h describes. A connection that has lost its backend reports broken() and is
// replaced by its owner on next use; the failing call returns kUnavailable.
#pragma once

#include <functional>
#include <memory>
#include <string_view>

#include "common/result.h"
#include "store/migrations.h"
#include "store/store.h"

namespace custody::store {

class Connection : public Tx {
 public:
  using Tx::exec;
  using Tx::query;

  // Runs parameterless SQL without preparing or caching it: transaction control (BEGIN,
  // COMMIT, SAVEPOINT ...) and one-off DDL. May contain several statements.
  virtual Status exec_raw(std::string_view sql) = 0;
  // True once the backend connection is known to be gone; the owner must replace it.
  virtual bool broken() const = 0;
  virtual Dialect dialect() const = 0;
};

// What a connection is for. Readers refuse writes (SQLite: query_only; PostgreSQL: read-only
// transactions), so that every mutation goes through the writer and its group commit. SQLite
// only: the checkpointer copies the WAL into the database file off the writer's thread (see
// group_commit.h); the writer then checkpoints itself only as a backstop.
enum class ConnectionRole { kReader, kWriter, kCheckpointer };

using ConnectionFactory = std::function<Result<std::unique_ptr<Connection>>(ConnectionRole role)>;

// Applies the embedded migrations that schema_migrations does not list yet, in version order,
// each in its own transaction together with its schema_migrations row. Safe against another
// process migrating the same database at the same time (SQLite: BEGIN IMMEDIATE; PostgreSQL: an
// advisory lock). Refuses a database whose schema is newer than this binary's migrations.
// `now_micros` is recorded as applied_at.
Status apply_migrations(Connection& conn, std::int64_t now_micros);
// The same for an explicit list of migrations (tests).
Status apply_migrations(Connection& conn, const std::vector<Migration>& migrations,
                        std::int64_t now_micros);

// SQL to open a write transaction in the connection's dialect. SQLite takes the write lock at
// BEGIN so that a busy database fails there, before any work has run.
inline std::string_view begin_sql(Dialect d) {
  return d == Dialect::kSqlite ? "BEGIN IMMEDIATE" : "BEGIN";
}

// True on the thread of a GroupCommitStore writer; write_sync() uses it to refuse a call that
// would wait for itself.
bool on_writer_thread();

}  // namespace custody::store
