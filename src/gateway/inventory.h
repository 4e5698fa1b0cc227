// The tool inventory of each upstream MCP server (docs/mcp-gateway.md, "Tool inventory"), so that
// a tool the upstream adds later (a shadow tool) or a tool whose description or schema silently
// changes (a "rug pull") cannot be called until a person approves it.
//
// A tool's fingerprint is the hex SHA-256 of the RFC 8785 canonical JSON of its definition without
// its name (description, title, inputSchema, outputSchema, annotations, _meta, ...). The first
// listing of a server is its baseline (approved by "baseline"); later new tools are pending and
// changed tools are changed until approve_tool() approves the current definition.
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/result.h"
#include "store/store.h"

namespace custody::gateway {

enum class ToolStatus { kApproved, kPending, kChanged };
std::string_view tool_status_name(ToolStatus status);  // "approved", "pending", "changed"

struct InventoryTool {
  std::string server_id;
  std::string name;
  std::string fingerprint;
  std::optional<std::string> approved_fingerprint;
  nlohmann::json definition;
  Micros first_seen = 0;
  Micros changed_at = 0;
  std::optional<std::string> approved_by;
  std::optional<Micros> approved_at;

  ToolStatus status() const;
};

// kInvalidArgument when `tool` is no object with a string name or cannot be canonicalized.
Result<std::string> tool_fingerprint(const nlohmann::json& tool);

Result<std::map<std::string, InventoryTool>> read_inventory(store::Tx& tx,
                                                            const std::string& server_id);
Result<std::optional<InventoryTool>> find_tool(store::Tx& tx, const std::string& server_id,
                                               const std::string& name);
// The status of one tool (what a call needs of the inventory), or nullopt for an unknown tool.
Result<std::optional<ToolStatus>> find_tool_status(store::Tx& tx, const std::string& server_id,
                                                   const std::string& name);

// What a tools/list answer changes in the inventory: tools to insert or update. Tools no longer
// listed stay in the inventory (an upstream may page or hide them).
struct InventoryChange {
  bool baseline = false;               // the server had no inventory: everything listed is approved
  std::vector<InventoryTool> added;    // new tools (approved when baseline, else pending)
  std::vector<InventoryTool> changed;  // known tools whose fingerprint differs
  bool empty() const { return added.empty() && changed.empty(); }
};

// Compares a listing with the inventory read before (pure). Tools without a valid name are
// skipped (the caller drops them from the answer too).
InventoryChange diff_inventory(const std::map<std::string, InventoryTool>& current,
                               const std::string& server_id, const nlohmann::json& tools,
                               Micros now);

// Writes a change in `tx` (upserts; a concurrent listing that wrote the same is harmless).
Status apply_inventory_change(store::Tx& tx, const InventoryChange& change);

// Approves the tool's current definition as `who`. kNotFound for an unknown tool.
Result<InventoryTool> approve_tool(store::Tx& tx, const std::string& server_id,
                                   const std::string& name, const std::string& who, Micros now);

nlohmann::json to_json(const InventoryTool& tool);

}  // namespace custody::gateway
