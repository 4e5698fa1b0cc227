// JSON shapes of directory objects as the admin API shows them (docs/api.md). Secrets and
// hashes never appear here.
#pragma once

#include <nlohmann/json.hpp>

#include "common/clock.h"
#include "directory/admin_tokens.h"
#include "directory/model.h"

namespace custody::directory {

nlohmann::json to_json(const Identity& identity);
nlohmann::json to_json(const Entitlement& entitlement, Micros now);  // adds computed "active"
nlohmann::json to_json(const Credential& credential, Micros now);
nlohmann::json to_json(const AdminToken& token);

}  // namespace custody::directory
