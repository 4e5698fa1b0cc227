// Shared fixture of the directory and audit unit tests: a real store (parameter "sqlite": a temp
// file; "postgres": a fresh database on the cluster named by CUSTODY_TEST_PG_URL_FILE, skipped
// when there is none, as in store_test.cc), a fixed clock, principals of each role, and helpers
// that run one operation per write.
#pragma once

#include <gtest/gtest.h>
#include <libpq-fe.h>
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "../common/pg_exec.h"
#include "audit/events.h"
#include "common/clock.h"
#include "directory/identities.h"
#include "directory/principal.h"
#include "store/store.h"

namespace custody::directory::testing {

// 2027-01-15T08:00:00Z: far from the epoch so that "in the past" is easy to express.
inline constexpr Micros kT0 = 1'800'000'000LL * kMicrosPerSecond;

inline std::optional<std::string> pg_admin_url() {
  const char* file = std::getenv("CUSTODY_TEST_PG_URL_FILE");
  if (file == nullptr || *file == '\0') return std::nullopt;
  std::ifstream in(file);
  std::string url;
  if (!in || !std::getline(in, url) || url.empty()) return std::nullopt;
  return url;
}

// The URL with its database name replaced.
inline std::string with_database(const std::string& url, const std::string& db) {
  const auto authority = url.find("://") + 3;
  const auto slash = url.find('/', authority);
  const auto query = url.find('?', authority);
  const std::string base = url.substr(0, std::min(slash, query));
  const std::string tail = query == std::string::npos ? "" : url.substr(query);
  return base + "/" + db + tail;
}

class DirectoryTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    std::string url;
    if (GetParam() == "sqlite") {
      char tmpl[] = "/tmp/custody-directory-test-XXXXXX";
      ASSERT_NE(mkdtemp(tmpl), nullptr);
      dir_ = tmpl;
      url = "sqlite:" + dir_ + "/custody.db";
    } else {
      auto admin = pg_admin_url();
      if (!admin) {
        const char* required = std::getenv("CUSTODY_REQUIRE_POSTGRES");
        if (required && std::string_view(required) == "1")
          FAIL() << "CUSTODY_REQUIRE_POSTGRES=1 but CUSTODY_TEST_PG_URL_FILE names no URL file";
        GTEST_SKIP() << "PostgreSQL not configured (CUSTODY_TEST_PG_URL_FILE)";
      }
      static std::atomic<int> counter{0};
      const std::string db =
          "custody_dir_" + std::to_string(getpid()) + "_" + std::to_string(++counter);
      ASSERT_EQ(test_support::pg_exec(*admin, "CREATE DATABASE " + db), "");
      pg_admin_ = *admin;
      pg_db_ = db;
      url = with_database(*admin, db);
    }
    url_ = url;
    store::StoreOptions options;
    options.url = url;
    auto opened = store::open_store(options);
    ASSERT_TRUE(opened.ok()) << opened.error().message;
    store_ = std::move(opened).value();
  }

  void TearDown() override {
    if (store_) store_->close();
    store_.reset();
    if (!pg_db_.empty())
      (void)test_support::pg_exec(pg_admin_, "DROP DATABASE " + pg_db_ + " WITH (FORCE)");
    if (!dir_.empty()) {
      std::error_code ec;
      std::filesystem::remove_all(dir_, ec);
    }
  }

  OpContext ctx(const Principal& who) const { return OpContext{who, "req-test", clock_.now()}; }

  // Runs fn(tx) as one write work; a failed result rolls the work back, as in the server.
  template <class F>
  auto write(F&& fn) -> decltype(fn(std::declval<store::Tx&>())) {
    using R = decltype(fn(std::declval<store::Tx&>()));
    std::optional<R> out;
    Status st = store_->write_sync([&](store::Tx& tx) -> Status {
      out.emplace(fn(tx));
      if (!out->ok()) return out->error();
      return ok_status();
    });
    if (!out) return R(st.error());                   // the work never ran (store refused it)
    if (out->ok() && !st.ok()) return R(st.error());  // the commit failed
    return std::move(*out);
  }

  template <class F>
  auto read(F&& fn) -> decltype(fn(std::declval<store::Tx&>())) {
    using R = decltype(fn(std::declval<store::Tx&>()));
    std::optional<R> out;
    Status st = store_->read([&](store::Tx& tx) -> Status {
      out.emplace(fn(tx));
      return ok_status();
    });
    if (!out) return R(st.error());
    return std::move(*out);
  }

  Result<Identity> create(const Principal& who, NewIdentity input) {
    return write([&](store::Tx& tx) { return create_identity(tx, ctx(who), input); });
  }

  static NewIdentity spec(Kind kind, const std::string& name,
                          std::optional<std::string> owner = std::nullopt,
                          std::optional<State> state = std::nullopt) {
    NewIdentity input;
    input.kind = kind;
    input.display_name = name;
    input.owner_id = std::move(owner);
    input.state = state;
    return input;
  }

  Identity human(const std::string& name = "Ada") {
    auto r = create(admin_, spec(Kind::kHuman, name));
    EXPECT_TRUE(r.ok()) << r.error().message;
    return r.ok() ? r.value() : Identity{};
  }

  Identity agent(const std::string& owner, std::optional<State> state = State::kActive,
                 Kind kind = Kind::kAgent) {
    auto r = create(admin_, spec(kind, "bot", owner, state));
    EXPECT_TRUE(r.ok()) << r.error().message;
    return r.ok() ? r.value() : Identity{};
  }

  Result<TransitionResult> move(const Principal& who, const std::string& id, State target,
                                std::optional<std::int64_t> version = std::nullopt,
                                const std::string& reason = "") {
    return write(
        [&](store::Tx& tx) { return transition(tx, ctx(who), id, target, version, reason); });
  }

  Result<Identity> get(const Principal& who, const std::string& id) {
    return read([&](store::Tx& tx) { return get_identity(tx, ctx(who), id); });
  }

  // Every audit event, newest first.
  std::vector<audit::Event> events(audit::EventFilter filter = {}) {
    filter.limit = 1000;
    auto page = read([&](store::Tx& tx) { return audit::list(tx, filter); });
    EXPECT_TRUE(page.ok()) << page.error().message;
    return page.ok() ? page->items : std::vector<audit::Event>{};
  }

  std::vector<audit::Event> events_for(const std::string& target) {
    audit::EventFilter filter;
    filter.target = target;
    return events(filter);
  }

  Principal owner_of(const Identity& h) const {
    return Principal{.token_id = "tok_owner", .role = Role::kOwner, .human_id = h.id};
  }

  std::string url_;               // the store's URL: a second store can open the same database
  std::string dir_;               // sqlite
  std::string pg_admin_, pg_db_;  // postgres
  std::unique_ptr<store::Store> store_;
  FixedClock clock_{kT0};
  Principal admin_{.token_id = "tok_admin", .role = Role::kAdmin, .human_id = std::nullopt};
  Principal auditor_{.token_id = "tok_auditor", .role = Role::kAuditor, .human_id = std::nullopt};
};

}  // namespace custody::directory::testing

// Runs a DirectoryTest-based suite on both backends.
#define CUSTODY_ON_BOTH_BACKENDS(Suite)                                                   \
  INSTANTIATE_TEST_SUITE_P(                                                               \
      Backends, Suite, ::testing::Values(std::string("sqlite"), std::string("postgres")), \
      [](const ::testing::TestParamInfo<std::string>& info) { return info.param; })
