// Error lines printed for non-2xx responses (src/cli/problem.h).
#include <gtest/gtest.h>

#include "cli/problem.h"

namespace custody::cli {
namespace {

TEST(CliProblem, FormatsProblemJson) {
  EXPECT_EQ(format_problem(409,
                           R"({"type": "https://custody.dev/problems/conflict", "title": "Conflict",
                               "status": 409, "detail": "illegal transition from retired to active",
                               "field": "state", "current_state": "retired"})"),
            "illegal transition from retired to active (HTTP 409, conflict, field state)");
  EXPECT_EQ(format_problem(401, R"({"type": "https://custody.dev/problems/unauthenticated",
                                    "title": "Unauthorized", "detail": "unknown token"})"),
            "unknown token (HTTP 401, unauthenticated)");
}

TEST(CliProblem, FallsBackToTitleThenReasonPhrase) {
  EXPECT_EQ(format_problem(404, R"({"type": "https://custody.dev/problems/not_found",
                                    "title": "Not Found"})"),
            "Not Found (HTTP 404, not_found)");
  EXPECT_EQ(format_problem(502, "<html>Bad Gateway</html>"), "Bad Gateway (HTTP 502)");
  EXPECT_EQ(format_problem(503, ""), "Service Unavailable (HTTP 503)");
  EXPECT_EQ(format_problem(499, "[]"), "unexpected response (HTTP 499)");
  EXPECT_EQ(format_problem(400, R"({"type": "about:blank", "detail": "bad"})"), "bad (HTTP 400)");
}

TEST(CliProblem, IgnoresMembersOfTheWrongType) {
  EXPECT_EQ(format_problem(400, R"({"detail": 5, "title": "Bad Request", "field": ["x"],
                                    "type": "https://custody.dev/problems/invalid_argument"})"),
            "Bad Request (HTTP 400, invalid_argument)");
}

TEST(CliProblem, SanitizesServerText) {
  EXPECT_EQ(format_problem(400, R"({"detail": "bad\u001b[2J", "field": "a\nb"})"),
            "bad\\x1b[2J (HTTP 400, field a\\nb)");
}

}  // namespace
}  // namespace custody::cli
