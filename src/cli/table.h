// Plain-text output for humans: column-aligned tables for lists and aligned `key: value` lines
// for single objects. Cell text comes from the server and ultimately from other users (display
// names, descriptions), so control characters are made visible rather than sent to the terminal.
#pragma once

#include <ostream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace custody::cli {

// Replaces C0/C1 control characters and DEL with visible escapes ("\n", "\t", "\x1b") and bytes
// that are not valid UTF-8 with "\xNN", so that a value can neither move the cursor nor inject
// terminal escape sequences.
std::string sanitize(std::string_view text);

// Width of already-sanitized text in terminal columns, counting one per UTF-8 code point.
size_t display_width(std::string_view text);

// A table with a header row. Columns are separated by two spaces and padded to the widest cell;
// the last column is not padded, so lines carry no trailing blanks.
class Table {
 public:
  explicit Table(std::vector<std::string> headers);
  // Cells beyond the header count are dropped; missing cells render empty.
  void add_row(std::vector<std::string> cells);
  size_t rows() const { return rows_.size(); }
  void render(std::ostream& out) const;

 private:
  std::vector<std::string> headers_;
  std::vector<std::vector<std::string>> rows_;
};

// One object as "key:  value" lines with the values aligned.
using Fields = std::vector<std::pair<std::string, std::string>>;
void render_fields(std::ostream& out, const Fields& fields);

}  // namespace custody::cli
