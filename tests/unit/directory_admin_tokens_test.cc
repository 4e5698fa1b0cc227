// Admin tokens: creation rules, authentication (one answer for every failure), revocation,
// expiry, owners whose human is offboarded, admin-only management and events.
#include <gtest/gtest.h>

#include "directory/admin_tokens.h"
#include "directory/json.h"
#include "directory_fixture.h"

namespace custody::directory {
namespace {

using testing::DirectoryTest;

class AdminTokensTest : public DirectoryTest {
 protected:
  static NewAdminToken spec(Role role, std::optional<std::string> identity_id = std::nullopt) {
    NewAdminToken t;
    t.role = role;
    t.identity_id = std::move(identity_id);
    return t;
  }
  using DirectoryTest::spec;
  Result<CreatedAdminToken> make(const Principal& who, const NewAdminToken& input) {
    return write([&](store::Tx& tx) { return create_admin_token(tx, ctx(who), input, hasher_); });
  }
  Result<Principal> authenticate(const std::string& value) {
    return read(
        [&](store::Tx& tx) { return authenticate_admin_token(tx, value, hasher_, clock_.now()); });
  }
  Result<AdminToken> revoke(const Principal& who, const std::string& id) {
    return write([&](store::Tx& tx) { return revoke_admin_token(tx, ctx(who), id); });
  }
  static void expect_refused(const Result<Principal>& r) {
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, Code::kUnauthenticated);
    EXPECT_EQ(r.error().message, "invalid or expired token");
  }

  crypto::SecretHasher hasher_{"test server secret"};
  Principal system_ = system_principal();
};

CUSTODY_ON_BOTH_BACKENDS(AdminTokensTest);

TEST_P(AdminTokensTest, CreatesAndAuthenticatesEachRole) {
  Identity h = human();
  auto admin = make(system_, spec(Role::kAdmin));
  ASSERT_TRUE(admin.ok()) << admin.error().message;
  EXPECT_TRUE(admin->value.starts_with("cst_"));
  EXPECT_GE(admin->value.size(), 4u + 43u);
  EXPECT_TRUE(admin->token.id.starts_with("tok_"));
  EXPECT_EQ(admin->token.created_by, "system");

  auto p = authenticate(admin->value);
  ASSERT_TRUE(p.ok()) << p.error().message;
  EXPECT_EQ(p->token_id, admin->token.id);
  EXPECT_EQ(p->role, Role::kAdmin);
  EXPECT_FALSE(p->human_id);

  auto auditor = make(admin_, spec(Role::kAuditor));
  ASSERT_TRUE(auditor.ok());
  EXPECT_EQ(authenticate(auditor->value)->role, Role::kAuditor);

  auto owner = make(admin_, spec(Role::kOwner, h.id));
  ASSERT_TRUE(owner.ok()) << owner.error().message;
  auto op = authenticate(owner->value);
  ASSERT_TRUE(op.ok());
  EXPECT_EQ(op->role, Role::kOwner);
  EXPECT_EQ(op->human_id, h.id);
  EXPECT_EQ(op->actor(), h.id);

  auto evs = events_for(owner->token.id);
  ASSERT_EQ(evs.size(), 1u);
  EXPECT_EQ(evs[0].action, "token.create");
  EXPECT_EQ(evs[0].actor, "tok_admin");
  EXPECT_EQ(evs[0].details["role"], "owner");
  EXPECT_EQ(evs[0].details["identity_id"], h.id);
  EXPECT_EQ(evs[0].details.dump().find(owner->value), std::string::npos);
  EXPECT_EQ(evs[0].details.dump().find(hasher_.hash_hex(owner->value)), std::string::npos);
}

TEST_P(AdminTokensTest, RefusesUnknownRevokedAndExpiredTokensAlike) {
  expect_refused(authenticate("cst_unknown"));
  expect_refused(authenticate(""));
  expect_refused(authenticate(std::string(1000, 'x')));

  auto revoked = make(admin_, spec(Role::kAdmin)).value();
  ASSERT_TRUE(authenticate(revoked.value).ok());
  auto r = revoke(admin_, revoked.token.id);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->revoked_at, clock_.now());
  expect_refused(authenticate(revoked.value));
  auto again = revoke(admin_, revoked.token.id);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(events_for(revoked.token.id).size(), 2u);  // create + one revoke
  EXPECT_EQ(events_for(revoked.token.id)[0].action, "token.revoke");

  NewAdminToken ttl = spec(Role::kAuditor);
  ttl.ttl_seconds = 60;
  auto expiring = make(admin_, ttl).value();
  EXPECT_EQ(expiring.token.expires_at, testing::kT0 + 60 * kMicrosPerSecond);
  clock_.advance(60 * kMicrosPerSecond - 1);
  EXPECT_TRUE(authenticate(expiring.value).ok());
  clock_.advance(1);
  expect_refused(authenticate(expiring.value));
}

TEST_P(AdminTokensTest, OwnerTokenStopsWorkingWhenItsHumanIsOffboarded) {
  Identity h = human();
  auto owner = make(admin_, spec(Role::kOwner, h.id)).value();
  ASSERT_TRUE(authenticate(owner.value).ok());
  ASSERT_TRUE(move(admin_, h.id, State::kSuspended).ok());
  expect_refused(authenticate(owner.value));
  ASSERT_TRUE(move(admin_, h.id, State::kActive).ok());
  EXPECT_TRUE(authenticate(owner.value).ok());
  ASSERT_TRUE(move(admin_, h.id, State::kRetired).ok());
  expect_refused(authenticate(owner.value));
}

