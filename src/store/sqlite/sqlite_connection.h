// SQLite backend connection (see store/connection.h for the Connection contract).
//
// Each connection is opened with SQLITE_OPEN_NOMUTEX: the owner guarantees one thread at a
// time, so SQLite's own per-connection mutex would only cost. Every connection sets WAL,
// synchronous=FULL (a COMMIT is durable when it returns), foreign_keys=ON and the busy
// timeout; readers also set query_only, the writer a high wal_autocheckpoint (the checkpointer
// role does the checkpoints). Statements are prepared once per SQL text and kept for
// the connection's life; $N parameters are rewritten to SQLite's ?N.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "common/result.h"
#include "store/connection.h"

namespace custody::store {

// WAL pages past which the writer connection checkpoints on its own (SQLite's
// wal_autocheckpoint): normally the store's checkpointer connection has done it long before.
inline constexpr int kWriterCheckpointBackstopPages = 20'000;

// Opens (creating if needed) the database file at `path`.
Result<std::unique_ptr<Connection>> open_sqlite_connection(const std::string& path,
                                                           ConnectionRole role,
                                                           int busy_timeout_ms);

// Rewrites PostgreSQL-style $N parameters to SQLite's ?N, leaving quoted strings, quoted
// identifiers and comments untouched. Exposed for tests.
std::string sqlite_rewrite_params(std::string_view sql);

}  // namespace custody::store
