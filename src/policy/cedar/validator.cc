#include "policy/cedar/validator.h"

#include <algorithm>
#include <map>
#include <memory>
#include <set>
#include <unordered_map>

#include "policy/cedar/extensions.h"

namespace custody::cedar {
namespace {

// ---- types ----

enum class BoolKind : uint8_t { kAny, kTrue, kFalse };

struct VType;
using VTypePtr = std::shared_ptr<const VType>;
struct VAttr {
  VTypePtr type;
  bool required = true;
};
struct VType {
  enum class Kind : uint8_t { kBool, kLong, kString, kEntity, kSet, kRecord, kExt };
  Kind kind = Kind::kBool;
  BoolKind b = BoolKind::kAny;
  std::string name;                    // kEntity: entity type; kExt: extension type
  VTypePtr element;                    // kSet
  std::map<std::string, VAttr> attrs;  // kRecord (closed)
};
using K = VType::Kind;

VTypePtr make(K kind, std::string name = {}) {
  auto t = std::make_shared<VType>();
  t->kind = kind;
  t->name = std::move(name);
  return t;
}
VTypePtr boolean(BoolKind b) {
  static const VTypePtr kAny = [] { return make(K::kBool); }();
  static const VTypePtr kTrue = [] {
    auto t = std::make_shared<VType>();
    t->b = BoolKind::kTrue;
    return VTypePtr(t);
  }();
  static const VTypePtr kFalse = [] {
    auto t = std::make_shared<VType>();
    t->b = BoolKind::kFalse;
    return VTypePtr(t);
  }();
  return b == BoolKind::kTrue ? kTrue : b == BoolKind::kFalse ? kFalse : kAny;
}
VTypePtr set_of(VTypePtr element) {
  auto t = std::make_shared<VType>();
  t->kind = K::kSet;
  t->element = std::move(element);
  return t;
}

bool same(const VType& a, const VType& b);
bool same(const VTypePtr& a, const VTypePtr& b) {
  return a == b || same(*a, *b);
}
bool same(const VType& a, const VType& b) {
  if (a.kind != b.kind) return false;
  switch (a.kind) {
    case K::kBool:
      return a.b == b.b;
    case K::kEntity:
    case K::kExt:
      return a.name == b.name;
    case K::kSet:
      return same(a.element, b.element);
    case K::kRecord:
      if (a.attrs.size() != b.attrs.size()) return false;
      for (auto i = a.attrs.begin(), j = b.attrs.begin(); i != a.attrs.end(); ++i, ++j) {
        if (i->first != j->first || i->second.required != j->second.required ||
            !same(i->second.type, j->second.type))
          return false;
      }
      return true;
    default:
      return true;
  }
}

// Least upper bound; nullptr when the types have none (strict mode: no entity-type unions).
VTypePtr lub(const VTypePtr& a, const VTypePtr& b) {
  if (a->kind != b->kind) return nullptr;
  switch (a->kind) {
    case K::kBool:
      return boolean(a->b == b->b ? a->b : BoolKind::kAny);
    case K::kSet: {
      VTypePtr e = lub(a->element, b->element);
      return e ? set_of(e) : nullptr;
    }
    case K::kRecord: {
      if (a->attrs.size() != b->attrs.size()) return nullptr;
      auto t = std::make_shared<VType>();
      t->kind = K::kRecord;
      for (auto i = a->attrs.begin(), j = b->attrs.begin(); i != a->attrs.end(); ++i, ++j) {
        if (i->first != j->first || i->second.required != j->second.required) return nullptr;
        VTypePtr l = lub(i->second.type, j->second.type);
        if (!l) return nullptr;
        t->attrs[i->first] = {l, i->second.required};
      }
      return t;
    }
    default:
      return same(*a, *b) ? a : nullptr;
  }
}

std::string describe(const VTypePtr& t) {
  switch (t->kind) {
    case K::kBool:
      return t->b == BoolKind::kTrue ? "True" : t->b == BoolKind::kFalse ? "False" : "Bool";
    case K::kLong:
      return "Long";
    case K::kString:
      return "String";
    case K::kEntity:
      return "entity " + t->name;
    case K::kExt:
      return t->name;
    case K::kSet:
      return "Set<" + describe(t->element) + ">";
    case K::kRecord:
      return "record";
  }
  return "?";
}

// ---- capabilities: facts established by `has` / `hasTag` guards ----

using Capability = std::pair<std::string, std::string>;  // (expression key, "a:attr" | "t:tagkey")
using Caps = std::vector<Capability>;

Caps caps_union(Caps a, const Caps& b) {
  for (const auto& c : b) {
    if (std::find(a.begin(), a.end(), c) == a.end()) a.push_back(c);
  }
  return a;
}
Caps caps_intersection(const Caps& a, const Caps& b) {
  Caps out;
  for (const auto& c : a) {
    if (std::find(b.begin(), b.end(), c) != b.end()) out.push_back(c);
  }
  return out;
}
bool has_cap(const Caps& c, const Capability& x) {
  return std::find(c.begin(), c.end(), x) != c.end();
}

struct Typed {
  VTypePtr type;
  Caps caps;
};

struct TypeFailure {
  std::string message;
};
[[noreturn]] void type_error(std::string message) {
  throw TypeFailure{std::move(message)};
}

// ---- the schema as the typechecker sees it ----

class TypeEnvironment {
 public:
  explicit TypeEnvironment(const Schema& schema) : schema_(schema) {
    for (const auto& [name, decl] : schema.entity_types()) {
      std::set<std::string> seen;
      std::vector<std::string> stack = decl.member_of;
      while (!stack.empty()) {
        std::string n = stack.back();
        stack.pop_back();
        if (!seen.insert(n).second) continue;
        if (const auto* p = schema.entity_type(n)) {
          for (const auto& m : p->member_of) stack.push_back(m);
        }
      }
      type_ancestors_[name] = std::move(seen);
    }
    for (const auto& a : schema.actions()) {
      action_types_.insert(a.uid.type());
      std::set<EntityUid> seen;
      std::vector<EntityUid> stack = a.member_of;
      while (!stack.empty()) {
        EntityUid n = stack.back();
        stack.pop_back();
        if (!seen.insert(n).second) continue;
        if (const auto* p = schema.action(n)) {
          for (const auto& m : p->member_of) stack.push_back(m);
        }
      }
      action_ancestors_[a.uid] = std::move(seen);
    }
  }

