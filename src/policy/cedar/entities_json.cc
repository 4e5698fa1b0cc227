#include "policy/cedar/entities_json.h"

#include <algorithm>

#include "policy/cedar/extensions.h"

namespace custody::cedar {
namespace {

constexpr int kMaxJsonDepth = 128;

Result<Value> extension_from_string(std::string_view fn, const std::string& arg) {
  std::optional<ExtensionValue> v;
  if (fn == "ip" || fn == "ipaddr") {
    v = parse_ipaddr(arg);
  } else if (fn == "decimal") {
    v = parse_decimal(arg);
  } else if (fn == "datetime") {
    v = parse_datetime(arg);
  } else if (fn == "duration") {
    v = parse_duration(arg);
  } else {
    return Error::invalid("unknown extension function " + std::string(fn));
  }
  if (!v) return Error::invalid("invalid " + std::string(fn) + " literal \"" + arg + "\"");
  return Value(*v);
}

Result<Value> parse(const nlohmann::json& j, const SchemaType* expected, int depth);

Result<Value> extension_escape(const nlohmann::json& e, int depth) {
  if (!e.is_object() || !e.contains("fn") || !e["fn"].is_string())
    return Error::invalid("__extn needs a \"fn\" string");
  std::string fn = e["fn"];
  if (e.contains("arg")) {
    const auto& arg = e["arg"];
    if (arg.is_string()) return extension_from_string(fn, arg.get<std::string>());
    CUSTODY_ASSIGN(Value v, parse(arg, nullptr, depth + 1));
    if (v.is_string()) return extension_from_string(fn, v.as_string());
    return Error::invalid("__extn argument must be a string");
  }
  if (e.contains("args") && e["args"].is_array() && e["args"].size() == 1 &&
      e["args"][0].is_string())
    return extension_from_string(fn, e["args"][0].get<std::string>());
  if (e.contains("args") && e["args"].is_array() && e["args"].size() == 2 && fn == "offset") {
    CUSTODY_ASSIGN(Value a, parse(e["args"][0], nullptr, depth + 1));
    CUSTODY_ASSIGN(Value b, parse(e["args"][1], nullptr, depth + 1));
    if (a.is_extension() && b.is_extension() && a.as_extension().kind == ExtensionKind::kDatetime &&
        b.as_extension().kind == ExtensionKind::kDuration) {
      auto sum = checked_add(a.as_extension().number, b.as_extension().number);
      if (sum) return Value(make_datetime(*sum));
    }
  }
  return Error::invalid("unsupported __extn form for " + fn);
}

Result<Value> parse_long(const nlohmann::json& j) {
  if (j.is_number_unsigned()) {
    auto u = j.get<uint64_t>();
    if (u > static_cast<uint64_t>(INT64_MAX)) return Error::invalid("integer out of 64-bit range");
    return Value(static_cast<int64_t>(u));
  }
  if (j.is_number_integer()) return Value(j.get<int64_t>());
  if (j.is_number()) return Error::invalid("numbers must be 64-bit integers");
  return Error::invalid("expected a long");
}

Result<Value> parse_untyped(const nlohmann::json& j, int depth) {
  switch (j.type()) {
    case nlohmann::json::value_t::boolean:
      return Value(j.get<bool>());
    case nlohmann::json::value_t::number_integer:
    case nlohmann::json::value_t::number_unsigned:
    case nlohmann::json::value_t::number_float:
      return parse_long(j);
    case nlohmann::json::value_t::string:
      return Value(j.get<std::string>());
    case nlohmann::json::value_t::array: {
      SetElements elements;
      elements.reserve(j.size());
      for (const auto& e : j) {
        CUSTODY_ASSIGN(Value v, parse(e, nullptr, depth + 1));
        elements.push_back(std::move(v));
      }
      return Value::set(std::move(elements));
    }
    case nlohmann::json::value_t::object: {
      if (j.size() == 1 && j.contains("__entity")) {
        CUSTODY_ASSIGN(EntityUid uid, entity_uid_from_json(j["__entity"]));
        return Value(uid);
      }
      if (j.size() == 1 && j.contains("__extn")) return extension_escape(j["__extn"], depth);
      RecordFields fields;
      for (const auto& [k, v] : j.items()) {
        CUSTODY_ASSIGN(Value value, parse(v, nullptr, depth + 1));
        fields[k] = std::move(value);
      }
      return Value::record(std::move(fields));
    }
    default:
      return Error::invalid("null is not a Cedar value");
  }
}

Result<Value> parse(const nlohmann::json& j, const SchemaType* expected, int depth) {
  if (depth > kMaxJsonDepth) return Error::invalid("JSON value nested too deeply");
  if (expected == nullptr) return parse_untyped(j, depth);
  using K = SchemaType::Kind;
  switch (expected->kind) {
    case K::kBool:
      if (!j.is_boolean()) return Error::invalid("expected a boolean");
      return Value(j.get<bool>());
    case K::kLong:
      return parse_long(j);
    case K::kString:
      if (!j.is_string()) return Error::invalid("expected a string");
      return Value(j.get<std::string>());
    case K::kEntity: {
      CUSTODY_ASSIGN(EntityUid uid, entity_uid_from_json(j));
      if (uid.type() != expected->name)
        return Error::invalid("expected an entity of type " + expected->name + ", got " +
                              uid.to_string());
      return Value(uid);
    }
    case K::kExtension:
      if (j.is_string()) return extension_from_string(expected->name, j.get<std::string>());
      if (j.is_object() && j.contains("__extn")) return extension_escape(j["__extn"], depth);
      // Where the schema expects an extension value, the escape may be left out: {"fn", "arg"}.
      if (j.is_object() && j.contains("fn")) return extension_escape(j, depth);
      return Error::invalid("expected a " + expected->name + " string");
    case K::kSet: {
      if (!j.is_array()) return Error::invalid("expected an array (a set)");
      SetElements elements;
      elements.reserve(j.size());
      for (const auto& e : j) {
        CUSTODY_ASSIGN(Value v, parse(e, expected->element.get(), depth + 1));
        elements.push_back(std::move(v));
      }
      return Value::set(std::move(elements));
    }
    case K::kRecord: {
      if (!j.is_object()) return Error::invalid("expected an object (a record)");
      RecordFields fields;
      for (const auto& [k, v] : j.items()) {
        auto it = expected->attributes.find(k);
        if (it == expected->attributes.end())
          return Error::invalid("attribute \"" + k + "\" is not declared in the schema");
        auto value = parse(v, it->second.type.get(), depth + 1);
        if (!value.ok()) return Error::invalid("attribute \"" + k + "\": " + value.error().message);
        fields[k] = std::move(value).value();
      }
      for (const auto& [name, attr] : expected->attributes) {
        if (attr.required && fields.count(name) == 0)
          return Error::invalid("required attribute \"" + name + "\" is missing");
      }
      return Value::record(std::move(fields));
    }
  }
  return Error::invalid("unknown schema type");
}

Result<std::vector<EntityUid>> uid_list(const nlohmann::json& j) {
  std::vector<EntityUid> out;
  if (j.is_null()) return out;
  if (!j.is_array()) return Error::invalid("\"parents\" must be an array");
  for (const auto& p : j) {
    CUSTODY_ASSIGN(EntityUid uid, entity_uid_from_json(p));
    out.push_back(uid);
  }
  return out;
}

}  // namespace

Result<Value> value_from_json(const nlohmann::json& json, const SchemaType* expected) {
  return parse(json, expected, 0);
}

Result<EntityUid> entity_uid_from_json(const nlohmann::json& j) {
  const nlohmann::json* o = &j;
  if (j.is_object() && j.size() == 1 && j.contains("__entity")) o = &j["__entity"];
  if (!o->is_object() || !o->contains("type") || !o->contains("id") || !(*o)["type"].is_string() ||
      !(*o)["id"].is_string())
    return Error::invalid("expected an entity reference {\"type\": …, \"id\": …}");
  return EntityUid::intern((*o)["type"].get<std::string>(), (*o)["id"].get<std::string>());
}

Result<EntityStore> entities_from_json(const nlohmann::json& json, const Schema* schema) {
  if (!json.is_array()) return Error::invalid("an entities file must be an array");
  EntityStore store;
  for (const auto& item : json) {
    if (!item.is_object() || !item.contains("uid"))
      return Error::invalid("each entity needs a \"uid\"");
    Entity entity;
    CUSTODY_ASSIGN(entity.uid, entity_uid_from_json(item["uid"]));
    const EntityTypeDecl* decl = schema ? schema->entity_type(entity.uid.type()) : nullptr;
    if (schema != nullptr && decl == nullptr && schema->action(entity.uid) == nullptr)
      return Error::invalid("entity " + entity.uid.to_string() +
                            ": its type is not declared in the schema");
    if (decl != nullptr && decl->enum_ids &&
        std::find(decl->enum_ids->begin(), decl->enum_ids->end(), entity.uid.id()) ==
            decl->enum_ids->end())
      return Error::invalid("entity " + entity.uid.to_string() +
                            ": the id is not one of the type's enumerated ids");
    if (decl != nullptr && !decl->tags && item.contains("tags") && item["tags"].is_object() &&
        !item["tags"].empty())
      return Error::invalid("entity " + entity.uid.to_string() + ": its type has no tags");
    auto field = [&](const char* name) {
      return item.contains(name) ? item[name] : nlohmann::json::object();
    };
    if ((item.contains("attrs") && !item["attrs"].is_null()) || decl != nullptr) {
      nlohmann::json attrs_json = field("attrs");
      if (attrs_json.is_null()) attrs_json = nlohmann::json::object();
      auto attrs = parse(attrs_json, decl ? decl->shape.get() : nullptr, 0);
      if (!attrs.ok() || !attrs->is_record())
        return Error::invalid("entity " + entity.uid.to_string() + ": " +
                              (attrs.ok() ? "attrs must be an object" : attrs.error().message));
      entity.attrs = attrs->as_record();
    }
    if (item.contains("tags") && !item["tags"].is_null()) {
      if (!item["tags"].is_object())
        return Error::invalid("entity " + entity.uid.to_string() + ": tags must be an object");
      for (const auto& [k, v] : item["tags"].items()) {
        auto tag = parse(v, decl && decl->tags ? decl->tags.get() : nullptr, 1);
        if (!tag.ok())
          return Error::invalid("entity " + entity.uid.to_string() + " tag \"" + k +
                                "\": " + tag.error().message);
        entity.tags[k] = std::move(tag).value();
      }
    }
    if (item.contains("parents")) {
      CUSTODY_ASSIGN(entity.parents, uid_list(item["parents"]));
    }
    CUSTODY_TRY(store.add(std::move(entity)));
  }
  if (schema != nullptr) {
    for (const auto& action : schema->actions()) store.add_parents(action.uid, action.member_of);
  }
  store.finalize();
  return store;
}

Result<Value> context_from_json(const nlohmann::json& json, const Schema* schema,
                                const EntityUid& action) {
  if (json.is_null()) return Value::record({});
  if (!json.is_object()) return Error::invalid("the context must be an object");
  const SchemaType* type = nullptr;
  if (schema != nullptr) {
    if (const ActionDecl* a = schema->action(action)) type = a->context.get();
  }
  return parse(json, type, 0);
}

}  // namespace custody::cedar
