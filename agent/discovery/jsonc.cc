#include "discovery/jsonc.h"

#include <cstddef>

namespace custody::discovery {

namespace {

// Blanks text[from, to) except newlines.
void blank(std::string& out, std::size_t from, std::size_t to) {
  for (std::size_t i = from; i < to && i < out.size(); ++i) {
    if (out[i] != '\n' && out[i] != '\r') out[i] = ' ';
  }
}

}  // namespace

std::string strip_jsonc(std::string_view text) {
  std::string out(text);
  const std::size_t n = out.size();
  // Position of the last comma outside strings/comments that has not yet been followed by a
  // significant character; npos when none is pending.
  std::size_t pending_comma = std::string::npos;
  std::size_t i = 0;
  while (i < n) {
    char c = out[i];
    if (c == '"') {
      pending_comma = std::string::npos;
      ++i;
      while (i < n && out[i] != '"') {
        if (out[i] == '\\') ++i;  // skip the escaped character, whatever it is
        ++i;
      }
      ++i;  // closing quote (or past the end for an unterminated string)
      continue;
    }
    if (c == '/' && i + 1 < n && out[i + 1] == '/') {
      std::size_t end = out.find('\n', i);
      if (end == std::string::npos) end = n;
      blank(out, i, end);
      i = end;
      continue;
    }
    if (c == '/' && i + 1 < n && out[i + 1] == '*') {
      std::size_t end = out.find("*/", i + 2);
      if (end == std::string::npos) break;  // unterminated: leave it for the parser to reject
      blank(out, i, end + 2);
      i = end + 2;
      continue;
    }
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
      ++i;
      continue;
    }
    if ((c == '}' || c == ']') && pending_comma != std::string::npos) {
      out[pending_comma] = ' ';
    }
    pending_comma = (c == ',') ? i : std::string::npos;
    ++i;
  }
  return out;
}

}  // namespace custody::discovery