  const Schema& schema() const { return schema_; }
  bool is_entity_type(const std::string& t) const { return schema_.entity_type(t) != nullptr; }
  bool is_action_type(const std::string& t) const { return action_types_.count(t) > 0; }
  bool is_action(const EntityUid& uid) const { return schema_.action(uid) != nullptr; }
  bool valid_uid(const EntityUid& uid) const {
    if (is_action(uid)) return true;
    const EntityTypeDecl* d = schema_.entity_type(uid.type());
    if (d == nullptr) return false;
    if (!d->enum_ids) return true;
    return std::find(d->enum_ids->begin(), d->enum_ids->end(), uid.id()) != d->enum_ids->end();
  }
  bool action_descendant(const EntityUid& a, const EntityUid& b) const {
    if (a == b) return true;
    auto it = action_ancestors_.find(a);
    return it != action_ancestors_.end() && it->second.count(b) > 0;
  }
  bool type_descendant(const std::string& a, const std::string& b) const {
    if (a == b) return true;
    auto it = type_ancestors_.find(a);
    if (it != type_ancestors_.end()) return it->second.count(b) > 0;
    if (is_action_type(a)) {
      for (const auto& [uid, anc] : action_ancestors_) {
        if (uid.type() != a) continue;
        for (const auto& x : anc) {
          if (x.type() == b) return true;
        }
      }
    }
    return false;
  }

  VTypePtr convert(const SchemaType* t) const {
    auto it = cache_.find(t);
    if (it != cache_.end()) return it->second;
    VTypePtr out;
    switch (t->kind) {
      case SchemaType::Kind::kBool:
        out = boolean(BoolKind::kAny);
        break;
      case SchemaType::Kind::kLong:
        out = make(K::kLong);
        break;
      case SchemaType::Kind::kString:
        out = make(K::kString);
        break;
      case SchemaType::Kind::kEntity:
        out = make(K::kEntity, t->name);
        break;
      case SchemaType::Kind::kExtension:
        out = make(K::kExt, t->name);
        break;
      case SchemaType::Kind::kSet:
        out = set_of(convert(t->element.get()));
        break;
      case SchemaType::Kind::kRecord: {
        auto r = std::make_shared<VType>();
        r->kind = K::kRecord;
        for (const auto& [n, a] : t->attributes) r->attrs[n] = {convert(a.type.get()), a.required};
        out = r;
        break;
      }
    }
    cache_[t] = out;
    return out;
  }

