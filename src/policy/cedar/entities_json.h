// Cedar's JSON formats for values, entities and request contexts
// (https://docs.cedarpolicy.com/auth/entities-syntax.html).
//
// Without a schema, values are read by their JSON shape: numbers are longs (read exactly as 64-bit
// integers; fractions and out-of-range numbers are errors), arrays are sets, objects are records
// unless they are the escapes {"__entity": {"type", "id"}} or {"__extn": {"fn", "arg" | "args"}}.
// With a schema, the declared type decides: a string where an ipaddr/decimal/datetime/duration is
// declared is parsed as that type, and {"type", "id"} where an entity is declared is an entity
// reference. Input must then conform to the schema: records (entity attributes, contexts) have
// exactly the declared attributes (optional ones may be missing), entity references have the
// declared type, entities have a declared type (or are actions of the schema), enumerated ids and
// tags are respected. Anything else is an invalid-argument Error naming the entity and attribute.
#pragma once

#include <nlohmann/json.hpp>

#include "common/result.h"
#include "policy/cedar/entities.h"
#include "policy/cedar/schema.h"
#include "policy/cedar/value.h"

namespace custody::cedar {

// One value; `expected` may be nullptr (no schema information).
Result<Value> value_from_json(const nlohmann::json& json, const SchemaType* expected);

// An entity uid from {"type", "id"} or {"__entity": {"type", "id"}}.
Result<EntityUid> entity_uid_from_json(const nlohmann::json& json);

// An entities file (an array of {"uid", "attrs", "parents", "tags"}). With a schema, attributes
// and tags are parsed by the declared types and the action hierarchy of the schema is added.
// The returned store is finalized.
Result<EntityStore> entities_from_json(const nlohmann::json& json, const Schema* schema);

// A request context (an object). With a schema, it is parsed by the context type of `action`.
Result<Value> context_from_json(const nlohmann::json& json, const Schema* schema,
                                const EntityUid& action);

}  // namespace custody::cedar
