// The authorization server against a real custodyd (docs/oauth.md): discovery, client
// authentication, client_credentials, token exchange through two hops, the delegation bounds
// (each refusal asserted with its error code and bound), introspection, revocation of a
// delegation subtree, trace, key rotation, and the audit events of all of it.
#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "crypto/jwk.h"
#include "crypto/jws.h"
#include "oauth_fixture.h"

namespace custody::apitest {
namespace {

class OAuthTest : public OAuthFixture {};

TEST_F(OAuthTest, DiscoveryNamesEveryEndpointGrantAndMethod) {
  Client anonymous(server().port());
  for (std::string path :
       {"/.well-known/openid-configuration", "/.well-known/oauth-authorization-server"}) {
    Response r = anonymous.get(path);
    ASSERT_EQ(r.status, 200) << r.describe();
    json m = r.json();
    EXPECT_EQ(m["issuer"], server().url());
    EXPECT_EQ(m["token_endpoint"], server().url() + "/oauth2/token");
    EXPECT_EQ(m["jwks_uri"], server().url() + "/.well-known/jwks.json");
    EXPECT_EQ(m["introspection_endpoint"], server().url() + "/oauth2/introspect");
    EXPECT_EQ(m["revocation_endpoint"], server().url() + "/oauth2/revoke");
    EXPECT_EQ(m["grant_types_supported"],
              json({"client_credentials", "urn:ietf:params:oauth:grant-type:token-exchange",
                    "urn:openid:params:grant-type:ciba", "authorization_code"}));
    EXPECT_EQ(m["backchannel_authentication_endpoint"], server().url() + "/oauth2/bc-authorize");
    EXPECT_EQ(m["token_endpoint_auth_methods_supported"],
              json({"client_secret_basic", "client_secret_post", "private_key_jwt", "none"}));
    EXPECT_EQ(m["dpop_signing_alg_values_supported"], json({"ES256", "EdDSA", "Ed25519", "RS256"}));
  }
  Response jwks = anonymous.get("/.well-known/jwks.json");
  ASSERT_EQ(jwks.status, 200);
  // The current key and the upcoming one, public halves only.
  ASSERT_GE(jwks.json()["keys"].size(), 2u);
  json published = jwks.json();
  for (const auto& k : published["keys"]) {
    EXPECT_FALSE(k.contains("d")) << "private key material published";
    EXPECT_EQ(k["alg"], "ES256");
  }
}

TEST_F(OAuthTest, ClientCredentialsIssuesARecordedAuditedJwtAccessToken) {
  Agent a = agent("cc-a"), b = agent("cc-b");
  entitle(a, "read", b.id);
  entitle(a, "write", b.id);
  Response r = client_credentials(a, b.id);
  ASSERT_EQ(r.status, 200) << r.describe();
  EXPECT_EQ(r.header("Cache-Control"), "no-store");
  json body = r.json();
  EXPECT_EQ(body["token_type"], "Bearer");
  EXPECT_EQ(body["scope"], "read write");
  EXPECT_EQ(body["expires_in"], 600);
  std::string token = body["access_token"];
  auto header = json::parse(*base64url_decode(token.substr(0, token.find('.'))));
  EXPECT_EQ(header["typ"], "at+jwt");
  EXPECT_EQ(header["alg"], "ES256");
  json c = claims_of(token);
  EXPECT_EQ(c["iss"], server().url());
  EXPECT_EQ(c["sub"], a.id);
  EXPECT_EQ(c["client_id"], a.id);
  EXPECT_EQ(c["aud"], b.id);
  EXPECT_EQ(c["scope"], "read write");
  EXPECT_FALSE(c.contains("act"));
  std::string jti = c["jti"];
  EXPECT_EQ(c["custody"]["delegation_id"], jti);
  EXPECT_EQ(c["custody"]["depth"], 0);

  Response record = admin().get("/api/v1/delegations/" + jti);
  ASSERT_EQ(record.status, 200) << record.describe();
  EXPECT_EQ(record.json()["subject"], a.id);
  EXPECT_EQ(record.json()["grant_type"], "client_credentials");
  EXPECT_EQ(record.json()["revoked"], false);
  auto events = audit_events(admin(), "target=" + jti + "&action=oauth.token");
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0]["actor"], a.id);
  EXPECT_EQ(events[0]["outcome"], "success");
  EXPECT_EQ(events[0]["details"]["client_auth"], "client_secret_basic");

