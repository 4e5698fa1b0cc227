// Cedar strict validation and the JSON schema format.
#include <gtest/gtest.h>

#include <string>

#include "policy/cedar/policy_set.h"
#include "policy/cedar/schema.h"
#include "policy/cedar/validator.h"

namespace custody::cedar {
namespace {

const char* kSchema = R"(
  entity Group;
  entity User in [Group] = { name: String, age?: Long, tags: Set<String> } tags String;
  entity Doc = { owner: User, ip: ipaddr };
  action read, write appliesTo { principal: User, resource: Doc, context: { mfa: Bool } };
)";

std::string first_error(const std::string& policy) {
  auto schema = parse_cedar_schema(kSchema);
  if (!schema.ok()) return "schema: " + schema.error().message;
  auto set = PolicySet::parse(policy);
  if (!set.ok()) return "parse: " + set.error().message;
  auto errors = validate(*set, *schema);
  return errors.empty() ? "" : errors[0].message;
}

TEST(CedarValidator, AcceptsWellTypedPolicies) {
  EXPECT_EQ(first_error(R"(permit(principal in Group::"g", action == Action::"read", resource)
      when { resource.owner == principal && context.mfa && principal has age && principal.age > 18
             && resource.ip.isInRange(ip("10.0.0.0/8")) && principal.tags.contains("x") };)"),
            "");
  EXPECT_EQ(first_error(R"(permit(principal, action, resource)
      when { principal.hasTag("k") && principal.getTag("k") like "a*" };)"),
            "");
}

TEST(CedarValidator, RejectsTypeErrors) {
  EXPECT_NE(first_error(R"(permit(principal, action, resource) when { principal.age > 1 };)"),
            "");  // optional attribute without `has`
  EXPECT_NE(first_error(R"(permit(principal, action, resource) when { principal.nope };)"), "");
  EXPECT_NE(first_error(R"(permit(principal, action, resource) when { principal.name == 1 };)"),
            "");
  // Two literals compare at validation time: `1 == "a"` is just false.
  EXPECT_EQ(first_error(R"(permit(principal, action, resource) when { 1 == "a" };)"), "");
  EXPECT_NE(first_error(R"(permit(principal, action, resource) when { [].isEmpty() };)"), "");
  EXPECT_NE(first_error(R"(permit(principal, action, resource) when { ip("x").isIpv4() };)"), "");
  EXPECT_NE(
      first_error(R"(permit(principal, action, resource) when { principal.getTag("k") == "v" };)"),
      "");
  EXPECT_NE(first_error(R"(permit(principal, action, resource) when { context.mfa + 1 > 0 };)"),
            "");
  EXPECT_NE(first_error(R"(permit(principal == Nope::"x", action, resource);)"), "");
  EXPECT_NE(first_error(R"(permit(principal, action == Action::"delete", resource);)"), "");
  // No action applies to a Group principal.
  EXPECT_NE(first_error(R"(permit(principal is Group, action, resource);)"), "");
  // Short-circuiting: the right operand of `false &&` is not checked.
  EXPECT_EQ(first_error(R"(permit(principal, action, resource) when { false && 1 };)"), "");
}

TEST(CedarValidator, Templates) {
  EXPECT_EQ(first_error(R"(permit(principal == ?principal, action, resource in ?resource)
      when { principal.name like "a*" };)"),
            "");
  EXPECT_NE(first_error(R"(permit(principal == ?principal, action, resource)
      when { principal.name > 1 };)"),
            "");
}

TEST(CedarValidator, Requests) {
  auto schema = parse_cedar_schema(kSchema);
  ASSERT_TRUE(schema.ok());
  Request r;
  r.principal = EntityUid::intern("User", "a");
  r.action = EntityUid::intern("Action", "read");
  r.resource = EntityUid::intern("Doc", "d");
  RecordFields context;
  context["mfa"] = Value(true);
  r.context = Value::record(context);
  EXPECT_TRUE(validate_request(r, *schema).ok());
  r.context = Value::record({});
  EXPECT_FALSE(validate_request(r, *schema).ok());  // mfa missing
  r.context = Value::record(context);
  r.resource = EntityUid::intern("User", "b");
  EXPECT_FALSE(validate_request(r, *schema).ok());
  r.resource = EntityUid::intern("Doc", "d");
  r.action = EntityUid::intern("Action", "delete");
  EXPECT_FALSE(validate_request(r, *schema).ok());
}

TEST(CedarValidator, JsonSchemaFormat) {
  auto schema = parse_json_schema(nlohmann::json::parse(R"({
    "App": {
      "commonTypes": { "Ctx": { "type": "Record", "attributes": {
          "ip": { "type": "Extension", "name": "ipaddr" },
          "n": { "type": "Long", "required": false } } } },
      "entityTypes": {
        "User": { "memberOfTypes": ["Team"], "shape": { "type": "Record", "attributes": {
            "boss": { "type": "Entity", "name": "User" } } } },
        "Team": {}
      },
      "actions": { "view": { "appliesTo": { "principalTypes": ["User"],
          "resourceTypes": ["Team"], "context": { "type": "Ctx" } } } }
    }
  })"));
  ASSERT_TRUE(schema.ok()) << schema.error().message;
  const ActionDecl* view = schema->action(EntityUid::intern("App::Action", "view"));
  ASSERT_NE(view, nullptr);
  EXPECT_EQ(view->principal_types, std::vector<std::string>{"App::User"});
  EXPECT_EQ(view->context->attributes.at("ip").type->name, "ipaddr");
  EXPECT_FALSE(view->context->attributes.at("n").required);
  ASSERT_NE(schema->entity_type("App::User"), nullptr);
  EXPECT_EQ(schema->entity_type("App::User")->member_of, std::vector<std::string>{"App::Team"});
}

TEST(CedarValidator, SchemaErrorsCarryPositions) {
  auto bad = parse_cedar_schema("entity User = {\n  name: ;\n};");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().details.at("line"), "2");
  EXPECT_FALSE(parse_cedar_schema("entity A = { b: Nope };").ok());
  EXPECT_FALSE(parse_cedar_schema("type A = B; type B = A; entity E = { x: A };").ok());
}

}  // namespace
}  // namespace custody::cedar