TEST_P(AdminTokensTest, ValidatesInput) {
  Identity h = human();
  Identity a = agent(h.id);
  Identity pending = create(admin_, spec(Kind::kHuman, "p", std::nullopt, State::kPending)).value();

  auto no_human = make(admin_, spec(Role::kOwner));
  EXPECT_EQ(no_human.error().code, Code::kInvalidArgument);
  EXPECT_EQ(no_human.error().field, "identity_id");
  for (const std::string& id : {a.id, pending.id, std::string("usr_01JDQ3V6S7K2W8C0M4N5P6R7T8")}) {
    auto r = make(admin_, spec(Role::kOwner, id));
    ASSERT_FALSE(r.ok()) << id;
    EXPECT_EQ(r.error().code, Code::kUnprocessable) << id;
    EXPECT_EQ(r.error().field, "identity_id");
  }
  auto admin_bound = make(admin_, spec(Role::kAdmin, h.id));
  EXPECT_EQ(admin_bound.error().code, Code::kInvalidArgument);
  EXPECT_EQ(admin_bound.error().field, "identity_id");

  NewAdminToken ttl = spec(Role::kAdmin);
  ttl.ttl_seconds = 0;
  EXPECT_EQ(make(admin_, ttl).error().field, "ttl_seconds");

  NewAdminToken short_value = spec(Role::kAdmin);
  short_value.token_value = std::string(31, 'x');
  EXPECT_EQ(make(admin_, short_value).error().code, Code::kInvalidArgument);
  EXPECT_EQ(make(admin_, short_value).error().field, "token_value");
  short_value.token_value = std::string(31, 'x') + " ";
  EXPECT_EQ(make(admin_, short_value).error().field, "token_value");
}

TEST_P(AdminTokensTest, BootstrapValueIsUsedAsGiven) {
  NewAdminToken boot = spec(Role::kAdmin);
  boot.token_value = "bootstrap-token-of-at-least-32-chars!";
  auto r = make(system_, boot);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->value, *boot.token_value);
  EXPECT_EQ(authenticate(*boot.token_value)->token_id, r->token.id);
  EXPECT_EQ(events_for(r->token.id)[0].actor, "system");
  // The same value twice would make two tokens indistinguishable.
  EXPECT_EQ(make(system_, boot).error().code, Code::kConflict);
  EXPECT_EQ(read([&](store::Tx& tx) { return count_admin_tokens(tx); }).value(), 1);
}

TEST_P(AdminTokensTest, OnlyAdminsManageTokens) {
  Identity h = human();
  const Principal owner = owner_of(h);
  auto target = make(admin_, spec(Role::kAuditor)).value();

  auto by_auditor = make(auditor_, spec(Role::kAdmin));
  EXPECT_EQ(by_auditor.error().code, Code::kPermissionDenied);
  EXPECT_EQ(by_auditor.error().message, "auditor tokens are read-only");
  EXPECT_EQ(make(owner, spec(Role::kAdmin)).error().code, Code::kPermissionDenied);
  EXPECT_EQ(make(owner, spec(Role::kOwner, h.id)).error().code, Code::kPermissionDenied);
  EXPECT_EQ(revoke(owner, target.token.id).error().code, Code::kPermissionDenied);
  EXPECT_EQ(revoke(auditor_, target.token.id).error().code, Code::kPermissionDenied);
  for (const Principal* who : {static_cast<const Principal*>(&auditor_), &owner}) {
    auto l = read([&](store::Tx& tx) { return list_admin_tokens(tx, ctx(*who)); });
    EXPECT_EQ(l.error().code, Code::kPermissionDenied);
  }
  EXPECT_EQ(revoke(admin_, "tok_01JDQ3V6S7K2W8C0M4N5P6R7T8").error().code, Code::kNotFound);
}

TEST_P(AdminTokensTest, ListAndJsonNeverShowTheValueOrHash) {
  Identity h = human();
  auto a = make(admin_, spec(Role::kAdmin)).value();
  clock_.advance(1000);
  auto o = make(admin_, spec(Role::kOwner, h.id)).value();
  auto l = read([&](store::Tx& tx) { return list_admin_tokens(tx, ctx(system_)); });
  ASSERT_TRUE(l.ok()) << l.error().message;
  ASSERT_EQ(l->size(), 2u);
  EXPECT_EQ((*l)[0].id, o.token.id);  // newest first
  EXPECT_EQ((*l)[1].id, a.token.id);
  for (const auto& t : *l) {
    const std::string shown = to_json(t).dump();
    EXPECT_EQ(shown.find(a.value), std::string::npos);
    EXPECT_EQ(shown.find(o.value), std::string::npos);
    EXPECT_EQ(shown.find(hasher_.hash_hex(a.value)), std::string::npos);
    EXPECT_EQ(shown.find("hash"), std::string::npos);
  }
  auto j = to_json((*l)[0]);
  EXPECT_EQ(j["role"], "owner");
  EXPECT_EQ(j["identity_id"], h.id);
  EXPECT_TRUE(j["expires_at"].is_null());
  EXPECT_TRUE(j["revoked_at"].is_null());
  EXPECT_TRUE(to_json((*l)[1])["identity_id"].is_null());
  EXPECT_EQ(read([&](store::Tx& tx) { return count_admin_tokens(tx); }).value(), 2);
}

}  // namespace
}  // namespace custody::directory
