// Test helper: runs one SQL text on a short-lived PostgreSQL connection (libpq).
#pragma once

#include <libpq-fe.h>

#include <string>

namespace custody::test_support {

// Returns "" on success (a command, or a query whose rows are ignored), else the error text.
inline std::string pg_exec(const std::string& url, const std::string& sql) {
  PGconn* c = PQconnectdb(url.c_str());
  std::string err;
  if (PQstatus(c) != CONNECTION_OK) {
    err = PQerrorMessage(c);
  } else {
    PGresult* r = PQexec(c, sql.c_str());
    const auto st = PQresultStatus(r);
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) err = PQresultErrorMessage(r);
    PQclear(r);
  }
  PQfinish(c);
  return err;
}

}  // namespace custody::test_support
