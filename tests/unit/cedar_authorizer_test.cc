// Cedar authorizer: forbid overrides permit, default deny, erroring policies, index coverage,
// schema-directed entity parsing, large policy sets.
#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <thread>

#include "policy/cedar/authorizer.h"
#include "policy/cedar/entities_json.h"
#include "policy/cedar/schema.h"

namespace custody::cedar {
namespace {

std::vector<std::string> ids(const std::vector<const Policy*>& ps) {
  std::vector<std::string> out;
  for (const auto* p : ps) out.push_back(p->id);
  return out;
}

TEST(CedarAuthorizer, ForbidOverridesPermitAndErrorsAreSkipped) {
  auto set = PolicySet::parse(R"(
    permit(principal, action == Action::"read", resource);
    forbid(principal in Group::"banned", action, resource);
    permit(principal, action, resource) when { context.missing };
    permit(principal == User::"bob", action, resource is Doc);
  )");
  ASSERT_TRUE(set.ok()) << set.error().message;
  auto entities = entities_from_json(nlohmann::json::parse(R"([
      {"uid": {"type": "User", "id": "eve"}, "parents": [{"type": "Group", "id": "banned"}]}])"),
                                     nullptr);
  ASSERT_TRUE(entities.ok());
  Request r;
  r.principal = EntityUid::intern("User", "alice");
  r.action = EntityUid::intern("Action", "read");
  r.resource = EntityUid::intern("Doc", "1");
  Response a = is_authorized(r, *set, *entities);
  EXPECT_EQ(a.decision, Decision::kAllow);
  EXPECT_EQ(ids(a.reasons), std::vector<std::string>{"policy0"});
  ASSERT_EQ(a.errors.size(), 1u);
  EXPECT_EQ(a.errors[0].policy->id, "policy2");

  r.principal = EntityUid::intern("User", "eve");
  Response d = is_authorized(r, *set, *entities);
  EXPECT_EQ(d.decision, Decision::kDeny);
  EXPECT_EQ(ids(d.reasons), std::vector<std::string>{"policy1"});

  r.principal = EntityUid::intern("User", "bob");
  r.action = EntityUid::intern("Action", "write");
  Response b = is_authorized(r, *set, *entities);
  EXPECT_EQ(b.decision, Decision::kAllow);
  EXPECT_EQ(ids(b.reasons), std::vector<std::string>{"policy3"});

  r.resource = EntityUid::intern("Photo", "1");
  EXPECT_EQ(is_authorized(r, *set, *entities).decision, Decision::kDeny);  // default deny
}

TEST(CedarAuthorizer, SchemaDirectsEntityAndContextParsing) {
  auto schema = parse_cedar_schema(R"(
    namespace App {
      type Net = { addr: ipaddr };
      entity User = { owner: User, limit: decimal, net?: Net };
      action "view" appliesTo { principal: User, resource: User, context: { at: datetime } };
    })");
  ASSERT_TRUE(schema.ok()) << schema.error().message;
  auto entities = entities_from_json(nlohmann::json::parse(R"([
      {"uid": {"type": "App::User", "id": "a"},
       "attrs": {"owner": {"type": "App::User", "id": "b"}, "limit": "1.25",
                 "net": {"addr": "10.1.2.3"}}, "parents": []}])"),
                                     &*schema);
  ASSERT_TRUE(entities.ok()) << entities.error().message;
  auto set = PolicySet::parse(R"(
    permit(principal, action == App::Action::"view", resource) when {
      principal.owner == App::User::"b" && principal.limit.lessThan(decimal("2.0")) &&
      principal.net.addr.isInRange(ip("10.0.0.0/8")) &&
      context.at < datetime("2030-01-01") };)");
  ASSERT_TRUE(set.ok()) << set.error().message;
  Request r;
  r.principal = EntityUid::intern("App::User", "a");
  r.action = EntityUid::intern("App::Action", "view");
  r.resource = r.principal;
  auto context = context_from_json(nlohmann::json::parse(R"({"at": "2025-06-01T10:00:00Z"})"),
                                   &*schema, r.action);
  ASSERT_TRUE(context.ok()) << context.error().message;
  r.context = *context;
  Response resp = is_authorized(r, *set, *entities);
  EXPECT_EQ(resp.decision, Decision::kAllow) << (resp.errors.empty() ? "" : resp.errors[0].message);
}

