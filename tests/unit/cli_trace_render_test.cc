#include <gtest/gtest.h>

#include <sstream>

#include "cli/trace_render.h"

namespace custody::cli {
namespace {

Json record(std::string id, std::string parent, std::string subject, std::string actor,
            bool revoked = false) {
  Json r = {{"id", id},
            {"subject", subject},
            {"client_id", actor.empty() ? subject : actor},
            {"grant_type", parent.empty() ? "client_credentials"
                                          : "urn:ietf:params:oauth:grant-type:token-exchange"},
            {"scopes", {"read"}},
            {"audience", {"aud"}},
            {"issued_at", "t0"},
            {"expires_at", "t1"},
            {"revoked", revoked}};
  r["parent_id"] = parent.empty() ? Json(nullptr) : Json(parent);
  r["actor"] = actor.empty() ? Json(nullptr) : Json(actor);
  if (revoked) {
    r["revoked_at"] = "t2";
    r["revoked_by"] = "agt_A";
  }
  return r;
}

TEST(CliTraceRender, PrintsTheChainAsATreeMarksTheTokenAndNestsDownstream) {
  Json trace = {
      {"delegation_id", "dlg_2"},
      {"initiator", {{"subject", "agt_A"}, {"issuer", "https://iam"}}},
      {"chain", {record("dlg_1", "", "agt_A", ""), record("dlg_2", "dlg_1", "agt_A", "agt_B")}},
      {"downstream",
       {record("dlg_3", "dlg_2", "agt_A", "agt_C", true),
        record("dlg_4", "dlg_3", "agt_A", "agt_D"), record("dlg_5", "dlg_2", "agt_A", "agt_E")}}};
  std::ostringstream out;
  render_trace(out, trace);
  std::string text = out.str();
  EXPECT_NE(text.find("initiated by agt_A (issuer https://iam)\n"), std::string::npos) << text;
  EXPECT_NE(text.find("dlg_1  agt_A  (client_credentials)\nclient agt_A · scopes read · aud aud"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("└─ dlg_2  agt_B acting for agt_A  (token-exchange)"), std::string::npos);
  EXPECT_NE(text.find("◀ this token"), text.find("dlg_1")) << "marks dlg_2";
  EXPECT_LT(text.find("dlg_2"), text.find("◀ this token"));
  // dlg_3 and dlg_5 hang below dlg_2, dlg_4 below dlg_3.
  EXPECT_NE(text.find("   ├─ dlg_3"), std::string::npos) << text;
  EXPECT_NE(text.find("   │  └─ dlg_4"), std::string::npos) << text;
  EXPECT_NE(text.find("   └─ dlg_5"), std::string::npos) << text;
  EXPECT_NE(text.find("· REVOKED t2 by agt_A"), std::string::npos);
}

TEST(CliTraceRender, ShowsThePermittingPoliciesAndHopsLeft) {
  Json hop = record("dlg_2", "dlg_1", "agt_A", "agt_B");
  hop["policy"] = {{"version", 3}, {"policies", {"custody/delegate", "team-ok"}}};
  hop["max_hops"] = 1;
  Json trace = {{"delegation_id", "dlg_2"},
                {"initiator", {{"subject", "agt_A"}, {"issuer", "https://iam"}}},
                {"chain", {record("dlg_1", "", "agt_A", ""), hop}},
                {"downstream", Json::array()}};
  std::ostringstream out;
  render_trace(out, trace);
  EXPECT_NE(out.str().find("· max_hops 1 · permitted by custody/delegate team-ok (policy v3)"),
            std::string::npos)
      << out.str();
}

TEST(CliTraceRender, NeutralisesTerminalEscapesFromIds) {
  Json trace = {{"delegation_id", "dlg_1"},
                {"initiator", {{"subject", "evil\x1b[2J"}, {"issuer", "x"}}},
                {"chain", {record("dlg_1", "", "evil\x1b[2J", "")}},
                {"downstream", Json::array()}};
  std::ostringstream out;
  render_trace(out, trace);
  EXPECT_EQ(out.str().find('\x1b'), std::string::npos);
}

}  // namespace
}  // namespace custody::cli