  // client_secret_post works the same.
  Client plain(server().port());
  Response post = plain.request_raw("POST", "/oauth2/token",
                                    form({{"grant_type", "client_credentials"},
                                          {"client_id", a.id},
                                          {"client_secret", a.secret},
                                          {"scope", "read"}}),
                                    {{"Content-Type", "application/x-www-form-urlencoded"}});
  ASSERT_EQ(post.status, 200) << post.describe();
  EXPECT_EQ(post.json()["scope"], "read");
}

TEST_F(OAuthTest, WrongSecretIsInvalidClientWithABasicChallenge) {
  Agent a = agent("wrong-secret");
  Agent forged{a.id, "cs_not-the-secret"};
  Response r = client_credentials(forged, "");
  EXPECT_TRUE(Refused(r, 401, "invalid_client", "", "invalid client credentials"));
  EXPECT_EQ(r.header("WWW-Authenticate"), "Basic realm=\"custody\"");
}

TEST_F(OAuthTest, ScopesMustBeCoveredByEntitlementsInForce) {
  Agent a = agent("ent-a"), b = agent("ent-b");
  entitle(a, "read", b.id);
  EXPECT_TRUE(Refused(client_credentials(a, b.id, "read admin"), 400, "invalid_scope",
                      "entitlement", "not entitled to scope \"admin\""));
  Agent none = agent("ent-none");
  EXPECT_TRUE(Refused(client_credentials(none, ""), 400, "invalid_scope", "entitlement",
                      "no entitlement in force"));
}

TEST_F(OAuthTest, SuspendedClientAndRetiredOwnerGetNoToken) {
  Agent a = agent("susp-a"), b = agent("susp-b");
  entitle(a, "read", b.id);
  ASSERT_EQ(admin().post("/api/v1/identities/" + a.id + "/suspend", json::object()).status, 200);
  EXPECT_TRUE(Refused(client_credentials(a, b.id), 401, "invalid_client", "client", "suspended"));

  // A second owner whose retirement (which suspends what it owns) leaves its agent tokenless.
  std::string owner2 = create_human(admin())["id"];
  Agent c;
  c.id = create_agent(admin(), owner2, "orphan")["id"];
  activate(c.id);
  c.secret =
      admin()
          .post("/api/v1/identities/" + c.id + "/credentials", json{{"type", "client_secret"}})
          .json()["secret"];
  entitle(c, "read", b.id);
  ASSERT_EQ(client_credentials(c, b.id).status, 200);
  ASSERT_EQ(admin().post("/api/v1/identities/" + owner2 + "/retire", json::object()).status, 200);
  EXPECT_TRUE(Refused(client_credentials(c, b.id), 401, "invalid_client", "", "suspended"));
}

