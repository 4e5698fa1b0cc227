// Flag → request body and query mapping for the CLI (src/cli/requests.h).
#include <gtest/gtest.h>

#include "cli/requests.h"

namespace custody::cli {
namespace {

Micros at(const char* rfc3339) {
  Micros t = 0;
  EXPECT_TRUE(parse_rfc3339(rfc3339, &t)) << rfc3339;
  return t;
}

TEST(CliLabels, ParsesKeyValuePairs) {
  auto labels = parse_labels({"team=billing", "env=", "url=a=b"});
  ASSERT_TRUE(labels.ok());
  EXPECT_EQ(*labels,
            (std::map<std::string, std::string>{{"team", "billing"}, {"env", ""}, {"url", "a=b"}}));
  EXPECT_FALSE(parse_labels({"team"}).ok());
  EXPECT_FALSE(parse_labels({"=x"}).ok());
  auto twice = parse_labels({"a=1", "a=2"});
  ASSERT_FALSE(twice.ok());
  EXPECT_EQ(twice.error().field, "labels");
}

TEST(CliIdentityCreate, MapsFlagsToMembers) {
  IdentityCreateArgs args;
  args.kind = "agent";
  args.name = "Billing bot";
  args.owner = "usr_01";
  args.labels = {"team=billing"};
  args.description = "pays invoices";
  args.state = "active";
  auto body = identity_create_body(args);
  ASSERT_TRUE(body.ok());
  EXPECT_EQ(*body, Body::parse(R"({"kind": "agent", "display_name": "Billing bot",
      "owner_id": "usr_01", "labels": {"team": "billing"}, "description": "pays invoices",
      "state": "active"})"));
}

TEST(CliIdentityCreate, OmitsFlagsNotGiven) {
  IdentityCreateArgs args;
  args.kind = "human";
  args.name = "Ada";
  auto body = identity_create_body(args);
  ASSERT_TRUE(body.ok());
  EXPECT_EQ(*body, Body::parse(R"({"kind": "human", "display_name": "Ada"})"));

  args.labels = {"oops"};
  EXPECT_FALSE(identity_create_body(args).ok());
}

TEST(CliIdentityList, BuildsQueryInApiForm) {
  IdentityListArgs args;
  args.kind = "agent";
  args.state = "active";
  args.owner = "usr_01";
  args.labels = {"team=billing", "env=prod"};
  args.limit = 50;
  args.cursor = "c1";
  auto query = identity_list_query(args);
  ASSERT_TRUE(query.ok());
  EXPECT_EQ(build_query(*query),
            "?kind=agent&state=active&owner_id=usr_01&label=env%3Aprod&label=team%3Abilling"
            "&limit=50&cursor=c1");
  EXPECT_EQ(build_query(*identity_list_query({})), "");
}

TEST(CliIdentityUpdate, SendsOnlyWhatChanges) {
  IdentityUpdateArgs args;
  args.name = "New name";
  args.labels = {"a=1", "b=2"};
  auto body = identity_update_body(args);
  ASSERT_TRUE(body.ok());
  EXPECT_EQ(*body, Body::parse(R"({"display_name": "New name", "labels": {"a": "1", "b": "2"}})"));

  IdentityUpdateArgs clear;
  clear.clear_labels = true;
  clear.description = "";  // --description '' clears the description
  body = identity_update_body(clear);
  ASSERT_TRUE(body.ok());
  EXPECT_EQ(*body, Body::parse(R"({"labels": {}, "description": ""})"));

  IdentityUpdateArgs owner;
  owner.owner = "usr_02";
  EXPECT_EQ(*identity_update_body(owner), Body::parse(R"({"owner_id": "usr_02"})"));
}

TEST(CliIdentityUpdate, RefusesEmptyAndContradictoryUpdates) {
  EXPECT_FALSE(identity_update_body({}).ok());
  IdentityUpdateArgs both;
  both.clear_labels = true;
  both.labels = {"a=1"};
  EXPECT_FALSE(identity_update_body(both).ok());
}

TEST(CliLifecycle, ReasonBodyAndIfMatch) {
  EXPECT_EQ(reason_body(std::nullopt), Body::object());
  EXPECT_EQ(reason_body("left the company"), Body::parse(R"({"reason": "left the company"})"));
  EXPECT_EQ(if_match_value("3"), "\"3\"");
  EXPECT_EQ(if_match_value("\"3\""), "\"3\"");
  EXPECT_EQ(if_match_value("W/\"3\""), "W/\"3\"");
}

TEST(CliGrant, MapsFlagsAndNormalisesExpiry) {
  GrantArgs args;
  args.scope = "billing:read";
  args.resource = "https://api.example.com";
  args.tools = {"invoice.lookup", "invoice.list"};
  args.expires = "2026-12-31T01:00:00+01:00";
  args.justification = "month-end close";
  auto body = entitlement_grant_body(args, 0);
  ASSERT_TRUE(body.ok()) << body.error().message;
  EXPECT_EQ(*body, Body::parse(R"({"scope": "billing:read", "resource": "https://api.example.com",
      "tools": ["invoice.lookup", "invoice.list"], "expires_at": "2026-12-31T00:00:00.000Z",
      "justification": "month-end close"})"));
}

TEST(CliGrant, TtlCountsFromNow) {
  GrantArgs args;
  args.scope = "s";
  args.resource = "r";
  args.justification = "j";
  args.ttl = "30d";
  auto body = entitlement_grant_body(args, at("2026-01-01T00:00:00Z"));
  ASSERT_TRUE(body.ok());
  EXPECT_EQ((*body)["expires_at"], "2026-01-31T00:00:00.000Z");
  EXPECT_FALSE(body->contains("tools"));

  GrantArgs no_expiry = args;
  no_expiry.ttl.reset();
  EXPECT_FALSE(entitlement_grant_body(no_expiry, 0)->contains("expires_at"));
}

TEST(CliGrant, RefusesBadExpiry) {
  GrantArgs args;
  args.expires = "next tuesday";
  EXPECT_FALSE(entitlement_grant_body(args, 0).ok());
  args.expires = "2026-12-31T00:00:00Z";
  args.ttl = "1d";
  EXPECT_FALSE(entitlement_grant_body(args, 0).ok());
  args.expires.reset();
  args.ttl = "forever";
  EXPECT_FALSE(entitlement_grant_body(args, 0).ok());
}

TEST(CliCredential, ClientSecret) {
  CredentialCreateArgs args;
  args.type = "client_secret";
  args.max_age = "30d";
  args.description = "ci";
  auto body = credential_create_body(args);
  ASSERT_TRUE(body.ok());
  EXPECT_EQ(*body, Body::parse(R"({"type": "client_secret", "description": "ci",
      "max_age_seconds": 2592000})"));

  args.jwk_text = "{}";
  EXPECT_FALSE(credential_create_body(args).ok());  // --jwk-file with client_secret
  args.jwk_text.reset();
  args.max_age = "0s";
  EXPECT_FALSE(credential_create_body(args).ok());
}

TEST(CliCredential, PublicJwk) {
  CredentialCreateArgs args;
  args.type = "jwk";
  EXPECT_FALSE(credential_create_body(args).ok());  // no --jwk-file

  args.jwk_path = "key.json";
  args.jwk_text =
      R"({"kty": "OKP", "crv": "Ed25519", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"})";
  auto body = credential_create_body(args);
  ASSERT_TRUE(body.ok());
  EXPECT_EQ((*body)["type"], "jwk");
  EXPECT_EQ((*body)["public_jwk"]["crv"], "Ed25519");
}

