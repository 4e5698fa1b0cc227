// open_store(): picks the backend from the URL, migrates, and hands back a GroupCommitStore.
#include "store/store.h"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <future>
#include <system_error>

#include "common/clock.h"
#include "store/connection.h"
#include "store/group_commit.h"
#include "store/postgres/pg_connection.h"
#include "store/sqlite/sqlite_connection.h"

namespace custody::store {
namespace {

// True when `url` starts with a URI scheme ("name:" or "name://"); a plain file path has none.
// Unknown schemes are refused rather than taken for a file named "bogus:x".
bool has_scheme(std::string_view url) {
  const auto pos = url.find(':');
  if (pos == std::string_view::npos || pos == 0 ||
      !std::isalpha(static_cast<unsigned char>(url[0])))
    return false;
  for (char c : url.substr(0, pos)) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '+' && c != '.' && c != '-') {
      return false;
    }
  }
  return true;
}

Status make_parent_dir(const std::string& path) {
  const std::filesystem::path parent = std::filesystem::path(path).parent_path();
  if (parent.empty()) return ok_status();
  std::error_code ec;
  std::filesystem::create_directories(parent, ec);
  if (ec) {
    return Error::unavailable("cannot create directory " + parent.string() + ": " + ec.message());
  }
  return ok_status();
}

}  // namespace

Status Store::write_sync(Work work) {
  // The writer would wait for itself: fail loudly instead of hanging the store.
  if (on_writer_thread()) return Error::internal("write_sync called on a store writer thread");
  std::promise<Status> promise;
  std::future<Status> result = promise.get_future();
  write(std::move(work), [&promise](Status st) { promise.set_value(std::move(st)); });
  return result.get();
}

Result<std::unique_ptr<Store>> open_store(const StoreOptions& options) {
  if (options.read_connections < 1 || options.max_batch < 1 || options.busy_timeout_ms < 0 ||
      options.statement_timeout_ms < 0 || options.commit_interval_us < 0) {
    return Error::invalid(
        "store options: read_connections and max_batch must be positive, timeouts and the "
        "commit interval not negative");
  }
  const std::string& url = options.url;
  const int timeout = options.busy_timeout_ms;
  std::string backend;
  ConnectionFactory factory;

  if (url.starts_with("postgres://") || url.starts_with("postgresql://")) {
    backend = "postgres";
    const int statement_timeout = options.statement_timeout_ms;
    factory = [url, timeout, statement_timeout](ConnectionRole role) {
      return open_pg_connection(url, role, timeout, statement_timeout);
    };
  } else {
    if (has_scheme(url) && !url.starts_with("sqlite:"))
      return Error::invalid(
          "unsupported store URL scheme (use sqlite:PATH or postgres://…): " + url, "store");
    const std::string path = url.starts_with("sqlite:") ? url.substr(7) : url;
    // Every connection opens the file separately, so a private in-memory database would be a
    // different database per connection.
    if (path.empty() || path == ":memory:" || path.starts_with("file:")) {
      return Error::invalid("store URL must name an SQLite file path: " + url, "url");
    }
    CUSTODY_TRY(make_parent_dir(path));
    backend = "sqlite";
    factory = [path, timeout](ConnectionRole role) {
      return open_sqlite_connection(path, role, timeout);
    };
  }

  CUSTODY_ASSIGN(std::unique_ptr<Connection> writer, factory(ConnectionRole::kWriter));
  // Migrations may take long (an index over a large table): no statement timeout while they run.
  const bool timed = backend == "postgres" && options.statement_timeout_ms > 0;
  if (timed) CUSTODY_TRY(writer->exec_raw("SET statement_timeout = 0"));
  CUSTODY_TRY(apply_migrations(*writer, SystemClock().now()));
  if (timed)
    CUSTODY_TRY(writer->exec_raw("SET statement_timeout = " +
                                 std::to_string(options.statement_timeout_ms)));
  StoreOptions effective = options;
  // Each work is a savepoint, i.e. a PostgreSQL subtransaction; beyond 64 per transaction the
  // backend's subtransaction cache overflows and every snapshot gets slower.
  if (backend == "postgres") effective.max_batch = std::min(options.max_batch, 64);
  return GroupCommitStore::create(std::move(backend), std::move(factory), std::move(writer),
                                  effective);
}

}  // namespace custody::store
