// custody discovery list|show|register|reject|shadow (docs/find-agents.md)
#include <iostream>
#include <set>

#include "cli/commands.h"
#include "cli/render.h"
#include "cli/table.h"

namespace custody::cli {
namespace {

std::string signals_text(const Json& risks) {
  std::string out;
  if (!risks.is_array()) return "-";
  for (const auto& r : risks) {
    std::string s =
        r.is_object() ? r.value("signal", "") : (r.is_string() ? r.get<std::string>() : "");
    if (!s.empty() && out.find(s) == std::string::npos) out += (out.empty() ? "" : ",") + s;
  }
  return out.empty() ? "-" : sanitize(out);
}

// Risk signals over every device a finding was seen on.
std::string finding_signals(const Json& f) {
  Json all = Json::array();
  if (f.contains("devices"))
    for (const auto& d : f["devices"])
      if (d.contains("risks"))
        for (const auto& r : d["risks"]) all.push_back(r);
  return signals_text(all);
}

// Distinct devices among a finding's sightings (one device may configure it in several clients).
std::size_t device_count(const Json& f) {
  std::set<std::string> ids;
  if (f.contains("devices"))
    for (const auto& d : f["devices"]) ids.insert(d.value("device_id", ""));
  return ids.size();
}

void render_finding_table(std::ostream& out, const Json& items) {
  Table t({"ID", "NAME", "STATE", "DRIFTED", "OWNER", "DEVICES", "TARGET", "RISKS"});
  for (const auto& f : items)
    t.add_row({member_text(f, "id"), member_text(f, "name"), member_text(f, "state"),
               f.value("drifted", false) ? "yes" : "no", member_text(f, "owner"),
               std::to_string(device_count(f)), member_text(f, "target"), finding_signals(f)});
  t.render(out);
}

void render_finding(std::ostream& out, const Json& f) {
  render_fields(out, {{"id", member_text(f, "id")},
                      {"name", member_text(f, "name")},
                      {"kind", member_text(f, "kind")},
                      {"state", member_text(f, "state")},
                      {"owner", member_text(f, "owner")},
                      {"transport", member_text(f, "transport")},
                      {"target", member_text(f, "target")},
                      {"definition", member_text(f, "definition_hash")},
                      {"registered", member_text(f, "registered_definition_hash")},
                      {"drifted", f.value("drifted", false) ? "yes" : "no"},
                      {"first seen", member_text(f, "first_seen_at")},
                      {"last seen", member_text(f, "last_seen_at")},
                      {"risks", finding_signals(f)}});
  if (!f.contains("devices") || f["devices"].empty()) return;
  out << "\n";
  Table t({"DEVICE", "HOST", "DEVICE OWNER", "CLIENT", "SCOPE", "CONFIG", "LAST SEEN"});
  for (const auto& d : f["devices"])
    t.add_row({member_text(d, "device_id"), member_text(d, "hostname"),
               member_text(d, "device_owner"), member_text(d, "client"), member_text(d, "scope"),
               member_text(d, "config_file"), member_text(d, "last_seen_at")});
  t.render(out);
}

void render_shadow(std::ostream& out, const Json& body) {
  Table t({"DEVICE OWNER", "DEVICE", "HOST", "IDENTITY", "NAME", "STATE", "CLIENT", "SIGNALS"});
  for (const auto& r : body.value("items", Json::array()))
    t.add_row({member_text(r, "device_owner"), member_text(r, "device_id"),
               member_text(r, "hostname"), member_text(r, "identity"), member_text(r, "name"),
               member_text(r, "state"), member_text(r, "client"),
               signals_text(r.value("risk_signals", Json::array()))});
  t.render(out);
}

void add_list(CLI::App* group, Action& action) {
  struct Args {
    RemoteFlags remote;
    std::string state, device, owner, kind;
    bool all = false;
  };
  auto a = std::make_shared<Args>();
  auto* cmd = group->add_subcommand("list", "List discovered MCP servers and agents");
  cmd->add_option("--state", a->state, "discovered, pending, active, suspended or retired");
  cmd->add_option("--device", a->device, "seen on this device (dev_...)");
  cmd->add_option("--owner", a->owner, "owned by this human (usr_...)");
  cmd->add_option("--kind", a->kind, "mcp_server or agent");
  cmd->add_flag("--all", a->all, "follow every page");
  add_remote_flags(cmd, &a->remote);
  on_run(cmd, action, a, [](Args& args) {
    Query query;
    if (!args.state.empty()) query.emplace_back("state", args.state);
    if (!args.device.empty()) query.emplace_back("device", args.device);
    if (!args.owner.empty()) query.emplace_back("owner", args.owner);
    if (!args.kind.empty()) query.emplace_back("kind", args.kind);
    return with_session(args.remote, [&](const Session& s) {
      return list_and_print(s, {Method::kGet, api_path({"discovery", "findings"}), query, {}, {}},
                            args.all, render_finding_table);
    });
  });
}

void add_show(CLI::App* group, Action& action) {
  struct Args {
    RemoteFlags remote;
    std::string id;
  };
  auto a = std::make_shared<Args>();
  auto* cmd = group->add_subcommand("show", "Show a finding and the devices it was seen on");
  cmd->add_option("ID", a->id, "finding id (the identity's id, mcp_... or agt_...)")->required();
  add_remote_flags(cmd, &a->remote);
  on_run(cmd, action, a, [](Args& args) {
    return with_session(args.remote, [&](const Session& s) {
      return call_and_print(
          s, {Method::kGet, api_path({"discovery", "findings", args.id}), {}, {}, {}},
          render_finding);
    });
  });
}

void add_register(CLI::App* group, Action& action) {
  struct Args {
    RemoteFlags remote;
    std::string id, owner, scope, resource;
    std::vector<std::string> tools;
    bool pending = false;
  };
  auto a = std::make_shared<Args>();
  auto* cmd = group->add_subcommand(
      "register", "Register a finding: discovered → pending → active, with owner and grants");
  cmd->add_option("ID", a->id, "finding id")->required();
  cmd->add_option("--owner", a->owner, "the human who owns it from now on (usr_...)");
  auto* scope = cmd->add_option("--scope", a->scope, "grant this scope (with --resource)");
  auto* resource = cmd->add_option("--resource", a->resource, "on this resource (with --scope)");
  scope->needs(resource);
  resource->needs(scope);
  cmd->add_option("--tool", a->tools, "allow only this tool (repeatable; with --scope)")
      ->allow_extra_args(false)
      ->needs(scope);
  cmd->add_flag("--pending", a->pending, "stop at pending (activate later)");
  add_remote_flags(cmd, &a->remote);
  on_run(cmd, action, a, [](Args& args) {
    Json body = Json::object();
    if (!args.owner.empty()) body["owner"] = args.owner;
    if (args.pending) body["activate"] = false;
    if (!args.scope.empty()) {
      Json e = {{"scope", args.scope}, {"resource", args.resource}};
      if (!args.tools.empty()) e["tools"] = args.tools;
      body["entitlements"] = Json::array({e});
    }
    return with_session(args.remote, [&](const Session& s) {
      return call_and_print(
          s,
          {Method::kPost, api_path({"discovery", "findings", args.id, "register"}), {}, body, {}},
          render_finding);
    });
  });
}

void add_reject(CLI::App* group, Action& action) {
  struct Args {
    RemoteFlags remote;
    std::string id, reason;
  };
  auto a = std::make_shared<Args>();
  auto* cmd = group->add_subcommand("reject", "Reject a finding: its identity is retired");
  cmd->add_option("ID", a->id, "finding id")->required();
  cmd->add_option("--reason", a->reason, "why; recorded in the audit log")->required();
  add_remote_flags(cmd, &a->remote);
  on_run(cmd, action, a, [](Args& args) {
    return with_session(args.remote, [&](const Session& s) {
      return call_and_print(s,
                            {Method::kPost,
                             api_path({"discovery", "findings", args.id, "reject"}),
                             {},
                             Json{{"reason", args.reason}},
                             {}},
                            render_finding);
    });
  });
}

void add_shadow(CLI::App* group, Action& action) {
  struct Args {
    RemoteFlags remote;
  };
  auto a = std::make_shared<Args>();
  auto* cmd = group->add_subcommand(
      "shadow", "What runs but is not registered (or drifted), by device owner and device");
  add_remote_flags(cmd, &a->remote);
  on_run(cmd, action, a, [](Args& args) {
    return with_session(args.remote, [&](const Session& s) {
      return call_and_print(s, {Method::kGet, api_path({"inventory", "shadow"}), {}, {}, {}},
                            render_shadow);
    });
  });
}

}  // namespace

void add_discovery_commands(CLI::App& app, Action& action) {
  auto* group =
      app.add_subcommand("discovery", "Discovered MCP servers and agents: list, register, reject");
  group->require_subcommand(1);
  add_list(group, action);
  add_show(group, action);
  add_register(group, action);
  add_reject(group, action);
  add_shadow(group, action);
}

}  // namespace custody::cli
