// Bounded delegation and continuous revocation (issue 6) on an embedded SQLite store:
//   BM_RevokeSubtree10k   revoking a delegation subtree of 10,001 records (a root, 100 children,
//                         99 grandchildren each) in one write; target < 100 ms.
//   BM_AuthorizeIssuance  the policy decision a token exchange adds (issuance_policy.h) with the
//                         default policies: reads the actor, the delegator and their owners, and
//                         the initiator's entitlements, then decides; compare with the whole
//                         exchange (~170 µs of CPU per token in bench/load/token_load.sh): the
//                         target is that the policy-checked exchange keeps ≥ 80 % of the plain
//                         one's throughput, i.e. this costs ≤ 25 % of a plain exchange.
//   BM_Exchange/0, /1     the token endpoint's work for one token exchange, side by side without
//                         (0, "plain") and with (1) the policy decision: client authentication
//                         (client_secret_basic), the grant (the subject token's signature and
//                         chain checks, entitlements), [the decision,] signing the new token.
//                         HTTP and the group commit are the same for both and left out, so the
//                         ratio of the two is a lower bound of the server's.
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <filesystem>
#include <stdexcept>

#include "common/encoding.h"
#include "common/ids.h"
#include "crypto/jwt.h"
#include "delegation/record.h"
#include "directory/credentials.h"
#include "directory/entitlements.h"
#include "directory/identities.h"
#include "oauth/grants.h"
#include "oauth/issuance_policy.h"
#include "policy/defaults.h"
#include "policy/pdp.h"
#include "store/store.h"
#include "temp_dir.h"

