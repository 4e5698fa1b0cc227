#include "discovery/config_layouts.h"

namespace custody::discovery {

namespace {

using nlohmann::json;

void add_object_entries(const json& parent, const char* key, const std::string& prefix,
                        const std::string& project, std::vector<RawEntry>& out) {
  if (!parent.is_object()) return;
  auto it = parent.find(key);
  if (it == parent.end() || !it->is_object()) return;
  std::string base = prefix.empty() ? std::string(key) : prefix + "." + key;
  for (const auto& [name, entry] : it->items()) {
    if (!entry.is_object()) continue;
    out.push_back({name, base + "." + name, project, &entry});
  }
}

}  // namespace

std::optional<std::string> scalar_text(const json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_boolean()) return v.get<bool>() ? "true" : "false";
  if (v.is_number_integer()) return std::to_string(v.get<long long>());
  if (v.is_number()) return v.dump();
  return std::nullopt;
}

std::optional<std::string> string_at(const json& obj, const char* key) {
  if (!obj.is_object()) return std::nullopt;
  auto it = obj.find(key);
  if (it == obj.end()) return std::nullopt;
  return scalar_text(*it);
}

std::optional<bool> bool_at(const json& obj, const char* key) {
  if (!obj.is_object()) return std::nullopt;
  auto it = obj.find(key);
  if (it == obj.end()) return std::nullopt;
  if (it->is_boolean()) return it->get<bool>();
  if (it->is_string()) {
    const auto& s = it->get_ref<const std::string&>();
    if (s == "true" || s == "True" || s == "yes") return true;
    if (s == "false" || s == "False" || s == "no") return false;
  }
  return std::nullopt;
}

std::vector<RawEntry> entries_of(const json& doc, Layout layout) {
  std::vector<RawEntry> out;
  if (!doc.is_object()) return out;
  switch (layout) {
    case Layout::kMcpServers:
      add_object_entries(doc, "mcpServers", "", "", out);
      break;
    case Layout::kClaudeJson: {
      add_object_entries(doc, "mcpServers", "", "", out);
      auto projects = doc.find("projects");
      if (projects != doc.end() && projects->is_object()) {
        for (const auto& [path, project] : projects->items()) {
          add_object_entries(project, "mcpServers", "projects[\"" + path + "\"]", path, out);
        }
      }
      break;
    }
    case Layout::kVscodeServers:
      add_object_entries(doc, "servers", "", "", out);
      break;
    case Layout::kVscodeSettings: {
      auto mcp = doc.find("mcp");
      if (mcp != doc.end()) add_object_entries(*mcp, "servers", "mcp", "", out);
      break;
    }
    case Layout::kZed:
      add_object_entries(doc, "context_servers", "", "", out);
      break;
    case Layout::kContinue: {
      auto list = doc.find("mcpServers");
      if (list == doc.end()) break;
      if (list->is_object()) {  // some block files use the map form
        add_object_entries(doc, "mcpServers", "", "", out);
        break;
      }
      if (!list->is_array()) break;
      for (std::size_t i = 0; i < list->size(); ++i) {
        const json& e = (*list)[i];
        if (!e.is_object()) continue;
        std::string name = string_at(e, "name").value_or("#" + std::to_string(i));
        out.push_back({name, "mcpServers[" + std::to_string(i) + "]", "", &e});
      }
      break;
    }
    case Layout::kCodex:
      add_object_entries(doc, "mcp_servers", "", "", out);
      break;
    case Layout::kGoose:
      add_object_entries(doc, "extensions", "", "", out);
      break;
    case Layout::kOpencode: {
      auto mcp = doc.find("mcp");
      if (mcp == doc.end() || !mcp->is_object()) break;
      auto servers = mcp->find("servers");
      if (servers != mcp->end() && servers->is_object()) {  // v2
        add_object_entries(*mcp, "servers", "mcp", "", out);
      } else {
        add_object_entries(doc, "mcp", "", "", out);
      }
      break;
    }
    case Layout::kGeminiAgent: {
      // One agent per file; only remote (A2A) agents are findings, local subagents are prompts.
      if (string_at(doc, "kind").value_or("") != "remote") break;
      out.push_back({string_at(doc, "name").value_or("(unnamed)"), "", "", &doc});
      break;
    }
  }
  return out;
}

}  // namespace custody::discovery