 private:
  const Schema& schema_;
  std::set<std::string> action_types_;
  std::unordered_map<std::string, std::set<std::string>> type_ancestors_;
  std::map<EntityUid, std::set<EntityUid>> action_ancestors_;
  mutable std::unordered_map<const SchemaType*, VTypePtr> cache_;
};

// One request environment.
struct RequestType {
  std::string principal;
  EntityUid action;
  std::string resource;
  VTypePtr context;
};

// A canonical text for an expression, so that capabilities can name the guarded expression.
void expr_key(const Expr& e, const EntityUid& action, std::string& out) {
  out += std::to_string(static_cast<int>(e.kind));
  out += '(';
  switch (e.kind) {
    case ExprKind::kLiteral:
      out += e.literal().to_string();
      break;
    case ExprKind::kVar:
      if (e.var == Var::kAction)
        out += action.to_string();
      else
        out += std::to_string(static_cast<int>(e.var));
      break;
    case ExprKind::kCall:
      out += std::to_string(static_cast<int>(e.function));
      break;
    default:
      out += e.name();
      break;
  }
  for (const auto& n : e.names()) out += "," + n;
  for (const auto& p : e.pattern()) out += p.wildcard ? "*" : "'" + p.text;
  for (const auto& c : e.children) {
    out += ' ';
    expr_key(c, action, out);
  }
  out += ')';
}

class Typechecker {
 public:
  Typechecker(const TypeEnvironment& env, const RequestType& req) : env_(env), req_(req) {}

  Typed check(const Expr& e, const Caps& c) {
    switch (e.kind) {
      case ExprKind::kLiteral:
        return {literal(e.literal()), {}};
      case ExprKind::kVar:
        switch (e.var) {
          case Var::kPrincipal:
            return {make(K::kEntity, req_.principal), {}};
          case Var::kAction:
            return {make(K::kEntity, req_.action.type()), {}};
          case Var::kResource:
            return {make(K::kEntity, req_.resource), {}};
          case Var::kContext:
            return {req_.context, {}};
        }
        break;
      case ExprKind::kIf:
        return check_if(e, c);
      case ExprKind::kAnd:
        return check_and_chain(e.children, e.children.size(), c);
      case ExprKind::kOr:
        return check_or_chain(e.children, e.children.size(), c);
      case ExprKind::kNot: {
        Typed t = check(e.children[0], c);
        if (t.type->kind != K::kBool) type_error("! expects a boolean, got " + describe(t.type));
        BoolKind b = t.type->b == BoolKind::kTrue    ? BoolKind::kFalse
                     : t.type->b == BoolKind::kFalse ? BoolKind::kTrue
                                                     : BoolKind::kAny;
        return {boolean(b), {}};
      }
      case ExprKind::kNeg:
        expect_long(check(e.children[0], c));
        return {make(K::kLong), {}};
      case ExprKind::kAdd:
      case ExprKind::kSub:
      case ExprKind::kMul:
        expect_long(check(e.children[0], c));
        expect_long(check(e.children[1], c));
        return {make(K::kLong), {}};
      case ExprKind::kLt:
      case ExprKind::kLe:
      case ExprKind::kGt:
      case ExprKind::kGe: {
        VTypePtr a = check(e.children[0], c).type, b = check(e.children[1], c).type;
        bool ok = (a->kind == K::kLong && b->kind == K::kLong) ||
                  (a->kind == K::kExt && b->kind == K::kExt && a->name == b->name &&
                   (a->name == "datetime" || a->name == "duration"));
        if (!ok) type_error("comparison of " + describe(a) + " and " + describe(b));
        return {boolean(BoolKind::kAny), {}};
      }
      case ExprKind::kEq:
      case ExprKind::kNe: {
        VTypePtr t = check_eq(e, c);
        if (e.kind == ExprKind::kEq) return {t, {}};
        BoolKind b = t->b == BoolKind::kTrue    ? BoolKind::kFalse
                     : t->b == BoolKind::kFalse ? BoolKind::kTrue
                                                : BoolKind::kAny;
        return {boolean(b), {}};
      }
      case ExprKind::kIn: {
        VTypePtr a = check(e.children[0], c).type, b = check(e.children[1], c).type;
        return {boolean(check_in(a, b, e.children[0], e.children[1])), {}};
      }
      case ExprKind::kHas:
        return check_has(e, c);
      case ExprKind::kGetAttr:
        return {check_get_attr(e, c), {}};
      case ExprKind::kLike: {
        VTypePtr t = check(e.children[0], c).type;
        if (t->kind != K::kString) type_error("like expects a string, got " + describe(t));
        return {boolean(BoolKind::kAny), {}};
      }
      case ExprKind::kIs: {
        VTypePtr t = check(e.children[0], c).type;
        if (t->kind != K::kEntity) type_error("is expects an entity, got " + describe(t));
        if (!env_.is_entity_type(e.name()) && !env_.is_action_type(e.name()))
          type_error("unknown entity type " + e.name());
        BoolKind is = t->name == e.name() ? BoolKind::kTrue : BoolKind::kFalse;
        if (e.children.size() == 1 || is == BoolKind::kFalse) return {boolean(is), {}};
        // `x is T in y` is `x is T && x in y`.
        VTypePtr y = check(e.children[1], c).type;
        return {boolean(check_in(t, y, e.children[0], e.children[1])), {}};
      }
      case ExprKind::kSet: {
        if (e.children.empty()) type_error("empty set literals have no type");
        VTypePtr element;
        for (const auto& x : e.children) {
          VTypePtr t = check(x, c).type;
          element = element ? lub(element, t) : t;
          if (!element) type_error("set elements of incompatible types");
        }
        return {set_of(element), {}};
      }
      case ExprKind::kRecord: {
        auto r = std::make_shared<VType>();
        r->kind = K::kRecord;
        for (std::size_t i = 0; i < e.children.size(); ++i)
          r->attrs[e.names()[i]] = {check(e.children[i], c).type, true};
        return {r, {}};
      }
      case ExprKind::kCall:
        return check_call(e, c);
    }
    type_error("unsupported expression");
  }

