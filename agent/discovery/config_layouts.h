// Where the server entries sit in each client's parsed config (catalogue.h Layout), and tolerant
// accessors for values whose type depends on the format (YAML gives every scalar as a string).
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "discovery/catalogue.h"

namespace custody::discovery {

// One server entry found in a document. `entry` points into the document, which must outlive it.
struct RawEntry {
  std::string name;
  std::string field_prefix;  // JSON path of the entry, e.g. "mcpServers.github"
  std::string project;       // Claude Code's per-project entries: the project path
  const nlohmann::json* entry = nullptr;
};

// The entries of `doc` under `layout`; entries that are not objects are skipped. Never throws.
std::vector<RawEntry> entries_of(const nlohmann::json& doc, Layout layout);

// Member `key` of `obj` as a string (numbers and booleans are rendered), or nullopt.
std::optional<std::string> string_at(const nlohmann::json& obj, const char* key);
// Member `key` as a boolean; YAML's "true"/"false" strings count.
std::optional<bool> bool_at(const nlohmann::json& obj, const char* key);
// A JSON string, number or boolean as text; nullopt for objects, arrays and null.
std::optional<std::string> scalar_text(const nlohmann::json& v);

}  // namespace custody::discovery
