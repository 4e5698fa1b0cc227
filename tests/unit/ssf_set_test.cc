// SETs as custody builds them (src/ssf/set.h): the claims custody puts in (iss, iat, jti, aud,
// txn, sub_id, events with exactly one event) and those it must never put in (sub, exp), the
// secevent+jwt header, CAEP event objects, and push endpoint URLs.
#include <gtest/gtest.h>

#include <algorithm>

#include "crypto/jws.h"
#include "crypto/jwt.h"
#include "net/url.h"
#include "ssf/set.h"

namespace custody::ssf {
namespace {

using nlohmann::json;

constexpr Micros kT0 = 1'800'000'000LL * kMicrosPerSecond;

SetClaims revoked() {
  SetClaims set;
  set.iss = "https://custody.example";
  set.aud = "https://receiver.example";
  set.jti = "set_1";
  set.iat = kT0 + 123'456;
  set.txn = "req-1";
  set.sub_id = {{"format", "opaque"}, {"id", "agt_1"}};
  set.event_uri = caep_uri("session-revoked");
  set.event = {{"initiating_entity", "admin"}};
  return set;
}

TEST(SsfSet, ClaimsHaveNoSubNoExpAndOneEvent) {
  json claims = set_claims(revoked());
  EXPECT_EQ(claims["iss"], "https://custody.example");
  EXPECT_EQ(claims["aud"], "https://receiver.example");
  EXPECT_EQ(claims["jti"], "set_1");
  EXPECT_EQ(claims["iat"], 1'800'000'000);  // NumericDate: whole seconds
  EXPECT_EQ(claims["txn"], "req-1");
  EXPECT_EQ(claims["sub_id"], json({{"format", "opaque"}, {"id", "agt_1"}}));
  EXPECT_FALSE(claims.contains("sub"));
  EXPECT_FALSE(claims.contains("exp"));
  ASSERT_TRUE(claims["events"].is_object());
  ASSERT_EQ(claims["events"].size(), 1u);
  EXPECT_EQ(claims["events"].begin().key(),
            "https://schemas.openid.net/secevent/caep/event-type/session-revoked");
  EXPECT_EQ(claims["events"].begin().value(), json({{"initiating_entity", "admin"}}));

  SetClaims no_txn = revoked();
  no_txn.txn.clear();
  EXPECT_FALSE(set_claims(no_txn).contains("txn"));
}

TEST(SsfSet, SignedWithTypSeceventJwtAndVerifiable) {
  auto key = crypto::Jwk::generate(crypto::KeyType::kEcP256, "k1");
  ASSERT_TRUE(key.ok());
  json claims = set_claims(revoked());
  auto jwt = sign_set(claims, *key);
  ASSERT_TRUE(jwt.ok()) << jwt.error().message;
  auto pub = crypto::Jwk::parse_public(key->public_json());
  ASSERT_TRUE(pub.ok());
  auto keys = crypto::JwkSet::of({*pub});
  ASSERT_TRUE(keys.ok());
  auto verified = crypto::jws_verify(*jwt, *keys);
  ASSERT_TRUE(verified.ok()) << verified.error().message;
  EXPECT_EQ(verified->header["typ"], "secevent+jwt");
  EXPECT_EQ(verified->header["kid"], "k1");
  EXPECT_EQ(verified->header["alg"], "ES256");
  EXPECT_EQ(json::parse(verified->payload), claims);
}

TEST(SsfSet, CaepEventObjects) {
  CaepEvent event;
  event.type = "credential-change";
  event.subject = {{"format", "opaque"}, {"id", "svc_1"}};
  event.event_timestamp = kT0 + 999'999;
  event.initiating_entity = "policy";
  event.reason_admin = "entitlement revoked";
  event.extra = {{"credential_type", "x509"}, {"change_type", "revoke"}};
  json object = caep_event_object(event);
  EXPECT_EQ(object, json({{"event_timestamp", 1'800'000'000},
                          {"initiating_entity", "policy"},
                          {"reason_admin", {{"en", "entitlement revoked"}}},
                          {"credential_type", "x509"},
                          {"change_type", "revoke"}}));
  EXPECT_EQ(caep_event_object(CaepEvent{}), json::object());
}

TEST(SsfSet, EventsSupported) {
  const auto& supported = events_supported();
  for (const char* name :
       {"session-revoked", "credential-change", "token-claims-change", "device-compliance-change"})
    EXPECT_NE(std::find(supported.begin(), supported.end(), caep_uri(name)), supported.end())
        << name;
  EXPECT_TRUE(is_control_event("https://schemas.openid.net/secevent/ssf/event-type/verification"));
  EXPECT_TRUE(
      is_control_event("https://schemas.openid.net/secevent/ssf/event-type/stream-updated"));
  EXPECT_FALSE(is_control_event(caep_uri("session-revoked")));
}

TEST(SsfPushUrl, ParsesHttpAndHttps) {
  auto a = net::parse_endpoint_url("http://127.0.0.1:8099/events?x=1");
  ASSERT_TRUE(a.ok()) << a.error().message;
  EXPECT_FALSE(a->server.tls);
  EXPECT_EQ(a->server.host, "127.0.0.1");
  EXPECT_EQ(a->server.port, 8099);
  EXPECT_EQ(a->target, "/events?x=1");
  auto b = net::parse_endpoint_url("https://rp.example");
  ASSERT_TRUE(b.ok());
  EXPECT_TRUE(b->server.tls);
  EXPECT_EQ(b->server.port, 443);
  EXPECT_EQ(b->target, "/");
  auto c = net::parse_endpoint_url("https://[::1]:9443/x");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->server.host, "::1");
  EXPECT_EQ(c->server.port, 9443);
  for (const char* bad : {"ftp://x", "http://", "http://u:p@host/", "http://h:0/", "http://h:x/",
                          "http://h/a b", "https://h/#frag"})
    EXPECT_FALSE(net::parse_endpoint_url(bad).ok()) << bad;
}

}  // namespace
}  // namespace custody::ssf