 private:
  VTypePtr literal(const Value& v) {
    switch (v.kind()) {
      case ValueKind::kBool:
        return boolean(v.as_bool() ? BoolKind::kTrue : BoolKind::kFalse);
      case ValueKind::kLong:
        return make(K::kLong);
      case ValueKind::kString:
        return make(K::kString);
      case ValueKind::kEntity:
        if (!env_.valid_uid(v.as_entity()))
          type_error("unknown entity " + v.as_entity().to_string());
        return make(K::kEntity, v.as_entity().type());
      default:
        type_error("unexpected literal");
    }
  }

  static void expect_long(const Typed& t) {
    if (t.type->kind != K::kLong) type_error("expected Long, got " + describe(t.type));
  }

  std::string key(const Expr& e) const {
    std::string out;
    expr_key(e, req_.action, out);
    return out;
  }

  // The entity uid of a literal (the action variable counts: it is substituted by its uid).
  std::optional<EntityUid> uid_of(const Expr& e) const {
    if (e.kind == ExprKind::kLiteral && e.literal().is_entity()) return e.literal().as_entity();
    if (e.kind == ExprKind::kVar && e.var == Var::kAction) return req_.action;
    return std::nullopt;
  }
  std::optional<Value> literal_of(const Expr& e) const {
    if (e.kind == ExprKind::kLiteral) return e.literal();
    if (e.kind == ExprKind::kVar && e.var == Var::kAction) return Value(req_.action);
    return std::nullopt;
  }

  Typed check_if(const Expr& e, const Caps& c) {
    Typed cond = check(e.children[0], c);
    if (cond.type->kind != K::kBool) type_error("if condition is " + describe(cond.type));
    if (cond.type->b == BoolKind::kTrue) {
      Typed a = check(e.children[1], caps_union(c, cond.caps));
      return {a.type, caps_union(cond.caps, a.caps)};
    }
    if (cond.type->b == BoolKind::kFalse) return check(e.children[2], c);
    Typed a = check(e.children[1], caps_union(c, cond.caps));
    Typed b = check(e.children[2], c);
    VTypePtr t = lub(a.type, b.type);
    if (!t) type_error("if branches of incompatible types");
    return {t, caps_intersection(caps_union(cond.caps, a.caps), b.caps)};
  }