TEST_F(OAuthTest, EveryDirectoryChangeCountsFromTheVeryNextTokenRequest) {
  // Token requests read the client's rows through the store's cache (docs/architecture.md); each
  // change below must refuse the request that follows it, with its reason.
  Agent a = agent("cache-a"), b = agent("cache-b");
  Response granted =
      admin().post("/api/v1/identities/" + a.id + "/entitlements",
                   json{{"scope", "read"}, {"resource", b.id}, {"justification", "cache test"}});
  ASSERT_EQ(granted.status, 201) << granted.describe();
  for (int i = 0; i < 3; ++i) ASSERT_EQ(client_credentials(a, b.id, "read").status, 200);

  ASSERT_EQ(admin().del("/api/v1/entitlements/" + granted.json()["id"].get<std::string>()).status,
            200);
  EXPECT_TRUE(Refused(client_credentials(a, b.id, "read"), 400, "invalid_scope", "entitlement",
                      "not entitled to scope \"read\""));
  entitle(a, "read", b.id);
  ASSERT_EQ(client_credentials(a, b.id, "read").status, 200);

  // Its only secret revoked; a new one works at once.
  Response creds = admin().get("/api/v1/identities/" + a.id + "/credentials");
  ASSERT_EQ(creds.status, 200) << creds.describe();
  const json listed = creds.json();
  ASSERT_EQ(listed["items"].size(), 1u) << creds.describe();
  for (const auto& c : listed["items"])
    ASSERT_EQ(admin().del("/api/v1/credentials/" + c["id"].get<std::string>()).status, 200);
  EXPECT_TRUE(Refused(client_credentials(a, b.id, "read"), 401, "invalid_client", "",
                      "invalid client credentials"));
  Response fresh =
      admin().post("/api/v1/identities/" + a.id + "/credentials", json{{"type", "client_secret"}});
  ASSERT_EQ(fresh.status, 201) << fresh.describe();
  a.secret = fresh.json()["secret"];
  ASSERT_EQ(client_credentials(a, b.id, "read").status, 200);

  // The client suspended.
  ASSERT_EQ(admin().post("/api/v1/identities/" + a.id + "/suspend", json::object()).status, 200);
  EXPECT_TRUE(
      Refused(client_credentials(a, b.id, "read"), 401, "invalid_client", "client", "suspended"));
}

TEST_F(OAuthTest, TwoHopExchangeNestsActTracesAndRevokesTheSubtree) {
  Agent a = agent("hop-a"), b = agent("hop-b"), c = agent("hop-c");
  entitle(a, "read", b.id);
  entitle(a, "write", b.id);
  entitle(b, "read", c.id);
  entitle(c, "read", "https://api.example.com");

  Response t0 = client_credentials(a, b.id);
  ASSERT_EQ(t0.status, 200) << t0.describe();
  Response t1 = exchange(b, token_of(t0), {{"audience", c.id}, {"scope", "read"}});
  ASSERT_EQ(t1.status, 200) << t1.describe();
  EXPECT_EQ(t1.json()["issued_token_type"], kAccessToken);
  Response t2 = exchange(c, token_of(t1), {{"resource", "https://api.example.com"}});
  ASSERT_EQ(t2.status, 200) << t2.describe();

  json c2 = claims_of(token_of(t2));
  EXPECT_EQ(c2["sub"], a.id) << "sub stays the initiating identity";
  EXPECT_EQ(c2["act"], json({{"sub", c.id}, {"act", {{"sub", b.id}}}}));
  EXPECT_EQ(c2["client_id"], c.id);
  EXPECT_EQ(c2["scope"], "read");
  EXPECT_EQ(c2["aud"], "https://api.example.com");
  EXPECT_EQ(c2["custody"]["depth"], 2);
  EXPECT_LE(c2["exp"].get<std::int64_t>(), claims_of(token_of(t0))["exp"].get<std::int64_t>());

  // The trace of the last token: root first, each hop's actor, client and scopes.
  Response trace = admin().get("/api/v1/trace?token=" + token_of(t2));
  ASSERT_EQ(trace.status, 200) << trace.describe();
  json chain = trace.json()["chain"];
  ASSERT_EQ(chain.size(), 3u);
  EXPECT_EQ(trace.json()["initiator"]["subject"], a.id);
  EXPECT_EQ(chain[0]["acting"], a.id);
  EXPECT_EQ(chain[1]["acting"], b.id);
  EXPECT_EQ(chain[1]["scopes"], json({"read"}));
  EXPECT_EQ(chain[2]["acting"], c.id);
  EXPECT_EQ(chain[2]["client_id"], c.id);
  std::string root = claims_of(token_of(t0))["jti"];
  Response down = admin().get("/api/v1/trace?jti=" + root);
  EXPECT_EQ(down.json()["downstream"].size(), 2u);
  // Every hop's audit event is attributed to the chain's initiator and its delegation record.
  auto issued = audit_events(admin(), "chain_root=" + a.id + "&action=oauth.token");
  ASSERT_EQ(issued.size(), 3u);
  for (const auto& e : issued) EXPECT_EQ(e["delegation_id"], e["target"]) << e.dump();
  // The trace of an audit event is the trace of its delegation.
  Response by_event = admin().get("/api/v1/trace?event=" + issued[0]["seq"].dump());
  ASSERT_EQ(by_event.status, 200) << by_event.describe();
  EXPECT_EQ(by_event.json()["delegation_id"], issued[0]["delegation_id"]);
  EXPECT_TRUE(IsProblem(admin().get("/api/v1/trace?event=0"), 400, "invalid_argument", "event"));

  // Introspection by a resource server, before and after the first hop is revoked.
  Agent rs = agent("hop-rs");
  entitle(rs, "custody:introspect", "custody");
  Response live = post_form("/oauth2/introspect", rs, {{"token", token_of(t2)}});
  ASSERT_EQ(live.status, 200) << live.describe();
  EXPECT_EQ(live.json()["active"], true);
  EXPECT_EQ(live.json()["sub"], a.id);

  Response revoked = post_form("/oauth2/revoke", a, {{"token", token_of(t0)}});
  EXPECT_EQ(revoked.status, 200) << revoked.describe();
  for (const auto* t : {&t0, &t1, &t2}) {
    Response dead = post_form("/oauth2/introspect", rs, {{"token", token_of(*t)}});
    EXPECT_EQ(dead.json(), json({{"active", false}})) << dead.describe();
  }
  auto events = audit_events(admin(), "target=" + root + "&action=oauth.revoke");
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0]["details"]["revoked_count"], 3);

  // Nothing derives from a revoked token any more.
  EXPECT_TRUE(Refused(exchange(c, token_of(t1)), 400, "invalid_request", "revoked", "revoked"));
}

