#include "gateway/inventory.h"

#include "common/encoding.h"
#include "common/jcs.h"
#include "crypto/keyed_hash.h"

namespace custody::gateway {

std::string_view tool_status_name(ToolStatus status) {
  switch (status) {
    case ToolStatus::kApproved:
      return "approved";
    case ToolStatus::kPending:
      return "pending";
    case ToolStatus::kChanged:
      return "changed";
  }
  return "pending";
}

ToolStatus InventoryTool::status() const {
  if (!approved_fingerprint) return ToolStatus::kPending;
  return *approved_fingerprint == fingerprint ? ToolStatus::kApproved : ToolStatus::kChanged;
}

Result<std::string> tool_fingerprint(const nlohmann::json& tool) {
  if (!tool.is_object() || !tool.contains("name") || !tool["name"].is_string())
    return Error::invalid("a tool is an object with a string name", "tools");
  nlohmann::json definition = tool;
  definition.erase("name");
  CUSTODY_ASSIGN(auto canonical, jcs::canonicalize(definition));
  return hex_encode(crypto::sha256(canonical));
}

namespace {

constexpr const char* kColumns =
    "server_id, name, fingerprint, approved_fingerprint, definition, first_seen, changed_at, "
    "approved_by, approved_at";

InventoryTool from_row(const store::Row& row) {
  InventoryTool t;
  t.server_id = row.text(0);
  t.name = row.text(1);
  t.fingerprint = row.text(2);
  t.approved_fingerprint = row.opt_text(3);
  t.definition = nlohmann::json::parse(row.text(4), nullptr, false);
  t.first_seen = row.integer(5);
  t.changed_at = row.integer(6);
  t.approved_by = row.opt_text(7);
  t.approved_at = row.opt_integer(8);
  return t;
}

}  // namespace

Result<std::map<std::string, InventoryTool>> read_inventory(store::Tx& tx,
                                                            const std::string& server_id) {
  CUSTODY_ASSIGN(auto rows, tx.query(std::string("SELECT ") + kColumns +
                                         " FROM gateway_tools WHERE server_id = $1",
                                     {server_id}));
  std::map<std::string, InventoryTool> out;
  for (const auto& row : rows) {
    auto t = from_row(row);
    out.emplace(t.name, std::move(t));
  }
  return out;
}

Result<std::optional<InventoryTool>> find_tool(store::Tx& tx, const std::string& server_id,
                                               const std::string& name) {
  CUSTODY_ASSIGN(auto rows, tx.query(std::string("SELECT ") + kColumns +
                                         " FROM gateway_tools WHERE server_id = $1 AND name = $2",
                                     {server_id, name}));
  if (rows.empty()) return std::optional<InventoryTool>();
  return std::optional<InventoryTool>(from_row(rows[0]));
}

Result<std::optional<ToolStatus>> find_tool_status(store::Tx& tx, const std::string& server_id,
                                                   const std::string& name) {
  // Only the two fingerprints: the definition's JSON is not parsed on every call.
  CUSTODY_ASSIGN(auto rows, tx.query("SELECT fingerprint, approved_fingerprint FROM gateway_tools "
                                     "WHERE server_id = $1 AND name = $2",
                                     {server_id, name}));
  if (rows.empty()) return std::optional<ToolStatus>();
  InventoryTool t;
  t.fingerprint = rows[0].text(0);
  t.approved_fingerprint = rows[0].opt_text(1);
  return std::optional<ToolStatus>(t.status());
}

InventoryChange diff_inventory(const std::map<std::string, InventoryTool>& current,
                               const std::string& server_id, const nlohmann::json& tools,
                               Micros now) {
  InventoryChange change;
  change.baseline = current.empty();
  if (!tools.is_array()) return change;
  for (const auto& tool : tools) {
    auto fingerprint = tool_fingerprint(tool);
    if (!fingerprint.ok()) continue;
    std::string name = tool["name"].get<std::string>();
    auto known = current.find(name);
    if (known == current.end()) {
      InventoryTool t;
      t.server_id = server_id;
      t.name = name;
      t.fingerprint = *fingerprint;
      t.definition = tool;
      t.first_seen = now;
      t.changed_at = now;
      if (change.baseline) {
        t.approved_fingerprint = *fingerprint;
        t.approved_by = "baseline";
        t.approved_at = now;
      }
      change.added.push_back(std::move(t));
    } else if (known->second.fingerprint != *fingerprint) {
      InventoryTool t = known->second;
      t.fingerprint = *fingerprint;
      t.definition = tool;
      t.changed_at = now;
      change.changed.push_back(std::move(t));
    }
  }
  return change;
}

Status apply_inventory_change(store::Tx& tx, const InventoryChange& change) {
  for (const auto& t : change.added) {
    CUSTODY_TRY(tx.exec(
        "INSERT INTO gateway_tools (server_id, name, fingerprint, approved_fingerprint, "
        "definition, first_seen, changed_at, approved_by, approved_at) VALUES ($1, $2, $3, $4, "
        "$5, $6, $7, $8, $9) ON CONFLICT (server_id, name) DO NOTHING",
        {t.server_id, t.name, t.fingerprint, store::opt(t.approved_fingerprint),
         t.definition.dump(), t.first_seen, t.changed_at, store::opt(t.approved_by),
         store::opt(t.approved_at)}));
  }
  for (const auto& t : change.changed) {
    CUSTODY_TRY(
        tx.exec("UPDATE gateway_tools SET fingerprint = $3, definition = $4, changed_at = $5 "
                "WHERE server_id = $1 AND name = $2",
                {t.server_id, t.name, t.fingerprint, t.definition.dump(), t.changed_at}));
  }
  return ok_status();
}

Result<InventoryTool> approve_tool(store::Tx& tx, const std::string& server_id,
                                   const std::string& name, const std::string& who, Micros now) {
  CUSTODY_ASSIGN(auto n, tx.exec("UPDATE gateway_tools SET approved_fingerprint = fingerprint, "
                                 "approved_by = $3, approved_at = $4 "
                                 "WHERE server_id = $1 AND name = $2",
                                 {server_id, name, who, now}));
  if (n == 0)
    return Error::not_found("MCP server " + server_id + " has listed no tool \"" + name + "\"");
  CUSTODY_ASSIGN(auto tool, find_tool(tx, server_id, name));
  if (!tool) return Error::not_found("tool " + name);
  return std::move(*tool);
}

nlohmann::json to_json(const InventoryTool& t) {
  nlohmann::json j = {{"name", t.name},
                      {"status", tool_status_name(t.status())},
                      {"fingerprint", t.fingerprint},
                      {"first_seen", format_rfc3339(t.first_seen)},
                      {"changed_at", format_rfc3339(t.changed_at)},
                      {"definition", t.definition}};
  j["approved_fingerprint"] =
      t.approved_fingerprint ? nlohmann::json(*t.approved_fingerprint) : nlohmann::json(nullptr);
  j["approved_by"] = t.approved_by ? nlohmann::json(*t.approved_by) : nlohmann::json(nullptr);
  j["approved_at"] =
      t.approved_at ? nlohmann::json(format_rfc3339(*t.approved_at)) : nlohmann::json(nullptr);
  return j;
}

}  // namespace custody::gateway
