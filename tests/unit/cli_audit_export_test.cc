// custody audit export: the OCSF mapping and RFC 5424 lines for SIEMs.
#include <gtest/gtest.h>

#include "cli/audit_export.h"

namespace custody::cli {
namespace {

Json sample(std::string action, std::string outcome, Json details = Json::object()) {
  return Json{{"seq", 42},
              {"id", "evt_1"},
              {"time", "2026-11-29T21:55:00.123Z"},
              {"actor", "tok_admin"},
              {"action", std::move(action)},
              {"target", "agt_1"},
              {"outcome", std::move(outcome)},
              {"request_id", "req_1"},
              {"details", std::move(details)},
              {"chain_root", "usr_root"},
              {"delegation_id", "dlg_1"},
              {"leaf_index", 41},
              {"leaf_hash", "ab"}};
}

TEST(AuditExport, OcsfClassesOfCustodyActions) {
  struct Case {
    const char *action, *outcome, *method;
    int class_uid, activity_id;
  };
  const Case cases[] = {
      {"identity.create", "success", "", 3001, 1},
      {"identity.suspend", "success", "", 3001, 5},
      {"identity.retire", "success", "", 3001, 6},
      {"credential.create", "success", "", 3001, 99},
      {"entitlement.grant", "success", "", 3005, 1},
      {"entitlement.revoke", "success", "", 3005, 2},
      {"oauth.token", "success", "", 3002, 3},
      {"oauth.token", "unauthenticated", "", 3002, 3},
      {"delegation.revoke", "success", "", 3005, 2},
      {"request.refused", "unauthenticated", "GET", 3002, 1},
      {"request.refused", "not_found", "DELETE", 6003, 4},
      {"audit.list", "permission_denied", "GET", 6003, 2},
  };
  for (const auto& c : cases) {
    auto got = ocsf_class(c.action, c.outcome, c.method);
    EXPECT_EQ(got.class_uid, c.class_uid) << c.action << " " << c.outcome;
    EXPECT_EQ(got.activity_id, c.activity_id) << c.action << " " << c.outcome;
  }
}

TEST(AuditExport, OcsfEventCarriesTheRequiredMembers) {
  Json o = to_ocsf(sample("identity.create", "success"));
  EXPECT_EQ(o["class_uid"], 3001);
  EXPECT_EQ(o["category_uid"], 3);
  EXPECT_EQ(o["type_uid"], 300101);
  EXPECT_EQ(o["time"], 1'795'989'300'123LL);
  EXPECT_EQ(o["status_id"], 1);
  EXPECT_EQ(o["metadata"]["uid"], "evt_1");
  EXPECT_EQ(o["metadata"]["product"]["name"], "custody");
  EXPECT_EQ(o["actor"]["user"]["uid"], "tok_admin");
  EXPECT_EQ(o["user"]["uid"], "agt_1");
  EXPECT_EQ(o["unmapped"]["chain_root"], "usr_root");
  Json refused = to_ocsf(sample("request.refused", "not_found", {{"method", "GET"}}));
  EXPECT_EQ(refused["class_uid"], 6003);
  EXPECT_EQ(refused["status_id"], 2);
  EXPECT_EQ(refused["status_detail"], "not_found");
  EXPECT_EQ(refused["resources"][0]["uid"], "agt_1");
}

TEST(AuditExport, SyslogLineIsRfc5424) {
  Json e = sample("identity.create", "success");
  e["actor"] = "tok_\"q\"]x\\";
  const std::string line = to_syslog(e, "host1");
  EXPECT_EQ(line.rfind("<86>1 2026-11-29T21:55:00.123Z host1 custody - identity.create "
                       "[custody@32473 seq=\"42\" id=\"evt_1\" actor=\"tok_\\\"q\\\"\\]x\\\\\"",
                       0),
            0u)
      << line;
  EXPECT_NE(line.find("chain_root=\"usr_root\" delegation_id=\"dlg_1\"] {"), std::string::npos);
  // A refusal is a notice.
  EXPECT_EQ(to_syslog(sample("request.refused", "conflict"), "h").rfind("<85>1 ", 0), 0u);
  EXPECT_EQ(to_syslog(sample("x", "success"), "").find(" - custody - x "), 30u) << "no hostname";
}

TEST(AuditExport, FormatNames) {
  EXPECT_TRUE(parse_export_format("jsonl").ok());
  EXPECT_TRUE(parse_export_format("ocsf").ok());
  EXPECT_TRUE(parse_export_format("syslog").ok());
  EXPECT_FALSE(parse_export_format("csv").ok());
}

}  // namespace
}  // namespace custody::cli
