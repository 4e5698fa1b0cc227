// Collects schema declarations as written (type names unresolved, per namespace) and resolves
// them into a Schema. Both schema formats parse into a SchemaBuilder.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"
#include "policy/cedar/schema.h"

namespace custody::cedar {

// A type as written: a name to resolve, a set, or a record.
struct RawType {
  enum class Kind : uint8_t { kName, kEntityName, kSet, kRecord };
  Kind kind = Kind::kName;
  std::string name;  // kName: common, entity or builtin type; kEntityName: entity type only
  std::shared_ptr<RawType> element;
  struct Attribute {
    std::string name;
    std::shared_ptr<RawType> type;
    bool required = true;
  };
  std::vector<Attribute> attributes;
};
using RawTypePtr = std::shared_ptr<RawType>;

// A reference to an action: `"view"` (same namespace) or `NS::Action::"view"`.
struct RawActionRef {
  std::string type;  // empty: Action in the declaring namespace
  std::string id;
};

class SchemaBuilder {
 public:
  Status add_common_type(const std::string& ns, const std::string& name, RawTypePtr type);
  Status add_entity_type(const std::string& ns, const std::string& name,
                         std::vector<std::string> member_of, RawTypePtr shape, RawTypePtr tags,
                         std::optional<std::vector<std::string>> enum_ids);
  Status add_action(const std::string& ns, const std::string& name,
                    std::vector<RawActionRef> member_of, bool has_applies_to,
                    std::vector<std::string> principals, std::vector<std::string> resources,
                    RawTypePtr context);
  Result<Schema> build() const;

 private:
  struct Common {
    std::string ns;
    RawTypePtr type;
  };
  struct EntityRaw {
    std::string ns;
    std::string name;
    std::vector<std::string> member_of;
    RawTypePtr shape, tags;
    std::optional<std::vector<std::string>> enum_ids;
  };
  struct ActionRaw {
    std::string ns;
    std::string name;
    std::vector<RawActionRef> member_of;
    bool has_applies_to = false;
    std::vector<std::string> principals, resources;
    RawTypePtr context;
  };
  Result<SchemaTypePtr> resolve(const RawType& raw, const std::string& ns, int depth) const;
  Result<SchemaTypePtr> resolve_name(const std::string& name, const std::string& ns,
                                     bool entity_only, int depth) const;
  Result<std::string> resolve_entity_type(const std::string& name, const std::string& ns) const;

  std::map<std::string, Common> common_;  // fully qualified name →
  std::vector<EntityRaw> entities_;
  std::map<std::string, std::size_t> entity_index_;  // fully qualified name → entities_ index
  std::vector<ActionRaw> actions_;
};

inline std::string qualify(const std::string& ns, const std::string& name) {
  return ns.empty() ? name : ns + "::" + name;
}

}  // namespace custody::cedar
