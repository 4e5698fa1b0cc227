// Duration flags (--ttl, --max-age) for the CLI (src/cli/duration.h).
#include <gtest/gtest.h>

#include "cli/duration.h"

namespace custody::cli {
namespace {

TEST(CliDuration, ParsesEachUnit) {
  EXPECT_EQ(*parse_duration("45s"), 45);
  EXPECT_EQ(*parse_duration("15m"), 15 * 60);
  EXPECT_EQ(*parse_duration("8h"), 8 * 3600);
  EXPECT_EQ(*parse_duration("30d"), 30 * 86400);
  EXPECT_EQ(*parse_duration("2w"), 14 * 86400);
}

TEST(CliDuration, ParsesCombinationsAndBareSeconds) {
  EXPECT_EQ(*parse_duration("1h30m"), 5400);
  EXPECT_EQ(*parse_duration("1d12h"), 36 * 3600);
  EXPECT_EQ(*parse_duration("3600"), 3600);
  EXPECT_EQ(*parse_duration("90s"), 90);
}

TEST(CliDuration, RefusesBadInput) {
  for (const char* bad : {"", "0", "0s", "-5m", "5x", "h", "1.5h", "5 m", "1h30", "30D", "10y",
                          "99999999999999999999", "40000d"}) {
    auto result = parse_duration(bad);
    EXPECT_FALSE(result.ok()) << bad;
    if (!result.ok()) {
      EXPECT_NE(result.error().message.find("bad duration"), std::string::npos);
    }
  }
}

}  // namespace
}  // namespace custody::cli