TEST_F(OAuthTest, ExchangeBoundsRefuseWideningStrangersAndMayActViolations) {
  Agent a = agent("bound-a"), b = agent("bound-b"), x = agent("bound-x");
  entitle(a, "read", b.id);
  Response t0 = client_credentials(a, b.id);
  ASSERT_EQ(t0.status, 200);
  EXPECT_TRUE(Refused(exchange(b, token_of(t0), {{"scope", "read write"}}), 400, "invalid_scope",
                      "scope", "scope \"write\" is not in the subject token"));
  EXPECT_TRUE(Refused(exchange(x, token_of(t0)), 400, "invalid_request", "audience",
                      "is not an audience of the subject token"));
  EXPECT_TRUE(Refused(exchange(b, token_of(t0), {{"audience", "https://elsewhere.example"}}), 400,
                      "invalid_target", "audience", "new audience refused"));

  // may_act names the only identity that may exchange the token next.
  Response named =
      post_form("/oauth2/token", a, {{"grant_type", "client_credentials"}, {"may_act", x.id}});
  ASSERT_EQ(named.status, 200) << named.describe();
  EXPECT_EQ(claims_of(token_of(named))["may_act"], json({{"sub", x.id}}));
  EXPECT_TRUE(
      Refused(exchange(b, token_of(named)), 400, "invalid_request", "may_act", "may_act names"));
  EXPECT_EQ(exchange(x, token_of(named)).status, 200);

  // A suspended actor cannot authenticate to exchange.
  ASSERT_EQ(admin().post("/api/v1/identities/" + b.id + "/suspend", json::object()).status, 200);
  EXPECT_TRUE(Refused(exchange(b, token_of(t0)), 401, "invalid_client", "client", "suspended"));
}

