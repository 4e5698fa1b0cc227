#include "store/postgres/pg_connection.h"

#include <libpq-fe.h>

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <string>
#include <unordered_map>
#include <vector>

namespace custody::store {
namespace {

// Type OIDs from the server's catalog/pg_type.h (not shipped with libpq's headers).
constexpr Oid kBoolOid = 16;
constexpr Oid kInt8Oid = 20;
constexpr Oid kInt2Oid = 21;
constexpr Oid kInt4Oid = 23;
constexpr Oid kTextOid = 25;
constexpr Oid kNumericOid = 1700;

// See the SQLite backend: bounded so that generated SQL cannot grow the cache forever.
constexpr std::size_t kMaxCachedStatements = 512;

struct ResultDeleter {
  void operator()(PGresult* r) const { PQclear(r); }
};
using PgResult = std::unique_ptr<PGresult, ResultDeleter>;

std::string field(const PGresult* r, int code) {
  const char* v = PQresultErrorField(r, code);
  return v ? v : "";
}

std::string trimmed(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

bool parse_int(std::string_view s, std::int64_t* out) {
  const auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && p == s.data() + s.size();
}

// "table.col1, table.col2" from DETAIL "Key (col1, col2)=(...) already exists.", the same shape
// as SQLite's message, so callers see one text on both backends. Falls back to the constraint's
// name when the detail has another shape (e.g. a server with translated messages).
std::string unique_violation_target(const PGresult* r) {
  const std::string table = field(r, PG_DIAG_TABLE_NAME);
  const std::string detail = field(r, PG_DIAG_MESSAGE_DETAIL);
  const auto open = detail.find("Key (");
  const auto close = detail.find(")=(");
  if (table.empty() || open != 0 || close == std::string::npos) {
    return field(r, PG_DIAG_CONSTRAINT_NAME);
  }
  std::string out;
  std::string_view cols = std::string_view(detail).substr(5, close - 5);
  while (!cols.empty()) {
    const auto comma = cols.find(", ");
    if (!out.empty()) out += ", ";
    out += table + "." + std::string(cols.substr(0, comma));
    cols = comma == std::string_view::npos ? std::string_view{} : cols.substr(comma + 2);
  }
  return out;
}

class PgConnection final : public Connection {
 public:
  explicit PgConnection(PGconn* conn) : conn_(conn) {}
  ~PgConnection() override { PQfinish(conn_); }
  PgConnection(const PgConnection&) = delete;
  PgConnection& operator=(const PgConnection&) = delete;

  using Connection::exec;
  using Connection::query;

  Result<Rows> query(std::string_view sql, std::span<const Value> params) override {
    CUSTODY_ASSIGN(PgResult r, run(sql, params));
    const int nrows = PQntuples(r.get());
    const int ncols = PQnfields(r.get());
    Rows rows;
    rows.reserve(static_cast<std::size_t>(nrows));
    for (int i = 0; i < nrows; ++i) {
      std::vector<Value> values;
      values.reserve(static_cast<std::size_t>(ncols));
      for (int j = 0; j < ncols; ++j) values.push_back(column(r.get(), i, j));
      rows.emplace_back(std::move(values));
    }
    return rows;
  }

  Result<std::int64_t> exec(std::string_view sql, std::span<const Value> params) override {
    CUSTODY_ASSIGN(PgResult r, run(sql, params));
    std::int64_t n = 0;
    (void)parse_int(PQcmdTuples(r.get()), &n);  // "" for commands that count nothing
    return n;
  }

  Status exec_raw(std::string_view sql) override {
    if (broken_) return lost();
    CUSTODY_ASSIGN(PgResult r, check(PQexec(conn_, std::string(sql).c_str())));
    // COMMIT of a transaction the server had already aborted "succeeds" as ROLLBACK.
    if (sql == "COMMIT" && std::string_view(PQcmdStatus(r.get())) == "ROLLBACK") {
      return Error::internal("postgres: the transaction was rolled back at COMMIT");
    }
    return ok_status();
  }

  bool broken() const override { return broken_; }
  Dialect dialect() const override { return Dialect::kPostgres; }

 private:
  static Value column(const PGresult* r, int row, int col) {
    if (PQgetisnull(r, row, col)) return Null{};
    const std::string_view text(PQgetvalue(r, row, col),
                                static_cast<std::size_t>(PQgetlength(r, row, col)));
    std::int64_t n = 0;
    switch (PQftype(r, col)) {
      case kInt2Oid:
      case kInt4Oid:
      case kInt8Oid:
        if (parse_int(text, &n)) return n;
        break;
      case kBoolOid:  // SQLite has no boolean; comparisons yield 0/1 there
        return std::int64_t{text == "t" ? 1 : 0};
      case kNumericOid:  // SUM(bigint) is numeric here and an integer on SQLite
        if (parse_int(text, &n)) return n;
        break;
      default:
        break;
    }
    return std::string(text);
  }

  Error lost() const {
    return Error::unavailable("postgres connection lost: " + trimmed(PQerrorMessage(conn_)));
  }

  // Maps a failed result (or none at all) onto custody's codes, per store.h.
  Result<PgResult> check(PGresult* raw) {
    PgResult r(raw);
    if (PQstatus(conn_) == CONNECTION_BAD) broken_ = true;
    if (r) {
      const auto status = PQresultStatus(r.get());
      if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK) return r;
    }
    if (broken_) return lost();
    if (!r) return Error::internal("postgres: " + trimmed(PQerrorMessage(conn_)));
    const std::string state = field(r.get(), PG_DIAG_SQLSTATE);
    const std::string msg = field(r.get(), PG_DIAG_MESSAGE_PRIMARY);
    if (state == "23505") {
      return Error::conflict("unique constraint violated: " + unique_violation_target(r.get()));
    }
    if (state == "23503") return Error::unprocessable("foreign key constraint violated");
    if (state.starts_with("57P0")) {
      broken_ = true;  // shutdown or termination: the server is closing this session
      return Error::unavailable("postgres: " + msg);
    }
    // Connection exceptions, except a protocol violation, which is our bug (e.g. a wrong
    // number of parameters) and leaves the session usable.
    if (state.starts_with("08") && state != "08P01") {
      return Error::unavailable("postgres: " + msg);
    }
    // Lock timeout, deadlock, serialization failure: transient, like SQLite's "locked".
    // ... and a statement cancelled by statement_timeout (57014): the store was too slow.
    if (state == "55P03" || state == "40P01" || state == "40001" || state == "57014") {
      return Error::unavailable("postgres: " + msg);
    }
    return Error::internal("postgres: " + msg + " (SQLSTATE " + state + ")");
  }

  // Prepares (once per SQL text and parameter kinds) and executes.
  Result<PgResult> run(std::string_view sql, std::span<const Value> params) {
    if (broken_) return lost();
    std::string key;
    key.reserve(params.size() + 1 + sql.size());
    for (const Value& v : params) key.push_back("nit"[v.index()]);
    key.push_back('|');
    key.append(sql);

    auto it = names_.find(key);
    if (it == names_.end()) {
      if (names_.size() >= kMaxCachedStatements) {
        CUSTODY_TRY(exec_raw("DEALLOCATE ALL"));
        names_.clear();
      }
      std::vector<Oid> types;
      types.reserve(params.size());
      for (const Value& v : params) {
        // NULL stays untyped so that it fits any column; the server infers it from context.
        static constexpr Oid kByKind[] = {0, kInt8Oid, kTextOid};
        types.push_back(kByKind[v.index()]);
      }
      // snprintf rather than "s" + to_string(): GCC 12 at -O3 raises a false -Wrestrict on that.
      char name[24];
      std::snprintf(name, sizeof name, "s%llu", static_cast<unsigned long long>(++next_name_));
      CUSTODY_TRY(check(PQprepare(conn_, name, std::string(sql).c_str(),
                                  static_cast<int>(params.size()), types.data())));
      it = names_.emplace(std::move(key), name).first;
    }

    std::vector<std::string> numbers;  // backing store for int64 parameters' text
    numbers.reserve(params.size());
    std::vector<const char*> values;
    values.reserve(params.size());
    for (const Value& v : params) {
      if (const auto* n = std::get_if<std::int64_t>(&v)) {
        values.push_back(numbers.emplace_back(std::to_string(*n)).c_str());
      } else if (const auto* s = std::get_if<std::string>(&v)) {
        values.push_back(s->c_str());
      } else {
        values.push_back(nullptr);
      }
    }
    return check(PQexecPrepared(conn_, it->second.c_str(), static_cast<int>(params.size()),
                                values.data(), nullptr, nullptr, /*resultFormat=*/0));
  }

  PGconn* conn_;
  bool broken_ = false;
  std::unordered_map<std::string, std::string> names_;  // kinds|sql → prepared statement name
  std::uint64_t next_name_ = 0;
};

void ignore_notice(void*, const char*) {}  // NOTICEs ("... already exists, skipping") are noise

}  // namespace

Result<std::unique_ptr<Connection>> open_pg_connection(const std::string& url, ConnectionRole role,
                                                       int connect_timeout_ms,
                                                       int statement_timeout_ms) {
  // libpq counts whole seconds and treats anything below 2 as 2.
  const std::string timeout = std::to_string(std::max(2, (connect_timeout_ms + 999) / 1000));
  // Earlier entries are defaults: whatever the URL (expanded from "dbname") says wins.
  const char* const keys[] = {"connect_timeout", "client_encoding", "application_name", "dbname",
                              nullptr};
  const char* const values[] = {timeout.c_str(), "UTF8", "custody", url.c_str(), nullptr};
  PGconn* raw = PQconnectdbParams(keys, values, /*expand_dbname=*/1);
  if (raw == nullptr) return Error::unavailable("postgres: out of memory connecting");
  auto conn = std::make_unique<PgConnection>(raw);
  if (PQstatus(raw) != CONNECTION_OK) {
    return Error::unavailable("cannot connect to postgres: " + trimmed(PQerrorMessage(raw)));
  }
  PQsetNoticeProcessor(raw, ignore_notice, nullptr);
  if (role == ConnectionRole::kReader) {
    CUSTODY_TRY(conn->exec_raw("SET default_transaction_read_only = on"));
  }
  if (statement_timeout_ms > 0)
    CUSTODY_TRY(conn->exec_raw("SET statement_timeout = " + std::to_string(statement_timeout_ms)));
  return std::unique_ptr<Connection>(std::move(conn));
}

}  // namespace custody::store
