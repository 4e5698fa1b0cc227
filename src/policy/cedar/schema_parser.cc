// The human-readable Cedar schema format
// (https://docs.cedarpolicy.com/schema/human-readable-schema-grammar.html).
#include "policy/cedar/lexer.h"
#include "policy/cedar/schema.h"
#include "policy/cedar/schema_builder.h"

namespace custody::cedar {
namespace {

// As in the policy parser, errors unwind by exception inside this file only.
struct SchemaFailure {
  Error error;
};

constexpr int kMaxNesting = 64;

class SchemaParser {
 public:
  explicit SchemaParser(std::vector<Token> tokens) : tokens_(std::move(tokens)) {}

  SchemaBuilder parse() {
    while (!at_end()) {
      annotations();
      if (is_ident("namespace")) {
        next();
        std::string ns = path();
        expect("{");
        while (!is_punct("}")) {
          if (at_end()) fail(peek(), "unterminated namespace");
          annotations();
          declaration(ns);
        }
        next();
      } else {
        declaration("");
      }
    }
    return std::move(builder_);
  }

 private:
  const Token& peek(std::size_t ahead = 0) const {
    return tokens_[std::min(pos_ + ahead, tokens_.size() - 1)];
  }
  bool at_end() const { return peek().kind == TokenKind::kEnd; }
  const Token& next() {
    const Token& t = peek();
    if (pos_ < tokens_.size() - 1) ++pos_;
    return t;
  }
  bool is_punct(std::string_view p, std::size_t ahead = 0) const {
    return peek(ahead).kind == TokenKind::kPunct && peek(ahead).text == p;
  }
  bool is_ident(std::string_view w) const {
    return peek().kind == TokenKind::kIdent && peek().text == w;
  }
  bool accept(std::string_view p) {
    if (!is_punct(p)) return false;
    next();
    return true;
  }
  void expect(std::string_view p) {
    if (!accept(p)) fail(peek(), "expected '" + std::string(p) + "'");
  }
  [[noreturn]] void fail(const Token& at, std::string_view message) const {
    throw SchemaFailure{syntax_error(at.line, at.column, message)};
  }
  void check(Status s, const Token& at) const {
    if (!s.ok()) fail(at, s.error().message);
  }
  std::string ident() {
    if (peek().kind != TokenKind::kIdent) fail(peek(), "expected an identifier");
    return next().text;
  }
  // IDENT {'::' IDENT}, stopping before '::' followed by a string.
  std::string path() {
    std::string p = ident();
    while (is_punct("::") && peek(1).kind == TokenKind::kIdent) {
      next();
      p += "::" + next().text;
    }
    return p;
  }
  std::string name() {  // IDENT | STR
    if (peek().kind == TokenKind::kString) return next().text;
    return ident();
  }
  std::string string_literal() {
    if (peek().kind != TokenKind::kString) fail(peek(), "expected a string");
    return next().text;
  }

  void annotations() {
    while (accept("@")) {
      ident();
      if (accept("(")) {
        string_literal();
        expect(")");
      }
    }
  }

  void declaration(const std::string& ns) {
    const Token& at = peek();
    if (is_ident("entity")) {
      next();
      entity(ns, at);
    } else if (is_ident("action")) {
      next();
      action(ns, at);
    } else if (is_ident("type")) {
      next();
      std::string n = ident();
      expect("=");
      RawTypePtr t = type(0);
      expect(";");
      check(builder_.add_common_type(ns, n, std::move(t)), at);
    } else {
      fail(at, "expected 'entity', 'action', 'type' or 'namespace'");
    }
  }

  std::vector<std::string> paths() {  // Path | '[' [Path {, Path}] ']'
    std::vector<std::string> out;
    if (accept("[")) {
      while (!is_punct("]")) {
        out.push_back(path());
        if (!accept(",")) break;
      }
      expect("]");
    } else {
      out.push_back(path());
    }
    return out;
  }