TEST(CedarAuthorizer, SharedSubexpressionsAreEvaluatedOncePerRequestAndErrorsStillCount) {
  auto set = PolicySet::parse(R"(
    permit(principal, action, resource) when { context.n > 1 && context.tag == "a" };
    permit(principal, action, resource) when { context.n > 1 && context.tag == "b" };
    forbid(principal, action, resource) when { context.n > 1 && context.missing };
    permit(principal, action, resource) when { context.missing || context.n > 1 };
  )");
  ASSERT_TRUE(set.ok()) << set.error().message;
  EXPECT_EQ(set->memo_slots(), 1u);  // `context.n > 1`
  EntityStore entities;
  entities.finalize();
  Request r;
  r.principal = EntityUid::intern("User", "a");
  r.action = EntityUid::intern("Action", "a");
  r.resource = EntityUid::intern("Doc", "d");
  for (int n : {0, 5}) {
    r.context = value_from_json(nlohmann::json{{"n", n}, {"tag", "b"}}, nullptr).value();
    Response resp = is_authorized(r, *set, entities);
    if (n == 0) {
      EXPECT_EQ(resp.decision, Decision::kDeny);
      EXPECT_TRUE(resp.reasons.empty());
      ASSERT_EQ(resp.errors.size(), 1u);  // policy3 reads context.missing first
      EXPECT_EQ(resp.errors[0].policy->id, "policy3");
    } else {
      EXPECT_EQ(resp.decision, Decision::kAllow);
      EXPECT_EQ(ids(resp.reasons), std::vector<std::string>{"policy1"});
      ASSERT_EQ(resp.errors.size(), 2u);  // the erroring shared subexpression fails both
      EXPECT_EQ(resp.errors[0].policy->id, "policy2");
      EXPECT_EQ(resp.errors[1].policy->id, "policy3");
    }
  }
}

TEST(CedarAuthorizer, EntitiesMustConformToTheSchema) {
  auto schema = parse_cedar_schema(R"(
    entity Team;
    entity Color enum ["red", "blue"];
    entity User in [Team] = { name: String, age?: Long, team?: Team };
    action view appliesTo { principal: User, resource: User, context: { n: Long } };)");
  ASSERT_TRUE(schema.ok()) << schema.error().message;
  auto load = [&](const char* text) {
    return entities_from_json(nlohmann::json::parse(text), &*schema);
  };
  EXPECT_TRUE(load(R"([{"uid": {"type": "User", "id": "a"}, "attrs": {"name": "A"}},
                       {"uid": {"type": "Color", "id": "red"}},
                       {"uid": {"type": "Action", "id": "view"}}])")
                  .ok());
  EXPECT_FALSE(load(R"([{"uid": {"type": "User", "id": "a"}, "attrs": {}}])").ok());  // name
  EXPECT_FALSE(load(R"([{"uid": {"type": "User", "id": "a"}}])").ok());
  EXPECT_FALSE(
      load(R"([{"uid": {"type": "User", "id": "a"}, "attrs": {"name": "A", "x": 1}}])").ok());
  EXPECT_FALSE(
      load(R"([{"uid": {"type": "User", "id": "a"}, "attrs": {"name": "A", "age": "1"}}])").ok());
  EXPECT_FALSE(load(R"([{"uid": {"type": "User", "id": "a"},
                         "attrs": {"name": "A", "team": {"type": "User", "id": "b"}}}])")
                   .ok());
  EXPECT_FALSE(load(R"([{"uid": {"type": "Color", "id": "green"}}])").ok());
  EXPECT_FALSE(load(R"([{"uid": {"type": "Nope", "id": "a"}}])").ok());
  EXPECT_FALSE(load(R"([{"uid": {"type": "Team", "id": "t"}, "tags": {"k": "v"}}])").ok());

  EntityUid view = EntityUid::intern("Action", "view");
  EXPECT_TRUE(context_from_json(nlohmann::json::parse(R"({"n": 1})"), &*schema, view).ok());
  EXPECT_FALSE(context_from_json(nlohmann::json::parse(R"({})"), &*schema, view).ok());
  EXPECT_FALSE(
      context_from_json(nlohmann::json::parse(R"({"n": 1, "m": 2})"), &*schema, view).ok());
}

