// The PDP's pure parts: bundle compilation (ids, errors with file/line/column, validation),
// the AuthZEN request mapping (defaults, overrides, semantics, errors naming the member), the
// type map, the default bundle, and decisions over application entities with properties.
#include <gtest/gtest.h>

#include "policy/authzen.h"
#include "policy/bundle.h"
#include "policy/defaults.h"
#include "policy/directory_entities.h"
#include "policy/pdp.h"

namespace custody::policy {
namespace {

using nlohmann::json;

BundleSource files(std::vector<PolicyFile> f) {
  BundleSource s;
  s.files = std::move(f);
  return s;
}

TEST(PolicyBundle, IdsComeFromAnnotationsElseTheirPositionAcrossFiles) {
  auto r = compile_bundle(files({{"a.cedar", "permit(principal, action, resource);"},
                                 {"b.cedar",
                                  "@id(\"named\") forbid(principal, action, resource);\n"
                                  "permit(principal, action, resource);"}}));
  ASSERT_TRUE(r.errors.empty());
  ASSERT_NE(r.bundle->policies.find("policy0"), nullptr);
  ASSERT_NE(r.bundle->policies.find("named"), nullptr);
  ASSERT_NE(r.bundle->policies.find("policy2"), nullptr);
  EXPECT_EQ(r.bundle->file_of.at("named"), "b.cedar");
}

TEST(PolicyBundle, EveryFileThatFailsToParseIsReportedWithItsPosition) {
  auto r =
      compile_bundle(files({{"one.cedar", "permit(principal, action, resource)"},
                            {"ok.cedar", "permit(principal, action, resource);"},
                            {"two.cedar", "\n\n  forbid(principal, action, resource) when { };"}}));
  ASSERT_EQ(r.errors.size(), 2u);
  EXPECT_EQ(r.errors[0].file, "one.cedar");
  EXPECT_EQ(r.errors[0].line, 1);
  EXPECT_EQ(r.errors[1].file, "two.cedar");
  EXPECT_EQ(r.errors[1].line, 3);
  EXPECT_GT(r.errors[1].column, 1);
  EXPECT_EQ(r.errors[1].message.rfind("line", 0), std::string::npos) << "position kept apart";
  EXPECT_EQ(r.bundle, nullptr);
}

TEST(PolicyBundle, DuplicateIdsAndTooManyPoliciesAreRefused) {
  auto dup = compile_bundle(files({{"a", "@id(\"x\") permit(principal, action, resource);"},
                                   {"b", "@id(\"x\") permit(principal, action, resource);"}}));
  ASSERT_EQ(dup.errors.size(), 1u);
  EXPECT_EQ(dup.errors[0].policy_id, "x");
  EXPECT_EQ(dup.errors[0].file, "b");
  auto many = compile_bundle(files({{"a",
                                     "permit(principal, action, resource);\n"
                                     "permit(principal, action, resource);"}}),
                             1);
  ASSERT_EQ(many.errors.size(), 1u);
  EXPECT_NE(many.errors[0].message.find("at most 1"), std::string::npos);
}

TEST(PolicyBundle, ValidationErrorsNameThePolicyAndItsFile) {
  BundleSource s = files({{"p.cedar",
                           "@id(\"bad\") permit(principal, action, resource) when "
                           "{ principal.missing };"}});
  s.schema_format = SchemaFormat::kCedar;
  s.schema_text = "entity User; action read appliesTo { principal: User, resource: User };";
  auto r = compile_bundle(s);
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0].policy_id, "bad");
  EXPECT_EQ(r.errors[0].file, "p.cedar");
}

TEST(PolicyBundle, JsonRoundTripAndDigestAreStable) {
  BundleSource s = files({{"a.cedar", "permit(principal, action, resource);"}});
  s.schema_format = SchemaFormat::kJson;
  s.schema_text = "{\"\": {\"entityTypes\": {}, \"actions\": {}}}";
  auto back = bundle_from_json(bundle_to_json(s));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(bundle_digest(*back), bundle_digest(s));
  BundleSource other = s;
  other.files[0].text += " ";
  EXPECT_NE(bundle_digest(other), bundle_digest(s));
  EXPECT_FALSE(bundle_from_json(json{{"files", json::array()}}).ok());
  EXPECT_FALSE(bundle_from_json(json{{"policies", "x"}, {"schema", {{"format", "yaml"}}}}).ok());
}

TEST(PolicyDefaults, TheShippedBundleValidatesAgainstItsSchema) {
  auto r = compile_bundle(default_bundle());
  ASSERT_TRUE(r.errors.empty()) << r.errors.front().message;
  EXPECT_NE(r.bundle->schema, nullptr);
  for (const char* id : {"custody/tool-entitled", "custody/agent-within-owner",
                         "custody/untrusted-device", "custody/inactive-identity"})
    EXPECT_NE(r.bundle->policies.find(id), nullptr) << id;
}

