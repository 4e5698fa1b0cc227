// Human-readable tables and key/value output for the CLI (src/cli/table.h).
#include <gtest/gtest.h>

#include <sstream>

#include "cli/table.h"

namespace custody::cli {
namespace {

std::string render(const Table& table) {
  std::ostringstream out;
  table.render(out);
  return out.str();
}

TEST(CliTable, AlignsColumnsWithoutTrailingBlanks) {
  Table table({"ID", "KIND", "NAME"});
  table.add_row({"agt_1", "agent", "Billing bot"});
  table.add_row({"usr_22", "human", ""});
  EXPECT_EQ(render(table),
            "ID      KIND   NAME\n"
            "agt_1   agent  Billing bot\n"
            "usr_22  human\n");
}

TEST(CliTable, HeaderOnlyWhenEmptyAndPadsMissingCells) {
  Table empty({"A", "B"});
  EXPECT_EQ(render(empty), "A  B\n");

  Table table({"A", "B", "C"});
  table.add_row({"x"});
  table.add_row({"1", "2", "3", "dropped"});
  EXPECT_EQ(render(table),
            "A  B  C\n"
            "x\n"
            "1  2  3\n");
}

TEST(CliTable, CountsUtf8CodePointsForWidth) {
  Table table({"NAME", "STATE"});
  table.add_row({"Zoë", "active"});
  table.add_row({"Bob", "pending"});
  EXPECT_EQ(render(table),
            "NAME  STATE\n"
            "Zoë   active\n"
            "Bob   pending\n");
}

TEST(CliSanitize, MakesControlCharactersVisible) {
  EXPECT_EQ(sanitize("plain"), "plain");
  EXPECT_EQ(sanitize("a\nb\tc"), "a\\nb\\tc");
  EXPECT_EQ(sanitize("\x1b[31mred"), "\\x1b[31mred");
  EXPECT_EQ(sanitize(std::string("nul\0x", 5)), "nul\\x00x");
  EXPECT_EQ(sanitize("del\x7f"), "del\\x7f");
  EXPECT_EQ(sanitize("c1\xc2\x9b"
                     "31m"),
            "c1\\xc2\\x9b31m");  // U+009B is a CSI
  EXPECT_EQ(sanitize("ok \xc3\xa9 \xe2\x82\xac \xf0\x9f\x94\x91"), "ok é € 🔑");
}

TEST(CliSanitize, EscapesInvalidUtf8) {
  EXPECT_EQ(sanitize("\xff"), "\\xff");
  EXPECT_EQ(sanitize("\xc3"), "\\xc3");                    // truncated sequence
  EXPECT_EQ(sanitize("\xc0\xaf"), "\\xc0\\xaf");           // overlong '/'
  EXPECT_EQ(sanitize("\xed\xa0\x80"), "\\xed\\xa0\\x80");  // surrogate
}

TEST(CliTable, SanitizesCells) {
  Table table({"NAME"});
  table.add_row({"evil\x1b]0;pwned\x07"});
  EXPECT_EQ(render(table), "NAME\nevil\\x1b]0;pwned\\x07\n");
}

TEST(CliFields, AlignsValues) {
  std::ostringstream out;
  render_fields(out, {{"id", "agt_1"}, {"description", ""}, {"state", "active\n"}});
  EXPECT_EQ(out.str(),
            "id:           agt_1\n"
            "description:\n"
            "state:        active\\n\n");
}

}  // namespace
}  // namespace custody::cli