  // Left-associated && over the first n children.
  Typed check_and_chain(const std::vector<Expr>& xs, std::size_t n, const Caps& c) {
    if (n == 1) return check_bool_operand(xs[0], c);
    Typed left = check_and_chain(xs, n - 1, c);
    if (left.type->b == BoolKind::kFalse) return left;
    Typed right = check_bool_operand(xs[n - 1], caps_union(c, left.caps));
    if (right.type->b == BoolKind::kFalse) return {boolean(BoolKind::kFalse), {}};
    if (right.type->b == BoolKind::kTrue) return {left.type, caps_union(left.caps, right.caps)};
    return {boolean(BoolKind::kAny), caps_union(left.caps, right.caps)};
  }

  Typed check_or_chain(const std::vector<Expr>& xs, std::size_t n, const Caps& c) {
    if (n == 1) return check_bool_operand(xs[0], c);
    Typed left = check_or_chain(xs, n - 1, c);
    if (left.type->b == BoolKind::kTrue) return left;
    Typed right = check_bool_operand(xs[n - 1], c);
    if (left.type->b == BoolKind::kFalse) return right;
    if (right.type->b == BoolKind::kTrue) return {boolean(BoolKind::kTrue), {}};
    if (right.type->b == BoolKind::kFalse) return {boolean(BoolKind::kAny), left.caps};
    return {boolean(BoolKind::kAny), caps_intersection(left.caps, right.caps)};
  }

  Typed check_bool_operand(const Expr& x, const Caps& c) {
    Typed t = check(x, c);
    if (t.type->kind != K::kBool) type_error("expected a boolean, got " + describe(t.type));
    return t;
  }

  VTypePtr check_eq(const Expr& e, const Caps& c) {
    VTypePtr a = check(e.children[0], c).type, b = check(e.children[1], c).type;
    auto la = literal_of(e.children[0]), lb = literal_of(e.children[1]);
    if (la && lb) return boolean(*la == *lb ? BoolKind::kTrue : BoolKind::kFalse);
    if (lub(a, b)) return boolean(BoolKind::kAny);
    if (a->kind == K::kEntity && b->kind == K::kEntity) return boolean(BoolKind::kFalse);
    type_error("== on incompatible types " + describe(a) + " and " + describe(b));
  }

  BoolKind check_in(const VTypePtr& a, const VTypePtr& b, const Expr& x, const Expr& y) {
    if (a->kind != K::kEntity) type_error("in expects an entity, got " + describe(a));
    std::optional<EntityUid> ax = uid_of(x);
    bool x_is_action = ax && env_.is_action(*ax);
    if (b->kind == K::kEntity) {
      if (x_is_action) {
        if (auto by = uid_of(y))
          return env_.action_descendant(*ax, *by) ? BoolKind::kTrue : BoolKind::kFalse;
      }
      return env_.type_descendant(a->name, b->name) ? BoolKind::kAny : BoolKind::kFalse;
    }
    if (b->kind == K::kSet && b->element->kind == K::kEntity) {
      if (x_is_action && y.kind == ExprKind::kSet) {
        std::vector<EntityUid> uids;
        bool all = true;
        for (const auto& el : y.children) {
          auto u = uid_of(el);
          if (!u) {
            all = false;
            break;
          }
          uids.push_back(*u);
        }
        if (all) {
          for (const auto& u : uids) {
            if (env_.action_descendant(*ax, u)) return BoolKind::kTrue;
          }
          return BoolKind::kFalse;
        }
      }
      return env_.type_descendant(a->name, b->element->name) ? BoolKind::kAny : BoolKind::kFalse;
    }
    type_error("in expects an entity or a set of entities, got " + describe(b));
  }

  const std::map<std::string, VAttr>* attributes_of(const VTypePtr& t, bool& is_action) {
    is_action = false;
    if (t->kind == K::kRecord) return &t->attrs;
    if (t->kind == K::kEntity) {
      if (const EntityTypeDecl* d = env_.schema().entity_type(t->name)) {
        VTypePtr shape = env_.convert(d->shape.get());
        shapes_.push_back(shape);  // keep alive
        return &shape->attrs;
      }
      if (env_.is_action_type(t->name)) {
        is_action = true;
        return nullptr;
      }
      type_error("unknown entity type " + t->name);
    }
    type_error("expected an entity or record, got " + describe(t));
  }

