// custody token create|list|revoke (admin API tokens)
#include <iostream>

#include "cli/commands.h"
#include "cli/render.h"
#include "cli/requests.h"
#include "cli/table.h"

namespace custody::cli {
namespace {

const std::vector<std::string> kRoles = {"admin", "auditor", "owner"};

// The creation response carries the token once; show it last, where it is hard to miss.
void render_created(std::ostream& out, const Json& token) {
  Fields fields = token_fields(token);
  auto value = token.find("token");
  bool has_token = value != token.end() && value->is_string();
  if (has_token) fields.emplace_back("token", value->get<std::string>());
  render_fields(out, fields);
  if (has_token) {
    std::cerr << "custody: warning: the token above is shown once and cannot be retrieved "
                 "again; store it now\n";
  }
}

void add_create(CLI::App* group, Action& action) {
  struct Args {
    RemoteFlags remote;
    TokenCreateArgs request;
    std::string identity, ttl, description;
    CLI::Option *identity_opt, *ttl_opt, *description_opt;
  };
  auto a = std::make_shared<Args>();
  auto* cmd = group->add_subcommand("create", "Create an admin API token (admin role only)");
  cmd->add_option("--role", a->request.role,
                  "admin (everything), auditor (read-only) or owner (what one human owns)")
      ->required()
      ->check(CLI::IsMember(kRoles));
  a->identity_opt =
      cmd->add_option("--identity", a->identity, "the human (usr_...) an owner token acts for");
  a->ttl_opt = cmd->add_option("--ttl", a->ttl, "expire after this long (8h, 30d)");
  a->description_opt = cmd->add_option("--description", a->description, "free text");
  add_remote_flags(cmd, &a->remote);
  on_run(cmd, action, a, [](Args& args) {
    args.request.identity = given(args.identity_opt, args.identity);
    args.request.ttl = given(args.ttl_opt, args.ttl);
    args.request.description = given(args.description_opt, args.description);
    auto body = token_create_body(args.request);
    if (!body.ok()) return usage_error(body.error());
    return with_session(args.remote, [&](const Session& s) {
      return call_and_print(s, {Method::kPost, api_path({"tokens"}), {}, *body, {}},
                            render_created);
    });
  });
}

void add_list(CLI::App* group, Action& action) {
  struct Args {
    RemoteFlags remote;
  };
  auto a = std::make_shared<Args>();
  auto* cmd = group->add_subcommand("list", "List admin API tokens (never their values)");
  add_remote_flags(cmd, &a->remote);
  on_run(cmd, action, a, [](Args& args) {
    return with_session(args.remote, [&](const Session& s) {
      return list_and_print(s, {Method::kGet, api_path({"tokens"}), {}, {}, {}}, /*all=*/false,
                            render_token_table);
    });
  });
}

void add_revoke(CLI::App* group, Action& action) {
  struct Args {
    RemoteFlags remote;
    std::string id;
  };
  auto a = std::make_shared<Args>();
  auto* cmd = group->add_subcommand("revoke", "Revoke an admin API token");
  cmd->add_option("ID", a->id, "token id (tok_...)")->required();
  add_remote_flags(cmd, &a->remote);
  on_run(cmd, action, a, [](Args& args) {
    return with_session(args.remote, [&](const Session& s) {
      return call_and_print(s, {Method::kDelete, api_path({"tokens", args.id}), {}, {}, {}},
                            [&](std::ostream& out, const Json& body) {
                              // docs/api.md only promises "200" here, so the body may be empty.
                              if (body.is_object() && body.contains("id")) {
                                render_token(out, body);
                              } else {
                                out << "revoked " << sanitize(args.id) << "\n";
                              }
                            });
    });
  });
}

}  // namespace

void add_token_commands(CLI::App& app, Action& action) {
  auto* group = app.add_subcommand("token", "Manage admin API tokens");
  group->require_subcommand(1);
  add_create(group, action);
  add_list(group, action);
  add_revoke(group, action);
}

}  // namespace custody::cli
