// Shared fixture of the directory and audit unit tests: a real SQLite store in a temp directory,
// a fixed clock, principals of each role, and helpers that run one operation per write.
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "audit/events.h"
#include "common/clock.h"
#include "directory/identities.h"
#include "directory/principal.h"
#include "store/store.h"

namespace custody::directory::testing {

// 2027-01-15T08:00:00Z: far from the epoch so that "in the past" is easy to express.
inline constexpr Micros kT0 = 1'800'000'000LL * kMicrosPerSecond;

class DirectoryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/custody-directory-test-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    auto opened = store::open_store({.url = "sqlite:" + dir_ + "/custody.db"});
    ASSERT_TRUE(opened.ok()) << opened.error().message;
    store_ = std::move(opened).value();
  }

  void TearDown() override {
    if (store_) store_->close();
    store_.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
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

  std::string dir_;
  std::unique_ptr<store::Store> store_;
  FixedClock clock_{kT0};
  Principal admin_{.token_id = "tok_admin", .role = Role::kAdmin, .human_id = std::nullopt};
  Principal auditor_{.token_id = "tok_auditor", .role = Role::kAuditor, .human_id = std::nullopt};
};

}  // namespace custody::directory::testing
