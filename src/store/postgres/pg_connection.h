// PostgreSQL backend connection over libpq (see store/connection.h for the contract).
//
// Statements are prepared once per (SQL text, parameter kinds) on each connection and run with
// PQexecPrepared. Parameters travel in text format, declared with the type of the Value: int8
// for int64, text for strings (so "SELECT $1" and "$1 IS NULL" work, and "SELECT $1" returns
// the integer it was given, as on SQLite); a NULL is left untyped for the server to infer from
// context, so that it fits any column. Result columns of integer types (and boolean, and
// integral numeric, which SUM() returns) come back as int64, everything else as text.
// A lost server connection makes the call fail with kUnavailable and marks the connection
// broken(); its owner opens a new one.
#pragma once

#include <memory>
#include <string>

#include "common/result.h"
#include "store/connection.h"

namespace custody::store {

// Connects to `url` (a libpq URI or conninfo string). `connect_timeout_ms` bounds the connect;
// parameters in the URL take precedence. Readers run in read-only transactions. With
// `statement_timeout_ms` > 0 the server cancels any statement that runs longer (the call then
// fails with kUnavailable).
Result<std::unique_ptr<Connection>> open_pg_connection(const std::string& url, ConnectionRole role,
                                                       int connect_timeout_ms,
                                                       int statement_timeout_ms = 0);

}  // namespace custody::store