namespace custody {
namespace {

namespace fs = std::filesystem;

std::unique_ptr<store::Store> open_store(const fs::path& dir) {
  store::StoreOptions o;
  o.url = "sqlite:" + (dir / "bench.db").string();
  auto r = store::open_store(o);
  if (!r.ok()) throw std::runtime_error(r.error().message);
  return std::move(r).value();
}

void must(Status s) {
  if (!s.ok()) throw std::runtime_error(s.error().message);
}

delegation::Record record(const std::string& id, const std::string& parent, const std::string& root,
                          Micros now) {
  delegation::Record r;
  r.id = id;
  if (!parent.empty()) r.parent_id = parent;
  r.root_id = root;
  r.subject = "agt_01BENCH0000000000000000000";
  r.subject_issuer = "http://bench";
  r.client_id = "agt_01BENCH0000000000000000000";
  r.audience = {"https://api.example.com"};
  r.scopes = {"read"};
  r.depth = parent.empty() ? 0 : 1;
  r.grant_type = "client_credentials";
  r.issued_at = now;
  r.expires_at = now + 3600 * kMicrosPerSecond;
  return r;
}

void BM_RevokeSubtree10k(benchmark::State& state) {
  bench::TempDir dir("delegation-bench");
  auto store = open_store(dir.path());
  Micros now = 1'800'000'000LL * kMicrosPerSecond;
  std::size_t revoked = 0;
  for (auto _ : state) {
    state.PauseTiming();
    std::string root = new_id("dlg", now);
    must(store->write_sync([&](store::Tx& tx) -> Status {
      CUSTODY_TRY(delegation::insert_record(tx, record(root, "", root, now)));
      for (int i = 0; i < 100; ++i) {
        std::string child = new_id("dlg", now);
        CUSTODY_TRY(delegation::insert_record(tx, record(child, root, root, now)));
        for (int j = 0; j < 99; ++j)
          CUSTODY_TRY(delegation::insert_record(tx, record(new_id("dlg", now), child, root, now)));
      }
      return ok_status();
    }));
    state.ResumeTiming();
    must(store->write_sync([&](store::Tx& tx) -> Status {
      CUSTODY_ASSIGN(auto ids, delegation::revoke_subtree(tx, root, now, "bench", "bench"));
      revoked = ids.size();
      return ok_status();
    }));
  }
  if (revoked != 10'001) state.SkipWithError("the subtree was not revoked whole");
  state.counters["records"] = static_cast<double>(revoked);
}
BENCHMARK(BM_RevokeSubtree10k)->Unit(benchmark::kMillisecond)->Iterations(5)->UseRealTime();

void BM_AuthorizeIssuance(benchmark::State& state) {
  bench::TempDir dir("delegation-bench");
  auto store = open_store(dir.path());
  Micros now = 1'800'000'000LL * kMicrosPerSecond;
  auto admin = directory::system_principal();
  directory::OpContext ctx{admin, "bench", now};
  std::string human, a, b;
  must(store->write_sync([&](store::Tx& tx) -> Status {
    CUSTODY_TRY(policy::install_default_policies(tx, now));
    CUSTODY_ASSIGN(auto h,
                   directory::create_identity(
                       tx, ctx, {.kind = directory::Kind::kHuman, .display_name = "Owner"}));
    human = h.id;
    for (auto* out : {&a, &b}) {
      CUSTODY_ASSIGN(auto agent, directory::create_identity(tx, ctx,
                                                            {.kind = directory::Kind::kAgent,
                                                             .display_name = "agent",
                                                             .owner_id = human,
                                                             .state = directory::State::kActive}));
      *out = agent.id;
    }
    CUSTODY_TRY(directory::grant_entitlement(
        tx, ctx, a, {.scope = "read", .resource = b, .justification = "bench"}));
    return ok_status();
  }));
  policy::Pdp pdp{policy::PdpSettings{}};
  must(pdp.refresh(*store));

  oauth::Issuance issuance;
  auto& r = issuance.record;
  r.id = new_id("dlg", now);
  r.subject = a;
  r.actor = b;
  r.client_id = b;
  r.audience = {b};
  r.scopes = {"read"};
  r.depth = 1;
  r.grant_type = std::string(oauth::kGrantTokenExchange);
  r.expires_at = now + 600 * kMicrosPerSecond;
  issuance.act = {{"sub", b}};
  issuance.delegator = a;
  issuance.parent_scopes = {"read"};
  issuance.parent_audience = {b};
  // Inside one read, as in the token endpoint, where the grant's read transaction is reused.
  must(store->read([&](store::Tx& tx) -> Status {
    for (auto _ : state) {
      auto verdict = oauth::authorize_issuance(tx, pdp, issuance, now);
      if (!verdict.ok()) return Error::internal(verdict.error().description);
      benchmark::DoNotOptimize(verdict->policies.data());
    }
    return ok_status();
  }));
}
BENCHMARK(BM_AuthorizeIssuance)->Unit(benchmark::kMicrosecond);

void BM_Exchange(benchmark::State& state) {
  const bool policy_checked = state.range(0) == 1;
  bench::TempDir dir("delegation-bench");
  auto store = open_store(dir.path());
  Micros now = 1'800'000'000LL * kMicrosPerSecond;
  auto admin = directory::system_principal();
  directory::OpContext ctx{admin, "bench", now};
  crypto::SecretHasher hasher("bench-server-secret-0123456789abcdef");
  std::string a, b, secret_b;
  must(store->write_sync([&](store::Tx& tx) -> Status {
    CUSTODY_TRY(policy::install_default_policies(tx, now));
    CUSTODY_ASSIGN(auto h,
                   directory::create_identity(
                       tx, ctx, {.kind = directory::Kind::kHuman, .display_name = "Owner"}));
    for (auto* out : {&a, &b}) {
      CUSTODY_ASSIGN(auto agent, directory::create_identity(tx, ctx,
                                                            {.kind = directory::Kind::kAgent,
                                                             .display_name = "agent",
                                                             .owner_id = h.id,
                                                             .state = directory::State::kActive}));
      *out = agent.id;
    }
    for (const char* scope : {"read", "write"})
      CUSTODY_TRY(directory::grant_entitlement(
          tx, ctx, a, {.scope = scope, .resource = b, .justification = "bench"}));
    CUSTODY_ASSIGN(auto cred, directory::create_credential(tx, ctx, b, {}, hasher, {}));
    secret_b = *cred.secret;
    return ok_status();
  }));
  policy::Pdp pdp{policy::PdpSettings{}};
  must(pdp.refresh(*store));

  oauth::Settings settings;
  settings.issuer = "https://custody.example";
  auto key = crypto::Jwk::generate(crypto::KeyType::kEcP256, "k1").value();
  crypto::JwkSet keys = crypto::JwkSet::of({key}).value();
  // A's token for audience B, as client_credentials would have issued it (record included).
  delegation::Record parent;
  parent.id = new_id("dlg", now);
  parent.root_id = parent.id;
  parent.subject = a;
  parent.subject_issuer = settings.issuer;
  parent.client_id = a;
  parent.audience = {b};
  parent.scopes = {"read", "write"};
  parent.grant_type = "client_credentials";
  parent.issued_at = now;
  parent.expires_at = now + 3600 * kMicrosPerSecond;
  must(store->write_sync([&](store::Tx& tx) { return delegation::insert_record(tx, parent); }));
  std::string subject_token =
      crypto::jwt_sign(oauth::access_token_claims(parent, settings.issuer, nullptr, nullptr), key,
                       "at+jwt")
          .value();

  oauth::OAuthRequest req;
  req.url = settings.token_endpoint();
  req.authorization = "Basic " + base64_encode(b + ":" + secret_b);
  req.params = {{"grant_type", std::string(oauth::kGrantTokenExchange)},
                {"subject_token", subject_token},
                {"subject_token_type", std::string(oauth::kTokenTypeAccessToken)},
                {"scope", "read"}};
  // Verifies like the token endpoint does for a fresh token (no verified-token cache hit).
  oauth::TokenVerifier verify = [&](std::string_view token,
                                    std::string_view) -> oauth::OAuthResult<oauth::PresentedToken> {
    crypto::JwtPolicy p;
    p.issuer = settings.issuer;
    p.check_audience = false;
    p.types = {"at+jwt"};
    FixedClock clock(now);
    auto jwt = crypto::jwt_verify(token, keys, p, clock);
    if (!jwt.ok()) return oauth::OAuthError::invalid_request(jwt.error().message);
    auto presented = oauth::presented_token(jwt->claims);
    if (!presented.ok()) return oauth::OAuthError::invalid_request(presented.error().message);
    return std::move(presented).value();
  };
  std::optional<oauth::DpopProof> no_dpop;
  must(store->read([&](store::Tx& tx) -> Status {
    for (auto _ : state) {
      auto client = oauth::authenticate_client(tx, req, settings, hasher, keys, now);
      if (!client.ok()) return Error::internal(client.error().description);
      oauth::GrantInput in{req, *client, no_dpop, settings, now};
      auto issuance = oauth::grant_token_exchange(tx, in, verify);
      if (!issuance.ok()) return Error::internal(issuance.error().description);
      if (policy_checked) {
        auto verdict = oauth::authorize_issuance(tx, pdp, *issuance, now);
        if (!verdict.ok()) return Error::internal(verdict.error().description);
      }
      auto token = crypto::jwt_sign(oauth::access_token_claims(issuance->record, settings.issuer,
                                                               issuance->act, issuance->may_act),
                                    key, "at+jwt");
      benchmark::DoNotOptimize(token.value().data());
    }
    return ok_status();
  }));
  state.SetLabel(policy_checked ? "policy-checked" : "plain");
}
BENCHMARK(BM_Exchange)->Arg(0)->Arg(1)->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace custody

BENCHMARK_MAIN();
