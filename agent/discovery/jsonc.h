// JSONC (JSON with comments and trailing commas, as VS Code, Cursor, Zed and opencode write it)
// reduced to plain JSON for nlohmann::json. The pre-pass is the only hand-written parsing in the
// scanner: a small state machine that knows strings (with escapes), line and block comments, and
// nothing else; structure is left to nlohmann.
#pragma once

#include <string>
#include <string_view>

namespace custody::discovery {

// Returns `text` with every comment and every trailing comma (a comma followed, after whitespace
// and comments, by `}` or `]`) replaced by spaces; newlines are kept so that parser positions
// still point at the original line. Commas, slashes and brackets inside strings are untouched.
// An unterminated block comment or string is left as is for the JSON parser to reject.
std::string strip_jsonc(std::string_view text);

}  // namespace custody::discovery