TEST_F(OAuthTest, IntrospectionTellsOnlyPartiesToTheToken) {
  Agent a = agent("intro-a"), b = agent("intro-b"), stranger = agent("intro-x");
  entitle(a, "read", b.id);
  std::string token = token_of(client_credentials(a, b.id));
  EXPECT_EQ(post_form("/oauth2/introspect", b, {{"token", token}}).json()["active"], true)
      << "the audience";
  EXPECT_EQ(post_form("/oauth2/introspect", a, {{"token", token}}).json()["active"], true)
      << "the client";
  Response r = post_form("/oauth2/introspect", stranger, {{"token", token}});
  EXPECT_EQ(r.json(), json({{"active", false}}));
  auto event = find_audit_event(admin(), r, "success", "oauth.introspect");
  ASSERT_TRUE(event);
  EXPECT_NE((*event)["details"].value("reason", "").find("not a party"), std::string::npos);
  entitle(stranger, "custody:introspect", "custody");
  EXPECT_EQ(post_form("/oauth2/introspect", stranger, {{"token", token}}).json()["active"], true)
      << "a resource server entitled to introspect";
}

TEST_F(OAuthTest, AnActorTokenMustBeMeantForTheClientPresentingIt) {
  Agent a = agent("act-a"), b = agent("act-b"), c = agent("act-c");
  entitle(a, "read", b.id);
  entitle(b, "read", c.id);
  entitle(b, "read", "https://api.example.com");
  // A's token for B; B lets C act for it with a token meant for C.
  std::string subject = token_of(client_credentials(a, b.id));
  std::string for_c = token_of(client_credentials(b, c.id));
  std::string for_api = token_of(client_credentials(b, "https://api.example.com"));
  std::vector<std::pair<std::string, std::string>> with_actor = {
      {"actor_token", for_c}, {"actor_token_type", std::string(kAccessToken)}};
  Response ok = exchange(c, subject, with_actor);
  ASSERT_EQ(ok.status, 200) << ok.describe();
  EXPECT_EQ(claims_of(token_of(ok))["act"], json({{"sub", b.id}}));
  // Withdrawing the consent (revoking the actor token) kills what was made with it.
  Response rec =
      admin().get("/api/v1/delegations/" + claims_of(token_of(ok))["jti"].get<std::string>());
  EXPECT_EQ(rec.json()["actor_delegation_id"], claims_of(for_c)["jti"]);
  ASSERT_EQ(post_form("/oauth2/revoke", b, {{"token", for_c}}).status, 200);
  EXPECT_EQ(post_form("/oauth2/introspect", c, {{"token", token_of(ok)}}).json(),
            json({{"active", false}}));
  EXPECT_TRUE(
      Refused(exchange(c, subject,
                       {{"actor_token", for_api}, {"actor_token_type", std::string(kAccessToken)}}),
              400, "invalid_request", "actor", "actor_token is not meant for client"));
}

TEST_F(OAuthTest, BadRequestsGetOAuthErrorsNotProblems) {
  Agent a = agent("bad-a");
  Client plain(server().port());
  Response json_body =
      plain.request_raw("POST", "/oauth2/token", "{}", {{"Content-Type", "application/json"}});
  EXPECT_EQ(json_body.status, 400);
  EXPECT_EQ(json_body.json()["error"], "invalid_request");
  EXPECT_TRUE(
      Refused(post_form("/oauth2/token", a,
                        {{"grant_type", "client_credentials"}, {"scope", "a"}, {"scope", "b"}}),
              400, "invalid_request", "", "included more than once"));
  EXPECT_TRUE(Refused(post_form("/oauth2/token", a, {{"grant_type", "password"}}), 400,
                      "unsupported_grant_type", "", "not supported"));
  EXPECT_TRUE(Refused(exchange(a, "not.a.token"), 400, "invalid_request", "subject",
                      "subject_token refused"));
}

