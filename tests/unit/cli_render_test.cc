// Human-readable rendering of API objects for the CLI (src/cli/render.h).
#include <gtest/gtest.h>

#include <sstream>

#include "cli/render.h"

namespace custody::cli {
namespace {

template <class F>
std::string capture(F render, const Json& value) {
  std::ostringstream out;
  render(out, value);
  return out.str();
}

const Json kAgent = Json::parse(R"({"id": "agt_01", "kind": "agent", "display_name": "Billing bot",
    "description": "", "labels": {"team": "billing", "env": "prod"}, "owner_id": "usr_01",
    "state": "active", "version": 3, "created_at": "2026-01-01T00:00:00.000Z",
    "updated_at": "2026-01-02T00:00:00.000Z"})");

TEST(CliRender, MemberText) {
  Json o = Json::parse(R"({"s": "x", "n": null, "b": true, "i": 3, "a": ["p", "q"], "e": [],
                           "o": {"k": 1}})");
  EXPECT_EQ(member_text(o, "s"), "x");
  EXPECT_EQ(member_text(o, "n"), "-");
  EXPECT_EQ(member_text(o, "missing"), "-");
  EXPECT_EQ(member_text(o, "b"), "yes");
  EXPECT_EQ(member_text(o, "i"), "3");
  EXPECT_EQ(member_text(o, "a"), "p,q");
  EXPECT_EQ(member_text(o, "e"), "-");
  EXPECT_EQ(member_text(o, "o"), R"({"k":1})");
  EXPECT_EQ(member_text(Json("not an object"), "s"), "-");
  EXPECT_EQ(labels_text(kAgent["labels"]), "env=prod,team=billing");
  EXPECT_EQ(labels_text(Json::object()), "-");
}

TEST(CliRender, IdentityFields) {
  EXPECT_EQ(capture(render_identity, kAgent),
            "id:           agt_01\n"
            "kind:         agent\n"
            "name:         Billing bot\n"
            "description:\n"
            "state:        active\n"
            "owner:        usr_01\n"
            "labels:       env=prod,team=billing\n"
            "version:      3\n"
            "created:      2026-01-01T00:00:00.000Z\n"
            "updated:      2026-01-02T00:00:00.000Z\n");
}

TEST(CliRender, IdentityTable) {
  Json human = Json::parse(R"({"id": "usr_01", "kind": "human", "display_name": "Ada",
      "owner_id": null, "state": "active", "updated_at": "2026-01-01T00:00:00.000Z"})");
  EXPECT_EQ(capture(render_identity_table, Json::array({kAgent, human})),
            "ID      KIND   NAME         STATE   OWNER   UPDATED\n"
            "agt_01  agent  Billing bot  active  usr_01  2026-01-02T00:00:00.000Z\n"
            "usr_01  human  Ada          active  -       2026-01-01T00:00:00.000Z\n");
  EXPECT_EQ(capture(render_identity_table, Json::array()),
            "ID  KIND  NAME  STATE  OWNER  UPDATED\n");
}

TEST(CliRender, LifecycleResultListsAffected) {
  Json result = {{"identity", kAgent}, {"affected", {"agt_02", "svc_03"}}};
  std::string text = capture(render_lifecycle_result, result);
  EXPECT_NE(text.find("id:           agt_01\n"), std::string::npos);
  EXPECT_NE(text.find("\nsuspended 2 identities owned by it:\n  agt_02\n  svc_03\n"),
            std::string::npos)
      << text;
  Json none = {{"identity", kAgent}, {"affected", Json::array()}};
  EXPECT_EQ(capture(render_lifecycle_result, none).find("suspended 0"), std::string::npos);
}

TEST(CliRender, EntitlementStatus) {
  Json active = Json::parse(R"({"id": "ent_1", "scope": "billing:read", "resource": "r",
      "tools": ["invoice.lookup"], "expires_at": null, "revoked_at": null, "active": true})");
  Json expired = Json::parse(R"({"id": "ent_2", "scope": "s", "resource": "r", "tools": null,
      "expires_at": "2020-01-01T00:00:00.000Z", "revoked_at": null, "active": false})");
  Json revoked = Json::parse(R"({"id": "ent_3", "scope": "s", "resource": "r", "tools": null,
      "expires_at": null, "revoked_at": "2026-01-01T00:00:00.000Z", "active": false})");
  EXPECT_EQ(status_text(active), "active");
  EXPECT_EQ(status_text(expired), "expired");
  EXPECT_EQ(status_text(revoked), "revoked");
  EXPECT_EQ(status_text(Json::object()), "-");
  EXPECT_EQ(capture(render_entitlement_table, Json::array({active, expired, revoked})),
            "ID     SCOPE         RESOURCE  TOOLS           EXPIRES                   STATUS\n"
            "ent_1  billing:read  r         invoice.lookup  -                         active\n"
            "ent_2  s             r         -               2020-01-01T00:00:00.000Z  expired\n"
            "ent_3  s             r         -               -                         revoked\n");
}

TEST(CliRender, CredentialShowsThumbprintForJwkOnly) {
  Json jwk = Json::parse(R"({"id": "crd_1", "type": "jwk", "jwk_thumbprint": "tp",
                             "active": true, "revoked_at": null})");
  Json secret = Json::parse(R"({"id": "crd_2", "type": "client_secret", "active": true})");
  EXPECT_NE(capture(render_credential, jwk).find("thumbprint:   tp\n"), std::string::npos);
  EXPECT_EQ(capture(render_credential, secret).find("thumbprint"), std::string::npos);
}

TEST(CliRender, AuditTable) {
  Json event = Json::parse(R"({"seq": 42, "id": "evt_1", "time": "2026-01-01T00:00:00.000Z",
      "actor": "tok_1", "action": "identity.create", "target": "agt_1", "outcome": "success"})");
  EXPECT_EQ(capture(render_audit_table, Json::array({event})),
            "TIME                      ACTION           OUTCOME  ACTOR  TARGET  ID\n"
            "2026-01-01T00:00:00.000Z  identity.create  success  tok_1  agt_1   evt_1\n");
}

TEST(CliRender, ToleratesUnexpectedShapes) {
  EXPECT_EQ(capture(render_token_table, Json("nope")),
            "ID  ROLE  IDENTITY  DESCRIPTION  CREATED  EXPIRES  REVOKED\n");
  EXPECT_NO_THROW(capture(render_identity, Json()));
  EXPECT_NO_THROW(capture(render_lifecycle_result, Json::array()));
}

}  // namespace
}  // namespace custody::cli