  Typed check_has(const Expr& e, const Caps& c) {
    VTypePtr t = check(e.children[0], c).type;
    bool is_action;
    const auto* attrs = attributes_of(t, is_action);
    if (attrs == nullptr) return {boolean(BoolKind::kFalse), {}};
    auto it = attrs->find(e.name());
    if (it == attrs->end()) return {boolean(BoolKind::kFalse), {}};
    Capability cap{key(e.children[0]), "a:" + e.name()};
    if (has_cap(c, cap) || (it->second.required && t->kind == K::kRecord))
      return {boolean(BoolKind::kTrue), {}};
    return {boolean(BoolKind::kAny), {cap}};
  }

  VTypePtr check_get_attr(const Expr& e, const Caps& c) {
    VTypePtr t = check(e.children[0], c).type;
    bool is_action;
    const auto* attrs = attributes_of(t, is_action);
    if (attrs == nullptr) type_error("actions have no attributes");
    auto it = attrs->find(e.name());
    if (it == attrs->end()) type_error("attribute " + e.name() + " not found in " + describe(t));
    if (!it->second.required && !has_cap(c, {key(e.children[0]), "a:" + e.name()}))
      type_error("optional attribute " + e.name() + " accessed without a has check");
    return it->second.type;
  }

  Typed check_call(const Expr& e, const Caps& c) {
    const auto& k = e.children;
    auto arg = [&](std::size_t i) { return check(k[i], c).type; };
    auto is_ext = [](const VTypePtr& t, const char* name) {
      return t->kind == K::kExt && t->name == name;
    };
    switch (e.function) {
      case Function::kContains: {
        VTypePtr s = arg(0), x = arg(1);
        if (s->kind != K::kSet) type_error("contains expects a set, got " + describe(s));
        if (!lub(x, s->element)) type_error("contains: element type does not match the set");
        return {boolean(BoolKind::kAny), {}};
      }
      case Function::kContainsAll:
      case Function::kContainsAny: {
        VTypePtr a = arg(0), b = arg(1);
        if (a->kind != K::kSet || b->kind != K::kSet) type_error("containsAll/Any expect sets");
        if (!lub(a->element, b->element)) type_error("containsAll/Any: set types do not match");
        return {boolean(BoolKind::kAny), {}};
      }
      case Function::kIsEmpty: {
        if (arg(0)->kind != K::kSet) type_error("isEmpty expects a set");
        return {boolean(BoolKind::kAny), {}};
      }
      case Function::kHasTag:
      case Function::kGetTag: {
        VTypePtr t = arg(0), tag = arg(1);
        if (t->kind != K::kEntity) type_error("tags are only on entities");
        if (tag->kind != K::kString) type_error("a tag name is a string");
        const EntityTypeDecl* d = env_.schema().entity_type(t->name);
        Capability cap{key(k[0]), "t:" + key(k[1])};
        if (e.function == Function::kHasTag) {
          if (d == nullptr) {
            if (env_.is_action_type(t->name)) return {boolean(BoolKind::kFalse), {}};
            type_error("unknown entity type " + t->name);
          }
          if (!d->tags) return {boolean(BoolKind::kFalse), {}};
          if (has_cap(c, cap)) return {boolean(BoolKind::kTrue), {}};
          return {boolean(BoolKind::kAny), {cap}};
        }
        if (d == nullptr) type_error("unknown entity type " + t->name);
        if (!d->tags || !has_cap(c, cap)) type_error("getTag without a hasTag check");
        return {env_.convert(d->tags.get()), {}};
      }
      default:
        break;
    }
    std::vector<VTypePtr> args;
    for (std::size_t i = 0; i < k.size(); ++i) args.push_back(arg(i));
    auto constructor = [&](auto parse, const char* type) -> Typed {
      if (k.size() != 1 || k[0].kind != ExprKind::kLiteral || !k[0].literal().is_string() ||
          !parse(k[0].literal().as_string()))
        type_error(std::string(type) + "() needs a valid string literal");
      return {make(K::kExt, type), {}};
    };
    auto want = [&](std::initializer_list<const char*> types) {
      if (args.size() != types.size()) type_error("wrong number of arguments");
      std::size_t i = 0;
      for (const char* t : types) {
        if (!is_ext(args[i++], t)) type_error(std::string("expected ") + t);
      }
    };
    switch (e.function) {
      case Function::kIp:
        return constructor(parse_ipaddr, "ipaddr");
      case Function::kDecimal:
        return constructor(parse_decimal, "decimal");
      case Function::kDatetime:
        return constructor(parse_datetime, "datetime");
      case Function::kDuration:
        return constructor(parse_duration, "duration");
      case Function::kIsIpv4:
      case Function::kIsIpv6:
      case Function::kIsLoopback:
      case Function::kIsMulticast:
        want({"ipaddr"});
        return {boolean(BoolKind::kAny), {}};
      case Function::kIsInRange:
        want({"ipaddr", "ipaddr"});
        return {boolean(BoolKind::kAny), {}};
      case Function::kLessThan:
      case Function::kLessThanOrEqual:
      case Function::kGreaterThan:
      case Function::kGreaterThanOrEqual:
        want({"decimal", "decimal"});
        return {boolean(BoolKind::kAny), {}};
      case Function::kOffset:
        want({"datetime", "duration"});
        return {make(K::kExt, "datetime"), {}};
      case Function::kDurationSince:
        want({"datetime", "datetime"});
        return {make(K::kExt, "duration"), {}};
      case Function::kToDate:
        want({"datetime"});
        return {make(K::kExt, "datetime"), {}};
      case Function::kToTime:
        want({"datetime"});
        return {make(K::kExt, "duration"), {}};
      case Function::kToDays:
      case Function::kToHours:
      case Function::kToMinutes:
      case Function::kToSeconds:
      case Function::kToMilliseconds:
        want({"duration"});
        return {make(K::kLong), {}};
      default:
        break;
    }
    type_error("unknown function");
  }