  void entity(const std::string& ns, const Token& at) {
    std::vector<std::string> names{ident()};
    while (accept(",")) names.push_back(ident());
    std::optional<std::vector<std::string>> enum_ids;
    std::vector<std::string> member_of;
    RawTypePtr shape, tags;
    if (is_ident("enum")) {
      next();
      expect("[");
      enum_ids.emplace();
      while (!is_punct("]")) {
        enum_ids->push_back(string_literal());
        if (!accept(",")) break;
      }
      expect("]");
    } else {
      if (is_ident("in")) {
        next();
        member_of = paths();
      }
      accept("=");
      if (is_punct("{")) shape = record_type(0);
      if (is_ident("tags")) {
        next();
        tags = type(0);
      }
    }
    expect(";");
    for (const auto& n : names)
      check(builder_.add_entity_type(ns, n, member_of, shape, tags, enum_ids), at);
  }

  RawActionRef action_ref() {
    if (peek().kind == TokenKind::kIdent && is_punct("::", 1)) {
      std::string type = path();
      expect("::");
      return {type, string_literal()};
    }
    return {"", name()};
  }

  void action(const std::string& ns, const Token& at) {
    std::vector<std::string> names{name()};
    while (accept(",")) names.push_back(name());
    std::vector<RawActionRef> member_of;
    if (is_ident("in")) {
      next();
      if (accept("[")) {
        while (!is_punct("]")) {
          member_of.push_back(action_ref());
          if (!accept(",")) break;
        }
        expect("]");
      } else {
        member_of.push_back(action_ref());
      }
    }
    bool applies = false;
    std::vector<std::string> principals, resources;
    RawTypePtr context;
    if (is_ident("appliesTo")) {
      next();
      applies = true;
      expect("{");
      while (!is_punct("}")) {
        const Token& key_at = peek();
        std::string key = ident();
        expect(":");
        if (key == "principal") {
          principals = paths();
        } else if (key == "resource") {
          resources = paths();
        } else if (key == "context") {
          context = is_punct("{") ? record_type(0) : named(path());
        } else {
          fail(key_at, "expected 'principal', 'resource' or 'context'");
        }
        if (!accept(",")) break;
      }
      expect("}");
    }
    if (is_ident("attributes")) {  // action attributes are accepted and ignored
      next();
      record_type(0);
    }
    expect(";");
    for (const auto& n : names)
      check(builder_.add_action(ns, n, member_of, applies, principals, resources, context), at);
  }

  RawTypePtr named(std::string n) {
    auto t = std::make_shared<RawType>();
    t->kind = RawType::Kind::kName;
    t->name = std::move(n);
    return t;
  }

  RawTypePtr type(int depth) {
    if (depth > kMaxNesting) fail(peek(), "type nested too deeply");
    if (is_punct("{")) return record_type(depth + 1);
    if (is_ident("Set") && is_punct("<", 1)) {
      next();
      next();
      auto t = std::make_shared<RawType>();
      t->kind = RawType::Kind::kSet;
      t->element = type(depth + 1);
      expect(">");
      return t;
    }
    return named(path());
  }

  RawTypePtr record_type(int depth) {
    if (depth > kMaxNesting) fail(peek(), "type nested too deeply");
    expect("{");
    auto t = std::make_shared<RawType>();
    t->kind = RawType::Kind::kRecord;
    while (!is_punct("}")) {
      annotations();
      RawType::Attribute a;
      a.name = name();
      a.required = !accept("?");
      expect(":");
      a.type = type(depth + 1);
      t->attributes.push_back(std::move(a));
      if (!accept(",")) break;
    }
    expect("}");
    return t;
  }

  std::vector<Token> tokens_;
  std::size_t pos_ = 0;
  SchemaBuilder builder_;
};

}  // namespace

Result<Schema> parse_cedar_schema(std::string_view source) {
  auto tokens = tokenize(source);
  if (!tokens.ok()) return std::move(tokens).error();
  SchemaParser parser(std::move(tokens).value());
  SchemaBuilder builder;
  try {
    builder = parser.parse();
  } catch (SchemaFailure& f) {
    return std::move(f.error);
  }
  return builder.build();
}

}  // namespace custody::cedar
