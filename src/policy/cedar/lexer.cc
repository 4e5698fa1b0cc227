#include "policy/cedar/lexer.h"

#include <string>

namespace custody::cedar {
namespace {

bool is_ident_start(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}
bool is_ident_char(char c) {
  return is_ident_start(c) || (c >= '0' && c <= '9');
}

void append_utf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

int hex(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

Error syntax_error(int line, int column, std::string_view message) {
  return Error::invalid("line " + std::to_string(line) + ", column " + std::to_string(column) +
                        ": " + std::string(message))
      .with("line", std::to_string(line))
      .with("column", std::to_string(column));
}

Result<std::string> unescape(std::string_view raw, bool star_escape) {
  std::string out;
  out.reserve(raw.size());
  for (std::size_t i = 0; i < raw.size(); ++i) {
    char c = raw[i];
    if (c != '\\') {
      out += c;
      continue;
    }
    if (++i >= raw.size()) return Error::invalid("string ends with a lone backslash");
    switch (raw[i]) {
      case 'n':
        out += '\n';
        break;
      case 'r':
        out += '\r';
        break;
      case 't':
        out += '\t';
        break;
      case '0':
        out += '\0';
        break;
      case '\\':
        out += star_escape ? "\\\\" : "\\";
        break;
      case '\'':
        out += '\'';
        break;
      case '"':
        out += '"';
        break;
      case '*':
        if (!star_escape) return Error::invalid("invalid escape \\* outside a like pattern");
        out += "\\*";
        break;
      case 'x': {
        int a = i + 1 < raw.size() ? hex(raw[i + 1]) : -1;
        int b = i + 2 < raw.size() ? hex(raw[i + 2]) : -1;
        if (a < 0 || b < 0 || a > 7) return Error::invalid("invalid \\x escape");
        // In a like pattern only `\*` is a literal star: a star written \x2a (or \u{2a}) is a
        // wildcard, as in the official engine (cedar-policy unescapes those before it looks for
        // wildcards). A backslash written so is literal, hence escaped for the parser's decoding.
        if (star_escape && a * 16 + b == '\\') out += '\\';
        out += static_cast<char>(a * 16 + b);
        i += 2;
        break;
      }
      case 'u': {
        if (i + 1 >= raw.size() || raw[i + 1] != '{') return Error::invalid("invalid \\u escape");
        std::size_t j = i + 2;
        uint32_t cp = 0;
        int digits = 0;
        while (j < raw.size() && raw[j] != '}') {
          int h = hex(raw[j]);
          if (h < 0 || ++digits > 6) return Error::invalid("invalid \\u escape");
          cp = cp * 16 + h;
          ++j;
        }
        if (j >= raw.size() || digits == 0 || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
          return Error::invalid("invalid \\u escape");
        if (star_escape && cp == '\\') out += '\\';  // as for \x above
        append_utf8(out, cp);
        i = j;
        break;
      }
      default:
        return Error::invalid(std::string("invalid escape \\") + raw[i]);
    }
  }
  return out;
}

Result<std::vector<Token>> tokenize(std::string_view src) {
  std::vector<Token> tokens;
  int line = 1;
  std::size_t line_start = 0;
  std::size_t i = 0;
  auto column = [&](std::size_t pos) { return static_cast<int>(pos - line_start) + 1; };
  while (true) {
    // Skip whitespace and // comments.
    while (i < src.size()) {
      char c = src[i];
      if (c == '\n') {
        ++line;
        line_start = ++i;
      } else if (c == ' ' || c == '\t' || c == '\r') {
        ++i;
      } else if (c == '/' && i + 1 < src.size() && src[i + 1] == '/') {
        while (i < src.size() && src[i] != '\n') ++i;
      } else {
        break;
      }
    }
    Token t;
    t.line = line;
    t.column = column(i);
    if (i >= src.size()) {
      tokens.push_back(std::move(t));
      return tokens;
    }
    char c = src[i];
    if (is_ident_start(c)) {
      std::size_t start = i;
      while (i < src.size() && is_ident_char(src[i])) ++i;
      t.kind = TokenKind::kIdent;
      t.text = std::string(src.substr(start, i - start));
    } else if (c >= '0' && c <= '9') {
      std::size_t start = i;
      unsigned __int128 n = 0;
      while (i < src.size() && src[i] >= '0' && src[i] <= '9') {
        n = n * 10 + (src[i] - '0');
        if (n > (static_cast<unsigned __int128>(1) << 63))
          return syntax_error(t.line, t.column, "integer literal out of range");
        ++i;
      }
      t.kind = TokenKind::kInteger;
      t.integer = static_cast<uint64_t>(n);
      t.text = std::string(src.substr(start, i - start));
    } else if (c == '"') {
      std::size_t start = ++i;
      while (i < src.size() && src[i] != '"') {
        if (src[i] == '\\') ++i;
        if (i < src.size() && src[i] == '\n') {
          ++line;
          line_start = i + 1;
        }
        ++i;
      }
      if (i >= src.size()) return syntax_error(t.line, t.column, "unterminated string");
      t.kind = TokenKind::kString;
      t.raw = std::string(src.substr(start, i - start));
      ++i;
      auto text = unescape(t.raw, /*star_escape=*/true);
      if (!text.ok()) return syntax_error(t.line, t.column, text.error().message);
      // \* is valid only in like patterns, which the parser decodes from `raw` itself; any other
      // use of such a string is rejected by the parser (like_only).
      auto plain = unescape(t.raw, /*star_escape=*/false);
      t.like_only = !plain.ok();
      if (plain.ok()) t.text = std::move(plain).value();
    } else {
      static const char* kTwo[] = {"==", "!=", "<=", ">=", "&&", "||", "::"};
      t.kind = TokenKind::kPunct;
      for (const char* two : kTwo) {
        if (src.substr(i, 2) == two) t.text = two;
      }
      if (t.text.empty()) {
        if (std::string_view("()[]{},;.:<>!+-*@?=").find(c) == std::string_view::npos)
          return syntax_error(t.line, t.column, std::string("unexpected character '") + c + "'");
        t.text = std::string(1, c);
      }
      i += t.text.size();
    }
    tokens.push_back(std::move(t));
  }
}

}  // namespace custody::cedar
