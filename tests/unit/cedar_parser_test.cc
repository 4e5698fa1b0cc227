// Cedar parser: accepted grammar, error positions, depth limit, templates.
#include <gtest/gtest.h>

#include <string>

#include "policy/cedar/parser.h"

namespace custody::cedar {
namespace {

TEST(CedarParser, ParsesScopesAnnotationsAndConditions) {
  auto policies = parse_policies(R"(
    @id("p1") @advice
    permit (principal == User::"alice", action in [Action::"read", Action::"list"],
            resource is Doc in Folder::"f")
    when { resource.public } unless { context.blocked };
    forbid (principal is Agent, action, resource);)");
  ASSERT_TRUE(policies.ok()) << policies.error().message;
  ASSERT_EQ(policies->size(), 2u);
  const Policy& p = (*policies)[0];
  EXPECT_EQ(p.id, "policy0");
  EXPECT_EQ(p.annotations.at("id"), "p1");
  EXPECT_EQ(p.annotations.at("advice"), "");
  EXPECT_EQ(p.principal.op, ScopeConstraint::Op::kEq);
  EXPECT_EQ(p.action.entities.size(), 2u);
  EXPECT_EQ(p.resource.op, ScopeConstraint::Op::kIsIn);
  EXPECT_EQ(p.resource.type, "Doc");
  ASSERT_EQ(p.conditions.size(), 2u);
  EXPECT_FALSE(p.conditions[1].is_when);
  EXPECT_EQ((*policies)[1].effect, Effect::kForbid);
  EXPECT_EQ((*policies)[1].id, "policy1");
}

TEST(CedarParser, ErrorsCarryLineAndColumn) {
  auto r = parse_policies("permit(principal, action, resource)\nwhen { 1 + };");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().details.at("line"), "2");
  EXPECT_EQ(r.error().details.at("column"), "12");
  EXPECT_NE(r.error().message.find("line 2, column 12"), std::string::npos);

  auto bad_char = parse_policies("permit(principal, action, resource) when { # };");
  ASSERT_FALSE(bad_char.ok());
  EXPECT_EQ(bad_char.error().details.at("column"), "44");

  auto unterminated = parse_policies("permit(principal, action, resource) when { \"abc };");
  ASSERT_FALSE(unterminated.ok());
  EXPECT_EQ(unterminated.error().details.at("line"), "1");
}

TEST(CedarParser, RejectsUnknownFunctionsAndBadArity) {
  EXPECT_FALSE(parse_expression("foo(1)").ok());
  EXPECT_FALSE(parse_expression("[1].bogus()").ok());
  EXPECT_FALSE(parse_expression("[1].contains()").ok());
  // Extension functions check their arity when evaluated, as Cedar does.
  EXPECT_TRUE(parse_expression("ip(\"1.2.3.4\", 2)").ok());
}

TEST(CedarParser, IntegerLiteralLimits) {
  EXPECT_TRUE(parse_expression("-9223372036854775808").ok());
  EXPECT_TRUE(parse_expression("9223372036854775807").ok());
  EXPECT_FALSE(parse_expression("9223372036854775808").ok());
  EXPECT_FALSE(parse_expression("99999999999999999999").ok());
}

TEST(CedarParser, RelationsDoNotChain) {
  EXPECT_FALSE(parse_expression("1 < 2 < 3").ok());
}

TEST(CedarParser, DeepNestingIsAnErrorNotACrash) {
  std::string deep(100000, '(');
  deep += "1";
  deep += std::string(100000, ')');
  auto r = parse_expression(deep);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("nested too deeply"), std::string::npos);

  std::string sum = "1";
  for (int i = 0; i < 5000; ++i) sum += " + 1";
  EXPECT_FALSE(parse_expression(sum).ok());

  // Long && chains are flattened and accepted.
  std::string conj = "true";
  for (int i = 0; i < 20000; ++i) conj += " && true";
  EXPECT_TRUE(parse_expression(conj).ok());

  ParseLimits tight;
  tight.max_depth = 4;
  EXPECT_FALSE(parse_expression("((((((1))))))", tight).ok());
}

TEST(CedarParser, SlotsOnlyInScope) {
  auto t = parse_policies("permit(principal == ?principal, action, resource in ?resource);");
  ASSERT_TRUE(t.ok()) << t.error().message;
  EXPECT_TRUE((*t)[0].is_template());
  EXPECT_FALSE(parse_policies("permit(principal, action, resource) when { ?principal };").ok());
  EXPECT_FALSE(parse_policies("permit(principal == ?resource, action, resource);").ok());

  auto linked = link_template((*t)[0], "link1", EntityUid::intern("User", "a"),
                              EntityUid::intern("Folder", "f"));
  ASSERT_TRUE(linked.ok());
  EXPECT_FALSE(linked->is_template());
  EXPECT_EQ(linked->id, "link1");
  EXPECT_FALSE(link_template((*t)[0], "x", EntityUid::intern("User", "a"), std::nullopt).ok());
}

TEST(CedarParser, EntityUids) {
  auto uid = parse_entity_uid(R"(App::User::"al\"ice")");
  ASSERT_TRUE(uid.ok());
  EXPECT_EQ(uid->type(), "App::User");
  EXPECT_EQ(uid->id(), "al\"ice");
  EXPECT_FALSE(parse_entity_uid("User").ok());
}

TEST(CedarParser, StringEscapes) {
  auto e = parse_expression(R"("a\n\t\\\"\u{1F600}\x41")");
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->literal().as_string(),
            "a\n\t\\\"\xF0\x9F\x98\x80"
            "A");
  EXPECT_FALSE(parse_expression(R"("\q")").ok());
  EXPECT_FALSE(parse_expression(R"("\*")").ok());  // only valid in like patterns
  EXPECT_TRUE(parse_expression(R"("a" like "\*")").ok());
}

}  // namespace
}  // namespace custody::cedar