TEST(CliCredential, NeverUploadsPrivateKeys) {
  CredentialCreateArgs args;
  args.type = "jwk";
  args.jwk_path = "key.json";
  args.jwk_text = R"({"kty": "OKP", "crv": "Ed25519", "x": "AA", "d": "secret"})";
  auto body = credential_create_body(args);
  ASSERT_FALSE(body.ok());
  EXPECT_NE(body.error().message.find("private member \"d\""), std::string::npos);
  EXPECT_NE(body.error().message.find("key.json"), std::string::npos);

  args.jwk_text = R"({"kty": "oct", "k": "c2VjcmV0"})";
  EXPECT_FALSE(credential_create_body(args).ok());
  args.jwk_text = R"({"keys": [{"kty": "OKP"}]})";
  EXPECT_FALSE(credential_create_body(args).ok());
  args.jwk_text = "not json";
  EXPECT_FALSE(credential_create_body(args).ok());
  args.jwk_text = "[1]";
  EXPECT_FALSE(credential_create_body(args).ok());
}

TEST(CliToken, MapsFlags) {
  TokenCreateArgs args;
  args.role = "owner";
  EXPECT_FALSE(token_create_body(args).ok());  // owner tokens act for a human
  args.identity = "usr_01";
  args.ttl = "8h";
  args.description = "on-call";
  auto body = token_create_body(args);
  ASSERT_TRUE(body.ok());
  EXPECT_EQ(*body, Body::parse(R"({"role": "owner", "identity_id": "usr_01",
      "description": "on-call", "ttl_seconds": 28800})"));

  TokenCreateArgs auditor;
  auditor.role = "auditor";
  EXPECT_EQ(*token_create_body(auditor), Body::parse(R"({"role": "auditor"})"));
}

TEST(CliAudit, BuildsQueryWithAbsoluteAndRelativeTimes) {
  AuditListArgs args;
  args.actor = "tok_1";
  args.target = "agt_1";
  args.action = "identity.suspend";
  args.outcome = "permission_denied";
  args.since = "24h";
  args.until = "2026-01-02T00:00:00Z";
  args.limit = 10;
  auto query = audit_list_query(args, at("2026-01-02T00:00:00Z"));
  ASSERT_TRUE(query.ok());
  EXPECT_EQ(*query, (Query{{"actor", "tok_1"},
                           {"target", "agt_1"},
                           {"action", "identity.suspend"},
                           {"outcome", "permission_denied"},
                           {"since", "2026-01-01T00:00:00.000Z"},
                           {"until", "2026-01-02T00:00:00.000Z"},
                           {"limit", "10"}}));
  args.since = "yesterday";
  EXPECT_FALSE(audit_list_query(args, 0).ok());
}

}  // namespace
}  // namespace custody::cli
