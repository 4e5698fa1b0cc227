// Tokenizer shared by the Cedar policy parser and the Cedar schema parser.
//
// The whole input is tokenized up front; every token keeps its 1-based line and column so that
// parse errors can point at the offending text.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace custody::cedar {

enum class TokenKind : uint8_t {
  kIdent,    // identifiers and keywords
  kString,   // "..." with escapes already decoded into `text`
  kInteger,  // unsigned decimal literal in `integer` (up to 2^63, so that -2^63 can be written)
  kPunct,    // operators and punctuation, spelled in `text`
  kEnd,
};

struct Token {
  TokenKind kind = TokenKind::kEnd;
  std::string text;
  uint64_t integer = 0;
  int line = 1;
  int column = 1;
  // For string tokens: the raw text between the quotes (needed for `like` patterns, where `\*`
  // is a literal star and must not be confused with a wildcard).
  std::string raw;
  bool like_only = false;  // the string uses \* and is therefore valid only as a like pattern
};

// Tokenizes Cedar source. Errors (bad character, unterminated string, bad escape, integer too
// large) carry "line L, column C".
Result<std::vector<Token>> tokenize(std::string_view source);

// Decodes the escapes of a Cedar string literal body: \n \r \t \\ \0 \' \" \xHH (≤ 0x7f) and
// \u{H..H}. With `star_escape`, also accepts \* (kept as "\*" for the like-pattern builder).
Result<std::string> unescape(std::string_view raw, bool star_escape);

// "line L, column C: message" as an invalid-argument Error.
Error syntax_error(int line, int column, std::string_view message);

}  // namespace custody::cedar