TEST(CedarAuthorizer, ConcurrentAuthorizationsAgree) {
  std::string text;
  for (int i = 0; i < 200; ++i) {
    text += "permit(principal in Group::\"g" + std::to_string(i % 10) +
            "\", action, resource) when { context.n > " + std::to_string(i % 13) +
            " && context.n < 100 };\n";
  }
  auto set = PolicySet::parse(text);
  ASSERT_TRUE(set.ok()) << set.error().message;
  nlohmann::json ej = nlohmann::json::array();
  for (int u = 0; u < 50; ++u) {
    ej.push_back({{"uid", {{"type", "User"}, {"id", "u" + std::to_string(u)}}},
                  {"parents", {{{"type", "Group"}, {"id", "g" + std::to_string(u % 10)}}}}});
  }
  auto entities = entities_from_json(ej, nullptr);
  ASSERT_TRUE(entities.ok());
  auto answer = [&](int i) {
    Request r;
    r.principal = EntityUid::intern("User", "u" + std::to_string(i % 60));
    r.action = EntityUid::intern("Action", "a");
    r.resource = EntityUid::intern("Doc", "d" + std::to_string(i));
    r.context = value_from_json(nlohmann::json{{"n", i % 20}}, nullptr).value();
    Response resp = is_authorized(r, *set, *entities);
    return std::make_pair(resp.decision, ids(resp.reasons));
  };
  std::vector<std::pair<Decision, std::vector<std::string>>> expected;
  for (int i = 0; i < 400; ++i) expected.push_back(answer(i));
  std::vector<std::thread> threads;
  std::atomic<int> mismatches{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 400; ++i) {
        int k = (i * 7 + t * 13) % 400;
        if (answer(k) != expected[k]) ++mismatches;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(mismatches.load(), 0);
}

TEST(CedarAuthorizer, JsonNumbersAreExact) {
  auto v = value_from_json(nlohmann::json::parse("[9223372036854775807, -9223372036854775808]"),
                           nullptr);
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v->to_string(), "[-9223372036854775808, 9223372036854775807]");
  EXPECT_FALSE(value_from_json(nlohmann::json::parse("9223372036854775808"), nullptr).ok());
  EXPECT_FALSE(value_from_json(nlohmann::json::parse("1.5"), nullptr).ok());
}

TEST(CedarAuthorizer, HundredThousandPolicies) {
  std::string text;
  for (int i = 0; i < 100000; ++i) {
    text += "permit(principal == User::\"u" + std::to_string(i) +
            "\", action, resource) when { context.n > " + std::to_string(i % 7) + " };\n";
  }
  auto set = PolicySet::parse(text);
  ASSERT_TRUE(set.ok()) << set.error().message;
  EXPECT_EQ(set->size(), 100000u);
  EntityStore entities;
  entities.finalize();
  Request r;
  r.principal = EntityUid::intern("User", "u99999");
  r.action = EntityUid::intern("Action", "a");
  r.resource = EntityUid::intern("Doc", "d");
  r.context = value_from_json(nlohmann::json::parse(R"({"n": 6})"), nullptr).value();
  Response resp = is_authorized(r, *set, entities);
  EXPECT_EQ(resp.decision, Decision::kAllow);
  EXPECT_EQ(ids(resp.reasons), std::vector<std::string>{"policy99999"});
}

}  // namespace
}  // namespace custody::cedar
