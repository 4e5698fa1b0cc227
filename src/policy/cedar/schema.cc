#include "policy/cedar/schema.h"

#include "policy/cedar/schema_builder.h"

namespace custody::cedar {
namespace {

// Bounds the expansion of common types that refer to each other (a cycle is an error, not a hang).
constexpr int kMaxTypeDepth = 64;

SchemaTypePtr primitive(SchemaType::Kind kind, std::string name = {}) {
  auto t = std::make_shared<SchemaType>();
  t->kind = kind;
  t->name = std::move(name);
  return t;
}

// Builtin type names, valid unqualified or under __cedar::.
SchemaTypePtr builtin(std::string_view name) {
  using K = SchemaType::Kind;
  if (name == "Bool" || name == "Boolean") return primitive(K::kBool);
  if (name == "Long") return primitive(K::kLong);
  if (name == "String") return primitive(K::kString);
  if (name == "ipaddr" || name == "decimal" || name == "datetime" || name == "duration")
    return primitive(K::kExtension, std::string(name));
  return nullptr;
}

}  // namespace

const EntityTypeDecl* Schema::entity_type(std::string_view name) const {
  auto it = entity_types_.find(std::string(name));
  return it == entity_types_.end() ? nullptr : &it->second;
}

const ActionDecl* Schema::action(const EntityUid& uid) const {
  auto it = action_index_.find(uid);
  return it == action_index_.end() ? nullptr : &actions_[it->second];
}

Status SchemaBuilder::add_common_type(const std::string& ns, const std::string& name,
                                      RawTypePtr type) {
  if (!common_.emplace(qualify(ns, name), Common{ns, std::move(type)}).second)
    return Error::invalid("duplicate common type " + qualify(ns, name));
  return ok_status();
}

Status SchemaBuilder::add_entity_type(const std::string& ns, const std::string& name,
                                      std::vector<std::string> member_of, RawTypePtr shape,
                                      RawTypePtr tags,
                                      std::optional<std::vector<std::string>> enum_ids) {
  std::string full = qualify(ns, name);
  if (!entity_index_.emplace(full, entities_.size()).second)
    return Error::invalid("duplicate entity type " + full);
  entities_.push_back(EntityRaw{ns, full, std::move(member_of), std::move(shape), std::move(tags),
                                std::move(enum_ids)});
  return ok_status();
}

Status SchemaBuilder::add_action(const std::string& ns, const std::string& name,
                                 std::vector<RawActionRef> member_of, bool has_applies_to,
                                 std::vector<std::string> principals,
                                 std::vector<std::string> resources, RawTypePtr context) {
  for (const auto& a : actions_) {
    if (a.ns == ns && a.name == name)
      return Error::invalid("duplicate action " + qualify(ns, "Action") + "::\"" + name + "\"");
  }
  actions_.push_back(ActionRaw{ns, name, std::move(member_of), has_applies_to,
                               std::move(principals), std::move(resources), std::move(context)});
  return ok_status();
}

Result<std::string> SchemaBuilder::resolve_entity_type(const std::string& name,
                                                       const std::string& ns) const {
  if (entity_index_.count(qualify(ns, name))) return qualify(ns, name);
  if (entity_index_.count(name)) return name;
  return Error::invalid("unknown entity type " + name);
}

Result<SchemaTypePtr> SchemaBuilder::resolve_name(const std::string& name, const std::string& ns,
                                                  bool entity_only, int depth) const {
  if (depth > kMaxTypeDepth) return Error::invalid("common types refer to each other in a cycle");
  if (name.rfind("__cedar::", 0) == 0) {
    if (auto t = builtin(name.substr(9))) return t;
    return Error::invalid("unknown builtin type " + name);
  }
  for (const std::string& candidate : {qualify(ns, name), name}) {
    if (!entity_only) {
      auto c = common_.find(candidate);
      if (c != common_.end()) return resolve(*c->second.type, c->second.ns, depth + 1);
    }
    if (entity_index_.count(candidate)) return primitive(SchemaType::Kind::kEntity, candidate);
  }
  if (!entity_only) {
    if (auto t = builtin(name)) return t;
  }
  return Error::invalid("unknown type " + name);
}

Result<SchemaTypePtr> SchemaBuilder::resolve(const RawType& raw, const std::string& ns,
                                             int depth) const {
  if (depth > kMaxTypeDepth) return Error::invalid("type nested too deeply");
  switch (raw.kind) {
    case RawType::Kind::kName:
      return resolve_name(raw.name, ns, false, depth);
    case RawType::Kind::kEntityName:
      return resolve_name(raw.name, ns, true, depth);
    case RawType::Kind::kSet: {
      CUSTODY_ASSIGN(auto element, resolve(*raw.element, ns, depth + 1));
      auto t = std::make_shared<SchemaType>();
      t->kind = SchemaType::Kind::kSet;
      t->element = std::move(element);
      return SchemaTypePtr(t);
    }
    case RawType::Kind::kRecord: {
      auto t = std::make_shared<SchemaType>();
      t->kind = SchemaType::Kind::kRecord;
      for (const auto& a : raw.attributes) {
        CUSTODY_ASSIGN(auto type, resolve(*a.type, ns, depth + 1));
        if (!t->attributes.emplace(a.name, SchemaAttribute{std::move(type), a.required}).second)
          return Error::invalid("duplicate attribute " + a.name);
      }
      return SchemaTypePtr(t);
    }
  }
  return Error::invalid("bad type");
}

Result<Schema> SchemaBuilder::build() const {
  Schema schema;
  auto empty_record = std::make_shared<SchemaType>();
  empty_record->kind = SchemaType::Kind::kRecord;
  for (const auto& e : entities_) {
    EntityTypeDecl decl;
    decl.name = e.name;
    for (const auto& parent : e.member_of) {
      CUSTODY_ASSIGN(auto p, resolve_entity_type(parent, e.ns));
      decl.member_of.push_back(std::move(p));
    }
    decl.shape = empty_record;
    if (e.shape) {
      CUSTODY_ASSIGN(decl.shape, resolve(*e.shape, e.ns, 0));
      if (decl.shape->kind != SchemaType::Kind::kRecord)
        return Error::invalid("the shape of entity type " + e.name + " is not a record");
    }
    if (e.tags) {
      CUSTODY_ASSIGN(decl.tags, resolve(*e.tags, e.ns, 0));
    }
    decl.enum_ids = e.enum_ids;
    schema.entity_types_.emplace(e.name, std::move(decl));
  }
  for (const auto& a : actions_) {
    ActionDecl decl;
    decl.uid = EntityUid::intern(qualify(a.ns, "Action"), a.name);
    for (const auto& ref : a.member_of) {
      decl.member_of.push_back(
          EntityUid::intern(ref.type.empty() ? qualify(a.ns, "Action") : ref.type, ref.id));
    }
    decl.applies = a.has_applies_to && !a.principals.empty() && !a.resources.empty();
    for (const auto& p : a.principals) {
      CUSTODY_ASSIGN(auto t, resolve_entity_type(p, a.ns));
      decl.principal_types.push_back(std::move(t));
    }
    for (const auto& r : a.resources) {
      CUSTODY_ASSIGN(auto t, resolve_entity_type(r, a.ns));
      decl.resource_types.push_back(std::move(t));
    }
    decl.context = empty_record;
    if (a.context) {
      CUSTODY_ASSIGN(decl.context, resolve(*a.context, a.ns, 0));
      if (decl.context->kind != SchemaType::Kind::kRecord)
        return Error::invalid("the context of action " + decl.uid.to_string() + " is not a record");
    }
    schema.action_index_.emplace(decl.uid, schema.actions_.size());
    schema.actions_.push_back(std::move(decl));
  }
  for (const auto& a : schema.actions_) {
    for (const auto& parent : a.member_of) {
      if (!schema.action_index_.count(parent))
        return Error::invalid("action " + a.uid.to_string() + " is a member of unknown action " +
                              parent.to_string());
    }
  }
  return schema;
}

// ---- JSON format ----
namespace {

Result<RawTypePtr> json_type(const nlohmann::json& j, int depth);

Result<RawTypePtr> json_record(const nlohmann::json& attrs, int depth) {
  auto t = std::make_shared<RawType>();
  t->kind = RawType::Kind::kRecord;
  if (!attrs.is_object()) return Error::invalid("record attributes must be an object");
  for (const auto& [name, a] : attrs.items()) {
    CUSTODY_ASSIGN(auto type, json_type(a, depth + 1));
    bool required = !(a.contains("required") && a["required"].is_boolean() && !a["required"]);
    t->attributes.push_back({name, std::move(type), required});
  }
  return t;
}

Result<RawTypePtr> json_type(const nlohmann::json& j, int depth) {
  if (depth > kMaxTypeDepth) return Error::invalid("type nested too deeply");
  if (!j.is_object() || !j.contains("type") || !j["type"].is_string())
    return Error::invalid("a type must be an object with a \"type\" string");
  std::string type = j["type"];
  auto t = std::make_shared<RawType>();
  auto name = [&]() -> Result<std::string> {
    if (!j.contains("name") || !j["name"].is_string())
      return Error::invalid(type + " type needs a \"name\"");
    return j["name"].get<std::string>();
  };
  if (type == "Set") {
    if (!j.contains("element")) return Error::invalid("Set type needs an \"element\"");
    t->kind = RawType::Kind::kSet;
    CUSTODY_ASSIGN(t->element, json_type(j["element"], depth + 1));
    return t;
  }
  if (type == "Record") {
    return json_record(j.contains("attributes") ? j["attributes"] : nlohmann::json::object(),
                       depth);
  }
  if (type == "Entity") {
    t->kind = RawType::Kind::kEntityName;
    CUSTODY_ASSIGN(t->name, name());
    return t;
  }
  if (type == "Extension") {
    CUSTODY_ASSIGN(auto n, name());
    t->name = "__cedar::" + n;
    return t;
  }
  if (type == "EntityOrCommon") {
    CUSTODY_ASSIGN(t->name, name());
    return t;
  }
  if (type == "Boolean" || type == "Long" || type == "String") {
    t->name = "__cedar::" + type;
    return t;
  }
  t->name = type;  // a common type
  return t;
}

std::vector<std::string> string_list(const nlohmann::json& j, const char* key) {
  std::vector<std::string> out;
  if (j.contains(key) && j[key].is_array()) {
    for (const auto& s : j[key]) {
      if (s.is_string()) out.push_back(s.get<std::string>());
    }
  }
  return out;
}

}  // namespace

Result<Schema> parse_json_schema(const nlohmann::json& json) {
  if (!json.is_object()) return Error::invalid("a JSON schema must be an object of namespaces");
  SchemaBuilder builder;
  for (const auto& [ns, body] : json.items()) {
    if (!body.is_object()) return Error::invalid("namespace " + ns + " must be an object");
    if (body.contains("commonTypes")) {
      for (const auto& [name, t] : body["commonTypes"].items()) {
        CUSTODY_ASSIGN(auto raw, json_type(t, 0));
        CUSTODY_TRY(builder.add_common_type(ns, name, std::move(raw)));
      }
    }
    if (body.contains("entityTypes")) {
      for (const auto& [name, e] : body["entityTypes"].items()) {
        RawTypePtr shape, tags;
        if (e.contains("shape")) {
          CUSTODY_ASSIGN(shape, json_type(e["shape"], 0));
        }
        if (e.contains("tags")) {
          CUSTODY_ASSIGN(tags, json_type(e["tags"], 0));
        }
        std::optional<std::vector<std::string>> enum_ids;
        if (e.contains("enum")) enum_ids = string_list(e, "enum");
        CUSTODY_TRY(builder.add_entity_type(ns, name, string_list(e, "memberOfTypes"), shape, tags,
                                            enum_ids));
      }
    }
    if (body.contains("actions")) {
      for (const auto& [name, a] : body["actions"].items()) {
        std::vector<RawActionRef> member_of;
        if (a.contains("memberOf") && a["memberOf"].is_array()) {
          for (const auto& m : a["memberOf"]) {
            member_of.push_back({m.value("type", std::string()), m.value("id", std::string())});
          }
        }
        bool applies = a.contains("appliesTo") && a["appliesTo"].is_object();
        std::vector<std::string> principals, resources;
        RawTypePtr context;
        if (applies) {
          const auto& at = a["appliesTo"];
          principals = string_list(at, "principalTypes");
          resources = string_list(at, "resourceTypes");
          if (at.contains("context")) {
            CUSTODY_ASSIGN(context, json_type(at["context"], 0));
          }
        }
        CUSTODY_TRY(builder.add_action(ns, name, std::move(member_of), applies,
                                       std::move(principals), std::move(resources), context));
      }
    }
  }
  return builder.build();
}

}  // namespace custody::cedar
