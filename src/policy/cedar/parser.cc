#include "policy/cedar/parser.h"

#include <algorithm>
#include <unordered_map>

#include "policy/cedar/lexer.h"

namespace custody::cedar {
namespace {

// The parser reports errors by throwing ParseFailure internally: recursive descent with an early
// return at every call would hide the grammar. The exception never leaves this file; every entry
// point converts it into a Result.
struct ParseFailure {
  Error error;
};

struct FunctionInfo {
  Function function;
  bool is_method;  // called as receiver.name(args)
  int arity;       // arguments besides the receiver; -1: checked at evaluation time
};

const std::unordered_map<std::string_view, FunctionInfo>& functions() {
  static const std::unordered_map<std::string_view, FunctionInfo> kFunctions = {
      {"contains", {Function::kContains, true, 1}},
      {"containsAll", {Function::kContainsAll, true, 1}},
      {"containsAny", {Function::kContainsAny, true, 1}},
      {"isEmpty", {Function::kIsEmpty, true, 0}},
      {"hasTag", {Function::kHasTag, true, 1}},
      {"getTag", {Function::kGetTag, true, 1}},
      {"ip", {Function::kIp, false, -1}},
      {"decimal", {Function::kDecimal, false, -1}},
      {"datetime", {Function::kDatetime, false, -1}},
      {"duration", {Function::kDuration, false, -1}},
      {"isIpv4", {Function::kIsIpv4, true, -1}},
      {"isIpv6", {Function::kIsIpv6, true, -1}},
      {"isLoopback", {Function::kIsLoopback, true, -1}},
      {"isMulticast", {Function::kIsMulticast, true, -1}},
      {"isInRange", {Function::kIsInRange, true, -1}},
      {"lessThan", {Function::kLessThan, true, -1}},
      {"lessThanOrEqual", {Function::kLessThanOrEqual, true, -1}},
      {"greaterThan", {Function::kGreaterThan, true, -1}},
      {"greaterThanOrEqual", {Function::kGreaterThanOrEqual, true, -1}},
      {"offset", {Function::kOffset, true, -1}},
      {"durationSince", {Function::kDurationSince, true, -1}},
      {"toDate", {Function::kToDate, true, -1}},
      {"toTime", {Function::kToTime, true, -1}},
      {"toDays", {Function::kToDays, true, -1}},
      {"toHours", {Function::kToHours, true, -1}},
      {"toMinutes", {Function::kToMinutes, true, -1}},
      {"toSeconds", {Function::kToSeconds, true, -1}},
      {"toMilliseconds", {Function::kToMilliseconds, true, -1}},
  };
  return kFunctions;
}

class Parser {
 public:
  Parser(std::vector<Token> tokens, ParseLimits limits)
      : tokens_(std::move(tokens)), limits_(limits) {}

  std::vector<Policy> policies() {
    std::vector<Policy> out;
    while (!at_end()) {
      Policy p = policy();
      p.id = "policy" + std::to_string(out.size());
      out.push_back(std::move(p));
    }
    return out;
  }

  Expr whole_expression() {
    Expr e = expr();
    if (!at_end()) fail(peek(), "unexpected text after the expression");
    return e;
  }

  EntityUid whole_entity_uid() {
    std::string type = path();
    expect("::");
    EntityUid uid = EntityUid::intern(type, string_literal());
    if (!at_end()) fail(peek(), "unexpected text after the entity uid");
    return uid;
  }

 private:
  // ---- token helpers ----
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
  bool is_ident(std::string_view word, std::size_t ahead = 0) const {
    return peek(ahead).kind == TokenKind::kIdent && peek(ahead).text == word;
  }
  bool accept(std::string_view p) {
    if (!is_punct(p)) return false;
    next();
    return true;
  }
  void expect(std::string_view p) {
    if (!accept(p)) fail(peek(), "expected '" + std::string(p) + "'" + found());
  }
  void expect_ident(std::string_view word) {
    if (!is_ident(word)) fail(peek(), "expected '" + std::string(word) + "'" + found());
    next();
  }
  std::string found() const {
    const Token& t = peek();
    if (t.kind == TokenKind::kEnd) return ", found the end of the input";
    if (t.kind == TokenKind::kString) return ", found a string";
    return ", found '" + t.text + "'";
  }
  [[noreturn]] void fail(const Token& at, std::string_view message) const {
    throw ParseFailure{syntax_error(at.line, at.column, message)};
  }

