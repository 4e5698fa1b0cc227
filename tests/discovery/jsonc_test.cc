#include "discovery/jsonc.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace custody::discovery {
namespace {

nlohmann::json parse(std::string_view text) {
  return nlohmann::json::parse(strip_jsonc(text));
}

TEST(Jsonc, RemovesLineAndBlockComments) {
  auto j = parse("// head\n{ /* a */ \"a\": 1, // tail\n \"b\": /* x */ 2 }\n");
  EXPECT_EQ(j["a"], 1);
  EXPECT_EQ(j["b"], 2);
}

TEST(Jsonc, RemovesTrailingCommasInObjectsAndArrays) {
  auto j = parse("{\"a\": [1, 2, ], \"b\": {\"c\": 3, }, }");
  EXPECT_EQ(j["a"].size(), 2u);
  EXPECT_EQ(j["b"]["c"], 3);
}

TEST(Jsonc, TrailingCommaFollowedByCommentsAndNewlines) {
  auto j = parse("{\"a\": 1, // last\n /* more */\n}");
  EXPECT_EQ(j["a"], 1);
}

TEST(Jsonc, LeavesStringsAlone) {
  auto j = parse(R"({"s": "a, ] // not a comment /* nor this */ ,}", "e": "q\"uote, }",})");
  EXPECT_EQ(j["s"], "a, ] // not a comment /* nor this */ ,}");
  EXPECT_EQ(j["e"], "q\"uote, }");
}

TEST(Jsonc, EscapedBackslashBeforeClosingQuote) {
  auto j = parse(R"({"p": "C:\\dir\\", "q": 1,})");
  EXPECT_EQ(j["p"], "C:\\dir\\");
  EXPECT_EQ(j["q"], 1);
}

TEST(Jsonc, KeepsLinesForErrorPositions) {
  std::string in = "{\n// c\n\"a\": 1,\n}\n";
  std::string out = strip_jsonc(in);
  EXPECT_EQ(out.size(), in.size());
  EXPECT_EQ(std::count(out.begin(), out.end(), '\n'), std::count(in.begin(), in.end(), '\n'));
}

TEST(Jsonc, CommaBetweenValuesIsKept) {
  auto j = parse("[1, /* c */ 2]");
  EXPECT_EQ(j.size(), 2u);
}

TEST(Jsonc, UnterminatedInputIsLeftForTheParser) {
  EXPECT_FALSE(nlohmann::json::accept(strip_jsonc("{\"a\": 1 /* never closed")));
  EXPECT_FALSE(nlohmann::json::accept(strip_jsonc("{\"a\": \"never closed")));
}

}  // namespace
}  // namespace custody::discovery