  const TypeEnvironment& env_;
  const RequestType& req_;
  std::vector<VTypePtr> shapes_;
};

// ---- scope ----

// The type of a principal/resource scope constraint in an environment.
BoolKind scope_type(const ScopeConstraint& s, const std::string& type, const TypeEnvironment& env) {
  using Op = ScopeConstraint::Op;
  // A template slot may be linked to an entity of any type: only `is` narrows it here.
  if (s.slot) return s.op == Op::kIsIn && s.type != type ? BoolKind::kFalse : BoolKind::kAny;
  switch (s.op) {
    case Op::kAny:
      return BoolKind::kTrue;
    case Op::kEq:
      return s.entity->type() == type ? BoolKind::kAny : BoolKind::kFalse;
    case Op::kIn:
      return env.type_descendant(type, s.entity->type()) ? BoolKind::kAny : BoolKind::kFalse;
    case Op::kIs:
      return s.type == type ? BoolKind::kTrue : BoolKind::kFalse;
    case Op::kIsIn:
      return s.type == type && env.type_descendant(type, s.entity->type()) ? BoolKind::kAny
                                                                           : BoolKind::kFalse;
  }
  return BoolKind::kFalse;
}

bool action_applies(const ActionConstraint& a, const EntityUid& action,
                    const TypeEnvironment& env) {
  switch (a.op) {
    case ActionConstraint::Op::kAny:
      return true;
    case ActionConstraint::Op::kEq:
      return a.entities[0] == action;
    case ActionConstraint::Op::kIn:
      for (const auto& x : a.entities) {
        if (env.action_descendant(action, x)) return true;
      }
      return false;
  }
  return false;
}

// Names in the scope must exist in the schema.
std::optional<std::string> check_scope_names(const Policy& p, const TypeEnvironment& env) {
  for (const ScopeConstraint* s : {&p.principal, &p.resource}) {
    if (s->entity && !env.valid_uid(*s->entity)) return "unknown entity " + s->entity->to_string();
    if ((s->op == ScopeConstraint::Op::kIs || s->op == ScopeConstraint::Op::kIsIn) &&
        !env.is_entity_type(s->type))
      return "unknown entity type " + s->type;
  }
  for (const auto& a : p.action.entities) {
    if (!env.is_action(a)) return "unknown action " + a.to_string();
  }
  return std::nullopt;
}

}  // namespace

// Records are closed; optional attributes may be missing.
bool value_conforms(const Value& v, const SchemaType& t) {
  using SK = SchemaType::Kind;
  switch (t.kind) {
    case SK::kBool:
      return v.is_bool();
    case SK::kLong:
      return v.is_long();
    case SK::kString:
      return v.is_string();
    case SK::kEntity:
      return v.is_entity() && v.as_entity().type() == t.name;
    case SK::kExtension:
      return v.is_extension() && extension_type_name(v.as_extension().kind) == t.name;
    case SK::kSet:
      if (!v.is_set()) return false;
      for (const auto& e : v.as_set()) {
        if (!value_conforms(e, *t.element)) return false;
      }
      return true;
    case SK::kRecord: {
      if (!v.is_record()) return false;
      const auto& fields = v.as_record();
      for (const auto& [name, value] : fields) {
        auto it = t.attributes.find(*name);
        if (it == t.attributes.end() || !value_conforms(value, *it->second.type)) return false;
      }
      for (const auto& [name, attr] : t.attributes) {
        if (attr.required && fields.count(name) == 0) return false;
      }
      return true;
    }
  }
  return false;
}

Status validate_request(const Request& request, const Schema& schema) {
  const ActionDecl* action = schema.action(request.action);
  if (action == nullptr)
    return Error::invalid("action " + request.action.to_string() + " is not declared");
  auto applies = [](const std::vector<std::string>& types, const std::string& type) {
    return std::find(types.begin(), types.end(), type) != types.end();
  };
  if (!action->applies || !applies(action->principal_types, request.principal.type()))
    return Error::invalid("action " + request.action.to_string() + " does not apply to principal " +
                          request.principal.to_string());
  if (!applies(action->resource_types, request.resource.type()))
    return Error::invalid("action " + request.action.to_string() + " does not apply to resource " +
                          request.resource.to_string());
  if (!value_conforms(request.context, *action->context))
    return Error::invalid("the context does not match the context type of " +
                          request.action.to_string());
  return ok_status();
}

std::vector<ValidationError> validate(const PolicySet& policies, const Schema& schema) {
  TypeEnvironment env(schema);
  std::vector<ValidationError> errors;
  std::vector<RequestType> requests;
  for (const auto& a : schema.actions()) {
    if (!a.applies) continue;
    for (const auto& p : a.principal_types) {
      for (const auto& r : a.resource_types) {
        requests.push_back({p, a.uid, r, env.convert(a.context.get())});
      }
    }
  }
  std::vector<const Policy*> all;
  for (const Policy& p : policies.policies()) all.push_back(&p);
  for (const Policy* t : policies.templates()) all.push_back(t);
  for (const Policy* p : all) {
    const Policy& policy = *p;
    if (auto bad = check_scope_names(policy, env)) {
      errors.push_back({policy.id, *bad});
      continue;
    }
    bool applicable = false;
    for (const RequestType& req : requests) {
      if (!action_applies(policy.action, req.action, env)) continue;
      BoolKind p = scope_type(policy.principal, req.principal, env);
      BoolKind r = scope_type(policy.resource, req.resource, env);
      if (p == BoolKind::kFalse || r == BoolKind::kFalse) continue;
      applicable = true;
      Typechecker checker(env, req);
      try {
        Caps caps;
        for (const auto& c : policy.conditions) {
          Typed t = checker.check(c.expr, caps);
          if (t.type->kind != K::kBool)
            type_error("a condition must be boolean, got " + describe(t.type));
          BoolKind b = t.type->b;
          if (!c.is_when)
            b = b == BoolKind::kTrue    ? BoolKind::kFalse
                : b == BoolKind::kFalse ? BoolKind::kTrue
                                        : b;
          if (b == BoolKind::kFalse) break;  // the rest is never evaluated
          if (c.is_when) caps = caps_union(caps, t.caps);
        }
      } catch (TypeFailure& f) {
        errors.push_back({policy.id, f.message + " (principal " + req.principal + ", action " +
                                         req.action.to_string() + ", resource " + req.resource +
                                         ")"});
        break;
      }
    }
    if (!applicable)
      errors.push_back(
          {policy.id, "unable to find an applicable action given the policy scope constraints"});
  }
  return errors;
}

}  // namespace custody::cedar
