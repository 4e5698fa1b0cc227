// Router matching, strict JSON bodies and problem documents (src/http).
#include <gtest/gtest.h>

#include "http/json_body.h"
#include "http/message.h"
#include "http/problem.h"
#include "http/router.h"

namespace custody::http {
namespace {

Handler noop() {
  return [](Request&, Responder) {};
}

TEST(BodyStream, QueuesWakesAndCloses) {
  BodyStream stream;
  int woken = 0;
  auto empty = stream.take([&] { ++woken; });
  EXPECT_TRUE(empty.chunks.empty());
  EXPECT_FALSE(empty.closed);
  stream.write("a");
  stream.write("b");
  EXPECT_EQ(woken, 1);  // once, by the first write
  auto taken = stream.take([&] { ++woken; });
  EXPECT_EQ(taken.chunks, (std::vector<std::string>{"a", "b"}));
  EXPECT_TRUE(stream.take([&] { ++woken; }).chunks.empty());  // nothing new: waits again
  stream.close();
  EXPECT_EQ(woken, 2);
  EXPECT_TRUE(stream.take({}).closed);
  stream.write("late");  // dropped after close
  EXPECT_TRUE(stream.take({}).chunks.empty());
}

TEST(BodyStream, CancelRunsTheHookOnceAndDropsWrites) {
  BodyStream stream;
  int cancels = 0;
  stream.on_cancel([&] { ++cancels; });
  stream.write("queued");
  stream.cancel();
  stream.cancel();
  EXPECT_EQ(cancels, 1);
  EXPECT_TRUE(stream.cancelled());
  stream.write("after");
  EXPECT_TRUE(stream.take({}).chunks.empty());
  int late = 0;
  stream.on_cancel([&] { ++late; });  // already cancelled: runs at once
  EXPECT_EQ(late, 1);
}

TEST(BodyStream, AReaderTooFarBehindCancelsTheStream) {
  BodyStream stream(10);
  int cancels = 0;
  stream.on_cancel([&] { ++cancels; });
  stream.write("12345");
  stream.write("67890");
  EXPECT_FALSE(stream.cancelled());
  stream.take({});  // the reader catches up: room again
  stream.write("abcdefghij");
  EXPECT_FALSE(stream.cancelled());
  stream.write("k");  // 11 bytes waiting
  EXPECT_TRUE(stream.cancelled());
  EXPECT_EQ(cancels, 1);
}

TEST(Router, MatchesExactSegmentsAndCapturesParameters) {
  Router r;
  r.add("GET", "/api/v1/identities", noop());
  r.add("GET", "/api/v1/identities/{id}", noop());
  r.add("POST", "/api/v1/identities/{id}/activate", noop());
  std::vector<std::pair<std::string, std::string>> params;
  auto m = r.match("GET", "/api/v1/identities/agt_1", &params);
  ASSERT_NE(m.handler, nullptr);
  EXPECT_EQ(m.pattern, "/api/v1/identities/{id}");
  ASSERT_EQ(params.size(), 1u);
  EXPECT_EQ(params[0], (std::pair<std::string, std::string>{"id", "agt_1"}));
  // No trailing-slash drift, no empty captures.
  EXPECT_EQ(r.match("GET", "/api/v1/identities/", &params).handler, nullptr);
  EXPECT_EQ(r.match("GET", "/api/v1/identities//activate", &params).handler, nullptr);
  EXPECT_EQ(r.match("GET", "/api/v1/identities/x/", &params).handler, nullptr);
}

TEST(Router, ReportsAllowedMethodsForAKnownPath) {
  Router r;
  r.add("GET", "/x/{id}", noop());
  r.add("PATCH", "/x/{id}", noop());
  std::vector<std::pair<std::string, std::string>> params;
  auto m = r.match("DELETE", "/x/1", &params);
  EXPECT_EQ(m.handler, nullptr);
  EXPECT_EQ(m.pattern, "/x/{id}");
  EXPECT_EQ(m.allowed, "GET, PATCH");
  EXPECT_TRUE(r.match("GET", "/nothing", &params).pattern.empty());
}

TEST(JsonBody, EnforcesDepthAndShape) {
  EXPECT_TRUE(parse_json_text(R"({"a":{"b":[1]}})", 3).ok());
  auto deep = parse_json_text(R"({"a":{"b":[1]}})", 2);
  ASSERT_FALSE(deep.ok());
  EXPECT_NE(deep.error().message.find("deeper than 2"), std::string::npos);
  auto bad = parse_json_text(R"({"a":)", 8);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("malformed JSON"), std::string::npos);
  // A very deep document is refused without recursing through it.
  std::string bomb(100000, '[');
  EXPECT_FALSE(parse_json_text(bomb, 32).ok());
}

TEST(JsonBody, TypedMembersNameTheField) {
  auto j = nlohmann::json::parse(R"({"name": 5, "labels": {"a": 1}, "tools": ["x", 2], "n": 1.5})");
  EXPECT_EQ(opt_string(j, "name").error().field, "name");
  EXPECT_EQ(opt_string_map(j, "labels").error().field, "labels");
  EXPECT_EQ(opt_string_list(j, "tools").error().field, "tools");
  EXPECT_EQ(opt_int(j, "n").error().field, "n");
  EXPECT_EQ(req_string(j, "missing").error().field, "missing");
  auto unknown = check_members(j, {"name", "labels", "tools"});
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.error().field, "n");
}

TEST(Problem, IsRfc9457WithCustodyMembers) {
  BeastRequest raw;
  Request req{raw, "POST", "/api/v1/identities/usr_1/activate", "", "rid-1", "", {}, 0};
  Response r = problem(req, Error::conflict("illegal transition from retired to active", "state")
                                .with("current_state", "retired"));
  EXPECT_EQ(r.status, 409);
  EXPECT_EQ(r.content_type, "application/problem+json");
  auto body = nlohmann::json::parse(r.body);
  EXPECT_EQ(body["type"], "https://custody.dev/problems/conflict");
  EXPECT_EQ(body["status"], 409);
  EXPECT_EQ(body["field"], "state");
  EXPECT_EQ(body["current_state"], "retired");
  EXPECT_EQ(body["request_id"], "rid-1");
  EXPECT_EQ(body["instance"], "/api/v1/identities/usr_1/activate");
  Response unauth = problem(req, Error::unauthenticated("missing bearer token"));
  ASSERT_FALSE(unauth.headers.empty());
  EXPECT_EQ(unauth.headers[0].first, "WWW-Authenticate");
}

TEST(Query, DecodesRepeatedParametersAndRefusesBadEscapesByName) {
  auto q = parse_query("label=team%3Abilling&label=env:prod&name=a+b");
  ASSERT_TRUE(q.ok());
  ASSERT_EQ(q->size(), 3u);
  EXPECT_EQ((*q)[0].second, "team:billing");
  EXPECT_EQ((*q)[1].second, "env:prod");
  EXPECT_EQ((*q)[2].second, "a b");
  auto bad = parse_query("label=x&owner_id=%zz");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, Code::kInvalidArgument);
  EXPECT_EQ(bad.error().field, "owner_id");
}

}  // namespace
}  // namespace custody::http