TEST(AuthZen, ItemsOverrideTheDefaultsMemberByMember) {
  json body = {{"subject", {{"type", "user"}, {"id", "alice"}}},
               {"action", {{"name", "read"}}},
               {"context", {{"ip", "10.0.0.1"}}},
               {"evaluations",
                {{{"resource", {{"type", "doc"}, {"id", "1"}}}},
                 {{"resource", {{"type", "doc"}, {"id", "2"}}},
                  {"subject", {{"type", "user"}, {"id", "bob"}, {"properties", {{"x", 1}}}}}}}},
               {"options", {{"evaluations_semantic", "deny_on_first_deny"}}},
               {"unknown_member", true}};
  auto r = parse_evaluations(body);
  ASSERT_TRUE(r.ok()) << r.error().message;
  ASSERT_EQ(r->questions.size(), 2u);
  EXPECT_FALSE(r->single);
  EXPECT_EQ(r->semantic, EvaluationsSemantic::kDenyOnFirstDeny);
  EXPECT_EQ(r->questions[0].subject.id, "alice");
  EXPECT_EQ(r->questions[1].subject.id, "bob");
  EXPECT_EQ(r->questions[1].subject.properties["x"], 1);
  EXPECT_EQ(r->questions[1].action, "read");
  EXPECT_EQ(r->questions[1].context["ip"], "10.0.0.1");
}

TEST(AuthZen, MissingMembersAreNamed) {
  auto missing = [](json body, bool batch) {
    auto r = batch ? parse_evaluations(body) : parse_evaluation(body);
    return r.ok() ? std::string("(ok)") : r.error().field;
  };
  json q = {{"subject", {{"type", "user"}, {"id", "a"}}},
            {"action", {{"name", "read"}}},
            {"resource", {{"type", "doc"}, {"id", "1"}}}};
  json no_type = q;
  no_type["subject"].erase("type");
  EXPECT_EQ(missing(no_type, false), "subject.type");
  json empty_id = q;
  empty_id["resource"]["id"] = "";
  EXPECT_EQ(missing(empty_id, false), "resource.id");
  json no_action = q;
  no_action.erase("action");
  EXPECT_EQ(missing(no_action, false), "action");
  json batch = {{"evaluations", {q, {{"subject", q["subject"]}}}}};
  EXPECT_EQ(missing(batch, true), "evaluations[1].action");
  json bad_semantic = q;
  bad_semantic["options"] = {{"evaluations_semantic", "sometimes"}};
  EXPECT_EQ(missing(bad_semantic, true), "options.evaluations_semantic");
  json long_id = q;
  long_id["subject"]["id"] = std::string(2000, 'x');
  EXPECT_EQ(missing(long_id, false), "subject.id");
}

TEST(AuthZen, ResponsesAreExactlyAuthZensUnlessExplained) {
  EvaluationRequest single;
  single.single = true;
  Decision allow{true, {"p1"}, {}};
  Decision deny{false, {}, {{"p2", "overflow"}}};
  EXPECT_EQ(response_body(single, {allow}), json({{"decision", true}}));
  EvaluationRequest batch;
  EXPECT_EQ(response_body(batch, {allow, deny}),
            json({{"evaluations", {{{"decision", true}}, {{"decision", false}}}}}));
  batch.explain = true;
  json explained = response_body(batch, {deny});
  EXPECT_EQ(explained["evaluations"][0]["context"]["errors"][0]["policy"], "p2");
  EXPECT_TRUE(stops_after(EvaluationsSemantic::kPermitOnFirstPermit, allow));
  EXPECT_FALSE(stops_after(EvaluationsSemantic::kPermitOnFirstPermit, deny));
  EXPECT_TRUE(stops_after(EvaluationsSemantic::kDenyOnFirstDeny, deny));
  EXPECT_FALSE(stops_after(EvaluationsSemantic::kExecuteAll, deny));
}

TEST(PdpTypes, TypeMapExtendsTheDefaults) {
  auto m = parse_type_map("user=App::User, doc = App::Document");
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->at("user"), "App::User");
  EXPECT_EQ(m->at("doc"), "App::Document");
  EXPECT_EQ(m->at("agent"), "Agent");
  EXPECT_FALSE(parse_type_map("user").ok());
  EXPECT_FALSE(parse_type_map("=X").ok());
  EXPECT_EQ(kind_of_cedar_type("McpServer"), directory::Kind::kMcpServer);
  EXPECT_EQ(kind_of_cedar_type("User"), std::nullopt);
}

TEST(PdpTools, ToolResourcesGetTheirGrantKeys) {
  cedar::Entity tool;
  tool.uid = cedar::EntityUid::intern("Tool", "search");
  tool.attrs["server"] = std::string("https://s");
  derive_tool_attributes(tool);
  EXPECT_EQ(tool.attrs.find("name")->second.as_string(), "search");
  EXPECT_EQ(tool.attrs.find("key")->second.as_string(), "https://s search");
  EXPECT_EQ(tool.attrs.find("server_key")->second.as_string(), "https://s *");
}

}  // namespace
}  // namespace custody::policy