  std::string ident() {
    if (peek().kind != TokenKind::kIdent) fail(peek(), "expected an identifier" + found());
    return next().text;
  }
  std::string string_literal() {
    if (peek().kind != TokenKind::kString) fail(peek(), "expected a string" + found());
    if (peek().like_only) fail(peek(), "\\* is only valid in a like pattern");
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
  EntityUid entity_uid() {
    std::string type = path();
    expect("::");
    return EntityUid::intern(type, string_literal());
  }

  // ---- policies ----
  Policy policy() {
    Policy p;
    while (accept("@")) {
      const Token& at = peek();
      std::string key = ident();
      std::string value;
      if (accept("(")) {
        value = string_literal();
        expect(")");
      }
      if (!p.annotations.emplace(key, value).second) fail(at, "duplicate annotation @" + key);
    }
    const Token& effect = peek();
    if (is_ident("permit")) {
      p.effect = Effect::kPermit;
    } else if (is_ident("forbid")) {
      p.effect = Effect::kForbid;
    } else {
      fail(effect, "expected 'permit' or 'forbid'" + found());
    }
    next();
    expect("(");
    expect_ident("principal");
    p.principal = scope(Slot::kPrincipal);
    expect(",");
    expect_ident("action");
    p.action = action_scope();
    expect(",");
    expect_ident("resource");
    p.resource = scope(Slot::kResource);
    if (is_punct(",") && is_punct(")", 1)) next();
    expect(")");
    while (is_ident("when") || is_ident("unless")) {
      Condition c;
      c.is_when = next().text == "when";
      expect("{");
      if (is_punct("}")) fail(peek(), "empty condition");
      c.expr = expr();
      expect("}");
      p.conditions.push_back(std::move(c));
    }
    expect(";");
    return p;
  }

  // Entity uid or, in a template, the slot named after the scope.
  void scope_target(ScopeConstraint& c, Slot slot) {
    if (accept("?")) {
      const Token& at = peek();
      std::string name = ident();
      std::string want = slot == Slot::kPrincipal ? "principal" : "resource";
      if (name != want) fail(at, "only ?" + want + " may appear here");
      c.slot = slot;
    } else {
      c.entity = entity_uid();
    }
  }

  ScopeConstraint scope(Slot slot) {
    ScopeConstraint c;
    if (accept("==")) {
      c.op = ScopeConstraint::Op::kEq;
      scope_target(c, slot);
    } else if (is_ident("in")) {
      next();
      c.op = ScopeConstraint::Op::kIn;
      scope_target(c, slot);
    } else if (is_ident("is")) {
      next();
      c.op = ScopeConstraint::Op::kIs;
      c.type = path();
      c.type_key = EntityUid::intern_type(c.type);
      if (is_ident("in")) {
        next();
        c.op = ScopeConstraint::Op::kIsIn;
        scope_target(c, slot);
      }
    }
    return c;
  }

  ActionConstraint action_scope() {
    ActionConstraint c;
    if (accept("==")) {
      c.op = ActionConstraint::Op::kEq;
      c.entities.push_back(entity_uid());
    } else if (is_ident("in")) {
      next();
      c.op = ActionConstraint::Op::kIn;
      if (accept("[")) {
        if (!is_punct("]")) {
          do {
            c.entities.push_back(entity_uid());
          } while (accept(","));
        }
        expect("]");
      } else {
        c.entities.push_back(entity_uid());
      }
    }
    return c;
  }

  // ---- expressions ----
  Expr node(ExprKind kind, std::vector<Expr> children, const Token& at) {
    Expr e;
    e.kind = kind;
    int depth = 0;
    for (const auto& c : children) depth = std::max(depth, c.depth);
    e.depth = depth + 1;
    if (e.depth > limits_.max_depth) fail(at, "expression nested too deeply");
    e.children = std::move(children);
    return e;
  }

  // Counts recursion of the descent itself (parentheses etc.) before any node exists.
  struct DepthGuard {
    DepthGuard(Parser& p, const Token& at) : p(p) {
      if (++p.recursion_ > p.limits_.max_depth) p.fail(at, "expression nested too deeply");
    }
    ~DepthGuard() { --p.recursion_; }
    Parser& p;
  };

  Expr expr() {
    DepthGuard guard(*this, peek());
    if (is_ident("if")) {
      const Token& at = next();
      Expr c = expr();
      expect_ident("then");
      Expr a = expr();
      expect_ident("else");
      Expr b = expr();
      std::vector<Expr> kids;
      kids.push_back(std::move(c));
      kids.push_back(std::move(a));
      kids.push_back(std::move(b));
      return node(ExprKind::kIf, std::move(kids), at);
    }
    return logical(ExprKind::kOr);
  }

  // kOr: and {'||' and}; kAnd: relation {'&&' relation}. Flattened into one node.
  Expr logical(ExprKind kind) {
    const char* op = kind == ExprKind::kOr ? "||" : "&&";
    const Token& at = peek();
    Expr first = kind == ExprKind::kOr ? logical(ExprKind::kAnd) : relation();
    if (!is_punct(op)) return first;
    std::vector<Expr> kids;
    kids.push_back(std::move(first));
    while (accept(op)) kids.push_back(kind == ExprKind::kOr ? logical(ExprKind::kAnd) : relation());
    return node(kind, std::move(kids), at);
  }

  Expr binary(ExprKind kind, Expr a, Expr b, const Token& at) {
    std::vector<Expr> kids;
    kids.push_back(std::move(a));
    kids.push_back(std::move(b));
    return node(kind, std::move(kids), at);
  }

  Expr relation() {
    const Token& at = peek();
    Expr lhs = additive();
    static const std::pair<std::string_view, ExprKind> kOps[] = {
        {"==", ExprKind::kEq}, {"!=", ExprKind::kNe}, {"<", ExprKind::kLt},
        {"<=", ExprKind::kLe}, {">", ExprKind::kGt},  {">=", ExprKind::kGe}};
    for (const auto& [spelling, kind] : kOps) {
      if (accept(spelling)) return binary(kind, std::move(lhs), additive(), at);
    }
    if (is_ident("in")) {
      next();
      return binary(ExprKind::kIn, std::move(lhs), additive(), at);
    }
    if (is_ident("has")) {
      next();
      return has(std::move(lhs), at);
    }
    if (is_ident("like")) {
      next();
      if (peek().kind != TokenKind::kString) fail(peek(), "expected a pattern string" + found());
      Expr e = node(ExprKind::kLike, {}, at);
      e.set_pattern(pattern(next()));
      e.children.push_back(std::move(lhs));
      e.depth = e.children[0].depth + 1;
      return e;
    }
    if (is_ident("is")) {
      next();
      std::string type = path();
      std::vector<Expr> kids;
      kids.push_back(std::move(lhs));
      if (is_ident("in")) {
        next();
        kids.push_back(additive());
      }
      Expr e = node(ExprKind::kIs, std::move(kids), at);
      e.set_name(std::move(type));
      return e;
    }
    return lhs;
  }

  // `e has a.b.c` means `e has a && e.a has b && e.a.b has c`.
  Expr has(Expr target, const Token& at) {
    std::vector<std::string> names;
    if (peek().kind == TokenKind::kString) {
      names.push_back(string_literal());
    } else {
      names.push_back(ident());
      while (is_punct(".") && peek(1).kind == TokenKind::kIdent) {
        next();
        names.push_back(next().text);
      }
    }
    std::vector<Expr> tests;
    Expr base = std::move(target);
    for (std::size_t i = 0; i < names.size(); ++i) {
      std::vector<Expr> kids;
      kids.push_back(base);
      Expr test = node(ExprKind::kHas, std::move(kids), at);
      test.set_name(names[i]);
      tests.push_back(std::move(test));
      if (i + 1 < names.size()) {
        std::vector<Expr> inner;
        inner.push_back(std::move(base));
        Expr access = node(ExprKind::kGetAttr, std::move(inner), at);
        access.set_name(names[i]);
        base = std::move(access);
      }
    }
    if (tests.size() == 1) return std::move(tests[0]);
    return node(ExprKind::kAnd, std::move(tests), at);
  }

  std::vector<PatternElement> pattern(const Token& t) {
    auto decoded = unescape(t.raw, /*star_escape=*/true);
    if (!decoded.ok()) fail(t, decoded.error().message);
    const std::string& s = decoded.value();
    std::vector<PatternElement> out;
    for (std::size_t i = 0; i < s.size(); ++i) {
      if (s[i] == '*') {
        if (out.empty() || !out.back().wildcard) out.push_back({true, {}});
        continue;
      }
      char c = s[i];
      // unescape(star_escape) writes a literal star as \* and a literal backslash as \\.
      if (c == '\\' && i + 1 < s.size()) c = s[++i];
      if (out.empty() || out.back().wildcard) out.push_back({false, {}});
      out.back().text += c;
    }
    return out;
  }

  Expr additive() {
    const Token& at = peek();
    Expr lhs = multiplicative();
    while (is_punct("+") || is_punct("-")) {
      ExprKind kind = next().text == "+" ? ExprKind::kAdd : ExprKind::kSub;
      lhs = binary(kind, std::move(lhs), multiplicative(), at);
    }
    return lhs;
  }

  Expr multiplicative() {
    const Token& at = peek();
    Expr lhs = unary();
    while (accept("*")) lhs = binary(ExprKind::kMul, std::move(lhs), unary(), at);
    return lhs;
  }

  Expr unary() {
    const Token& at = peek();
    std::vector<ExprKind> ops;
    while (is_punct("!") || is_punct("-")) {
      ops.push_back(next().text == "!" ? ExprKind::kNot : ExprKind::kNeg);
      if (ops.size() > 4) fail(at, "too many unary operators in a row");
    }
    Expr e;
    if (!ops.empty() && ops.back() == ExprKind::kNeg && peek().kind == TokenKind::kInteger) {
      // A negative literal, so that -9223372036854775808 is representable.
      uint64_t n = next().integer;
      ops.pop_back();
      e.set_literal(Value(static_cast<int64_t>(0 - n)));
      e = member(std::move(e));
    } else {
      e = member(primary());
    }
    for (auto it = ops.rbegin(); it != ops.rend(); ++it) {
      std::vector<Expr> kids;
      kids.push_back(std::move(e));
      e = node(*it, std::move(kids), at);
    }
    return e;
  }

  std::vector<Expr> arguments() {
    std::vector<Expr> args;
    expect("(");
    if (!is_punct(")")) {
      do {
        args.push_back(expr());
      } while (accept(","));
    }
    expect(")");
    return args;
  }

  Expr member(Expr e) {
    while (true) {
      const Token& at = peek();
      if (accept(".")) {
        std::string name = ident();
        if (is_punct("(")) {
          auto it = functions().find(name);
          if (it == functions().end() || !it->second.is_method)
            fail(at, "unknown method '" + name + "'");
          std::vector<Expr> kids;
          kids.push_back(std::move(e));
          for (auto& a : arguments()) kids.push_back(std::move(a));
          if (it->second.arity >= 0 && static_cast<int>(kids.size()) - 1 != it->second.arity)
            fail(at, "wrong number of arguments to '" + name + "'");
          e = node(ExprKind::kCall, std::move(kids), at);
          e.function = it->second.function;
        } else {
          std::vector<Expr> kids;
          kids.push_back(std::move(e));
          e = node(ExprKind::kGetAttr, std::move(kids), at);
          e.set_name(std::move(name));
        }
      } else if (is_punct("[")) {
        next();
        std::string name = string_literal();
        expect("]");
        std::vector<Expr> kids;
        kids.push_back(std::move(e));
        e = node(ExprKind::kGetAttr, std::move(kids), at);
        e.set_name(std::move(name));
      } else {
        return e;
      }
    }
  }

  Expr primary() {
    const Token& at = peek();
    switch (at.kind) {
      case TokenKind::kInteger: {
        if (at.integer > static_cast<uint64_t>(INT64_MAX)) fail(at, "integer literal out of range");
        Expr e = node(ExprKind::kLiteral, {}, at);
        e.set_literal(Value(static_cast<int64_t>(next().integer)));
        return e;
      }
      case TokenKind::kString: {
        Expr e = node(ExprKind::kLiteral, {}, at);
        e.set_literal(Value(string_literal()));
        return e;
      }
      case TokenKind::kEnd:
        fail(at, "expected an expression, found the end of the input");
      case TokenKind::kPunct:
        return punct_primary();
      case TokenKind::kIdent:
        break;
    }
    if (at.text == "true" || at.text == "false") {
      Expr e = node(ExprKind::kLiteral, {}, at);
      e.set_literal(Value(next().text == "true"));
      return e;
    }
    static const std::pair<std::string_view, Var> kVars[] = {{"principal", Var::kPrincipal},
                                                             {"action", Var::kAction},
                                                             {"resource", Var::kResource},
                                                             {"context", Var::kContext}};
    for (const auto& [name, var] : kVars) {
      if (at.text == name && !is_punct("::", 1)) {
        next();
        Expr e = node(ExprKind::kVar, {}, at);
        e.var = var;
        return e;
      }
    }
    std::string name = path();
    if (accept("::")) {
      Expr e = node(ExprKind::kLiteral, {}, at);
      e.set_literal(Value(EntityUid::intern(name, string_literal())));
      return e;
    }
    if (is_punct("(")) {
      auto it = functions().find(name);
      if (it == functions().end() || it->second.is_method)
        fail(at, "unknown function '" + name + "'");
      Expr e = node(ExprKind::kCall, arguments(), at);
      e.function = it->second.function;
      return e;
    }
    fail(at, "unknown variable '" + name + "'");
  }

  Expr punct_primary() {
    const Token& at = peek();
    if (accept("(")) {
      Expr e = expr();
      expect(")");
      return e;
    }
    if (accept("[")) {
      std::vector<Expr> kids;
      if (!is_punct("]")) {
        do {
          kids.push_back(expr());
        } while (accept(","));
      }
      expect("]");
      return node(ExprKind::kSet, std::move(kids), at);
    }
    if (accept("{")) {
      std::vector<Expr> kids;
      std::vector<std::string> names;
      while (!is_punct("}")) {
        const Token& key_at = peek();
        std::string key = peek().kind == TokenKind::kString ? string_literal() : ident();
        if (std::find(names.begin(), names.end(), key) != names.end())
          fail(key_at, "duplicate record key '" + key + "'");
        expect(":");
        names.push_back(std::move(key));
        kids.push_back(expr());
        if (!accept(",")) break;
      }
      expect("}");
      Expr e = node(ExprKind::kRecord, std::move(kids), at);
      e.set_names(std::move(names));
      return e;
    }
    if (is_punct("?")) fail(at, "template slots may appear only in the policy scope");
    fail(at, "expected an expression" + found());
  }

  std::vector<Token> tokens_;
  ParseLimits limits_;
  std::size_t pos_ = 0;
  int recursion_ = 0;
};

template <class T, class F>
Result<T> run(std::string_view source, ParseLimits limits, F body) {
  auto tokens = tokenize(source);
  if (!tokens.ok()) return std::move(tokens).error();
  Parser parser(std::move(tokens).value(), limits);
  try {
    return body(parser);
  } catch (ParseFailure& f) {
    return std::move(f.error);
  }
}

}  // namespace

Result<std::vector<Policy>> parse_policies(std::string_view source, ParseLimits limits) {
  return run<std::vector<Policy>>(source, limits, [](Parser& p) { return p.policies(); });
}

Result<Expr> parse_expression(std::string_view source, ParseLimits limits) {
  return run<Expr>(source, limits, [](Parser& p) { return p.whole_expression(); });
}

Result<EntityUid> parse_entity_uid(std::string_view source) {
  return run<EntityUid>(source, {}, [](Parser& p) { return p.whole_entity_uid(); });
}

Result<Policy> link_template(const Policy& tmpl, std::string new_id,
                             std::optional<EntityUid> principal,
                             std::optional<EntityUid> resource) {
  Policy p = tmpl;
  p.id = std::move(new_id);
  auto fill = [](ScopeConstraint& c, std::optional<EntityUid>& value,
                 std::string_view name) -> Status {
    if (c.slot.has_value() != value.has_value())
      return Error::invalid(value ? "the template has no ?" + std::string(name) + " slot"
                                  : "no value for ?" + std::string(name));
    if (c.slot) {
      c.slot.reset();
      c.entity = *value;
    }
    return ok_status();
  };
  CUSTODY_TRY(fill(p.principal, principal, "principal"));
  CUSTODY_TRY(fill(p.resource, resource, "resource"));
  return p;
}

}  // namespace custody::cedar
