// custody entitlement grant|list|show|revoke
#include <iostream>

#include "cli/commands.h"
#include "cli/render.h"
#include "cli/requests.h"
#include "common/clock.h"

namespace custody::cli {
namespace {

void add_grant(CLI::App* group, Action& action) {
  struct Args {
    RemoteFlags remote;
    GrantArgs request;
    std::string identity, expires, ttl;
    CLI::Option *expires_opt, *ttl_opt;
  };
  auto a = std::make_shared<Args>();
  auto* cmd = group->add_subcommand("grant", "Grant an identity a scope on a resource");
  cmd->add_option("IDENTITY", a->identity, "identity id receiving the grant")->required();
  cmd->add_option("--scope", a->request.scope, "scope, e.g. billing:read")->required();
  cmd->add_option("--resource", a->request.resource, "resource, e.g. https://api.example.com")
      ->required();
  // One value per flag, so a following positional argument is never swallowed as a tool.
  cmd->add_option("--tool", a->request.tools, "limit the grant to this tool (repeatable)")
      ->allow_extra_args(false);
  a->expires_opt =
      cmd->add_option("--expires", a->expires, "expiry time, RFC 3339 (2026-12-31T00:00:00Z)");
  a->ttl_opt = cmd->add_option("--ttl", a->ttl, "expire after this long (30d, 8h, 15m)")
                   ->excludes(a->expires_opt);
  cmd->add_option("--justification", a->request.justification,
                  "why the grant is needed; recorded with it")
      ->required();
  add_remote_flags(cmd, &a->remote);
  on_run(cmd, action, a, [](Args& args) {
    args.request.expires = given(args.expires_opt, args.expires);
    args.request.ttl = given(args.ttl_opt, args.ttl);
    auto body = entitlement_grant_body(args.request, SystemClock().now());
    if (!body.ok()) return usage_error(body.error());
    return with_session(args.remote, [&](const Session& s) {
      return call_and_print(
          s,
          {Method::kPost, api_path({"identities", args.identity, "entitlements"}), {}, *body, {}},
          render_entitlement);
    });
  });
}

void add_list(CLI::App* group, Action& action) {
  struct Args {
    RemoteFlags remote;
    std::string identity;
    bool active = false;
  };
  auto a = std::make_shared<Args>();
  auto* cmd = group->add_subcommand("list", "List an identity's entitlements");
  cmd->add_option("IDENTITY", a->identity, "identity id")->required();
  cmd->add_flag("--active", a->active, "hide expired and revoked entitlements");
  add_remote_flags(cmd, &a->remote);
  on_run(cmd, action, a, [](Args& args) {
    Query query;
    if (args.active) query.emplace_back("active", "true");
    return with_session(args.remote, [&](const Session& s) {
      return list_and_print(
          s, {Method::kGet, api_path({"identities", args.identity, "entitlements"}), query, {}, {}},
          /*all=*/false, render_entitlement_table);
    });
  });
}

// show and revoke: GET or DELETE /entitlements/{id}, both answered with the entitlement.
void add_by_id(CLI::App* group, Action& action, const char* name, Method method, const char* help) {
  struct Args {
    RemoteFlags remote;
    std::string id;
    Method method;
  };
  auto a = std::make_shared<Args>();
  a->method = method;
  auto* cmd = group->add_subcommand(name, help);
  cmd->add_option("ID", a->id, "entitlement id (ent_...)")->required();
  add_remote_flags(cmd, &a->remote);
  on_run(cmd, action, a, [](Args& args) {
    return with_session(args.remote, [&](const Session& s) {
      return call_and_print(s, {args.method, api_path({"entitlements", args.id}), {}, {}, {}},
                            render_entitlement);
    });
  });
}

}  // namespace

void add_entitlement_commands(CLI::App& app, Action& action) {
  auto* group = app.add_subcommand("entitlement", "Grant, list and revoke entitlements");
  group->require_subcommand(1);
  add_grant(group, action);
  add_list(group, action);
  add_by_id(group, action, "show", Method::kGet, "Show one entitlement");
  add_by_id(group, action, "revoke", Method::kDelete, "Revoke an entitlement");
}

}  // namespace custody::cli
