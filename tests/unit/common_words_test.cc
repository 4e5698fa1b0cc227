#include <gtest/gtest.h>

#include "common/words.h"

namespace custody {
namespace {

TEST(Words, SplitDropsEmptyWordsAndRepeatsAndJoinRoundTrips) {
  EXPECT_EQ(split_words("  read write  read admin "),
            (std::vector<std::string>{"read", "write", "admin"}));
  EXPECT_TRUE(split_words("").empty());
  EXPECT_EQ(join_words(split_words("a b c")), "a b c");
  EXPECT_EQ(join_words({}), "");
}

}  // namespace
}  // namespace custody