TEST_F(OAuthTest, RotationActivatesThePrePublishedKey) {
  Agent a = agent("rot-a"), b = agent("rot-b");
  entitle(a, "read", b.id);
  Response before = admin().get("/api/v1/keys");
  ASSERT_EQ(before.status, 200) << before.describe();
  std::string upcoming;
  json keys = before.json();
  for (const auto& k : keys["items"])
    if (k["status"] == "upcoming") upcoming = k["kid"];
  ASSERT_FALSE(upcoming.empty()) << before.describe();
  Response old_token = client_credentials(a, b.id);

  Response rotated = admin().request("POST", "/api/v1/keys/rotate");
  ASSERT_EQ(rotated.status, 200) << rotated.describe();
  Response new_token = client_credentials(a, b.id);
  std::string t = token_of(new_token);
  auto header = json::parse(*base64url_decode(t.substr(0, t.find('.'))));
  EXPECT_EQ(header["kid"], upcoming) << "the key published ahead now signs";
  // Both tokens still introspect as active: the old key stays published.
  Agent rs = agent("rot-rs");
  entitle(rs, "custody:introspect", "custody");
  EXPECT_EQ(post_form("/oauth2/introspect", rs, {{"token", token_of(old_token)}}).json()["active"],
            true);
  EXPECT_EQ(post_form("/oauth2/introspect", rs, {{"token", t}}).json()["active"], true);
  EXPECT_EQ(audit_events(admin(), "action=keys.rotate&target=" + upcoming).size(), 1u);
}

// /metrics tells where a token's time went (docs/api.md, "Metrics"): its write waited in the
// group-commit queue, was committed, and its answer, made on the writer thread, waited for the
// connection's io thread. Each histogram counts the token and its +Inf bucket equals its count.
TEST_F(OAuthTest, MetricsShowTheTokensWaitCommitAndAnswerWait) {
  Agent a = agent("stages-a"), b = agent("stages-b");
  entitle(a, "read", b.id);
  Client anonymous(server().port());
  const std::vector<std::string> histograms = {"custody_store_write_wait_seconds",
                                               "custody_store_commit_duration_seconds",
                                               "custody_http_answer_wait_seconds"};
  const std::string before = anonymous.get("/metrics").body;
  Response r = client_credentials(a, b.id, "read");
  ASSERT_EQ(r.status, 200) << r.describe();
  const std::string after = anonymous.get("/metrics").body;
  for (const auto& h : histograms) {
    const double count = metric_value(after, h + "_count");
    EXPECT_GE(count, metric_value(before, h + "_count") + 1) << h << "\n" << after;
    EXPECT_EQ(metric_value(after, h + "_bucket{le=\"+Inf\"}"), count) << h;
    EXPECT_GT(metric_value(after, h + "_sum"), 0) << h;
  }
}

// ES256 signatures take a precomputed nonce once the filler has made some (docs/oauth.md,
// "Signing keys"): the token still verifies against the published JWKS, and the metrics say
// which way it was signed.
TEST_F(OAuthTest, TokensAreSignedWithPrecomputedNoncesAndVerify) {
  Agent a = agent("presign-a"), b = agent("presign-b");
  entitle(a, "read", b.id);
  Client anonymous(server().port());
  const std::string ready = "custody_es256_presigned_ready";
  const std::string precomputed = R"(custody_es256_signatures_total{nonce="precomputed"})";
  // The filler runs only on idle cores: give a busy test machine time.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  std::string before;
  do {
    before = anonymous.get("/metrics").body;
    if (metric_value(before, ready) > 0) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  } while (std::chrono::steady_clock::now() < deadline);
  ASSERT_GT(metric_value(before, ready), 0) << before;

  Response r = client_credentials(a, b.id, "read");
  ASSERT_EQ(r.status, 200) << r.describe();
  std::string after = anonymous.get("/metrics").body;
  EXPECT_EQ(metric_value(after, precomputed), metric_value(before, precomputed) + 1) << after;

  Response jwks = anonymous.get("/.well-known/jwks.json");
  ASSERT_EQ(jwks.status, 200);
  auto keys = crypto::JwkSet::parse(jwks.json());
  ASSERT_TRUE(keys.ok());
  crypto::VerifyPolicy policy;
  policy.algorithms = {crypto::Alg::kES256};
  std::string token = r.json()["access_token"];
  auto verified = crypto::jws_verify(token, *keys, policy);
  ASSERT_TRUE(verified.ok()) << verified.error().message;
  // One bit of the signature changed: refused.
  std::string tampered = token;
  char& last = tampered[tampered.size() - 2];
  last = last == 'A' ? 'B' : 'A';
  auto refused = crypto::jws_verify(tampered, *keys, policy);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().message, "signature verification failed");
}

}  // namespace
}  // namespace custody::apitest
