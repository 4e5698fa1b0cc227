// Cedar schemas: entity types (attributes, tags, parents, enumerated ids), common types and
// actions (appliesTo, context, action groups), read from the human-readable Cedar schema format
// or the JSON schema format (https://docs.cedarpolicy.com/schema/schema.html).
//
// All type names are resolved when the schema is parsed: a SchemaType never refers to a common
// type, only to primitives, entity types, extension types, sets and records. A Schema is
// immutable after parsing and safe to share between threads.
#pragma once

#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/result.h"
#include "policy/cedar/value.h"

namespace custody::cedar {

struct SchemaType;
using SchemaTypePtr = std::shared_ptr<const SchemaType>;

struct SchemaAttribute {
  SchemaTypePtr type;
  bool required = true;
};

struct SchemaType {
  enum class Kind : uint8_t { kBool, kLong, kString, kEntity, kSet, kRecord, kExtension };
  Kind kind = Kind::kBool;
  std::string name;                                   // kEntity: entity type; kExtension: ipaddr…
  SchemaTypePtr element;                              // kSet
  std::map<std::string, SchemaAttribute> attributes;  // kRecord
};

struct EntityTypeDecl {
  std::string name;  // fully qualified
  std::vector<std::string> member_of;
  SchemaTypePtr shape;  // a record type (empty when none declared)
  SchemaTypePtr tags;   // nullptr: the type has no tags
  std::optional<std::vector<std::string>> enum_ids;
};

struct ActionDecl {
  EntityUid uid;
  std::vector<EntityUid> member_of;
  bool applies = false;  // has an appliesTo with at least one principal and resource type
  std::vector<std::string> principal_types;
  std::vector<std::string> resource_types;
  SchemaTypePtr context;  // a record type
};

class Schema {
 public:
  const EntityTypeDecl* entity_type(std::string_view name) const;
  const ActionDecl* action(const EntityUid& uid) const;
  const std::map<std::string, EntityTypeDecl>& entity_types() const { return entity_types_; }
  const std::vector<ActionDecl>& actions() const { return actions_; }

 private:
  friend class SchemaBuilder;
  std::map<std::string, EntityTypeDecl> entity_types_;
  std::vector<ActionDecl> actions_;
  std::unordered_map<EntityUid, std::size_t, EntityUidHash> action_index_;
};

// Parses the human-readable format (.cedarschema). Errors carry line and column.
Result<Schema> parse_cedar_schema(std::string_view source);
// Parses the JSON format (.cedarschema.json).
Result<Schema> parse_json_schema(const nlohmann::json& json);

}  // namespace custody::cedar
