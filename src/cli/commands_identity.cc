// custody identity create|list|show|update|activate|submit|suspend|retire
#include <CLI/CLI.hpp>
#include <memory>

#include "cli/commands.h"
#include "cli/render.h"
#include "cli/requests.h"

namespace custody::cli {
namespace {

const std::vector<std::string> kKinds = {"human", "service", "agent", "mcp_server"};
const std::vector<std::string> kStates = {"discovered", "pending", "active", "suspended",
                                          "retired"};
const std::vector<std::string> kCreateStates = {"discovered", "pending", "active"};

void add_id(CLI::App* command, std::string* id) {
  command->add_option("ID", *id, "identity id (usr_, svc_, agt_ or mcp_...)")->required();
}

void add_create(CLI::App* group, Action& action) {
  struct Args {
    RemoteFlags remote;
    IdentityCreateArgs request;
    std::string description, owner, state;
    CLI::Option *description_opt, *owner_opt, *state_opt;
  };
  auto a = std::make_shared<Args>();
  auto* cmd = group->add_subcommand("create", "Create an identity");
  cmd->add_option("--kind", a->request.kind, "human, service, agent or mcp_server")
      ->required()
      ->check(CLI::IsMember(kKinds));
  cmd->add_option("--name", a->request.name, "display name")->required();
  a->description_opt = cmd->add_option("--description", a->description, "free text");
  a->owner_opt = cmd->add_option("--owner", a->owner,
                                 "owning human (usr_...); required for every kind but human");
  cmd->add_option("--label", a->request.labels, "key=value label (repeatable)")
      ->allow_extra_args(false);
  a->state_opt = cmd->add_option("--state", a->state,
                                 "initial state: discovered, pending or active (default: active "
                                 "for humans, pending otherwise)")
                     ->check(CLI::IsMember(kCreateStates));
  add_remote_flags(cmd, &a->remote);
  on_run(cmd, action, a, [](Args& args) {
    args.request.description = given(args.description_opt, args.description);
    args.request.owner = given(args.owner_opt, args.owner);
    args.request.state = given(args.state_opt, args.state);
    auto body = identity_create_body(args.request);
    if (!body.ok()) return usage_error(body.error());
    return with_session(args.remote, [&](const Session& s) {
      return call_and_print(s, {Method::kPost, api_path({"identities"}), {}, *body, {}},
                            render_identity);
    });
  });
}

void add_list(CLI::App* group, Action& action) {
  struct Args {
    RemoteFlags remote;
    IdentityListArgs request;
    std::string kind, state, owner, cursor;
    std::int64_t limit = 0;
    bool all = false;
    CLI::Option *kind_opt, *state_opt, *owner_opt, *cursor_opt, *limit_opt;
  };
  auto a = std::make_shared<Args>();
  auto* cmd = group->add_subcommand("list", "List identities, filtered");
  a->kind_opt = cmd->add_option("--kind", a->kind, "only this kind")->check(CLI::IsMember(kKinds));
  a->state_opt =
      cmd->add_option("--state", a->state, "only this state")->check(CLI::IsMember(kStates));
  a->owner_opt = cmd->add_option("--owner", a->owner, "only identities owned by this usr_ id");
  cmd->add_option("--label", a->request.labels,
                  "key=value; repeatable, every given label must match")
      ->allow_extra_args(false);
  a->limit_opt = cmd->add_option("--limit", a->limit, "page size (server default 100)")
                     ->check(CLI::PositiveNumber);
  a->cursor_opt = cmd->add_option("--cursor", a->cursor, "continue from this page cursor");
  cmd->add_flag("--all", a->all, "follow cursors and print every page");
  add_remote_flags(cmd, &a->remote);
  on_run(cmd, action, a, [](Args& args) {
    args.request.kind = given(args.kind_opt, args.kind);
    args.request.state = given(args.state_opt, args.state);
    args.request.owner = given(args.owner_opt, args.owner);
    args.request.cursor = given(args.cursor_opt, args.cursor);
    if (args.limit_opt->count() > 0) args.request.limit = args.limit;
    auto query = identity_list_query(args.request);
    if (!query.ok()) return usage_error(query.error());
    return with_session(args.remote, [&](const Session& s) {
      return list_and_print(s, {Method::kGet, api_path({"identities"}), *query, {}, {}}, args.all,
                            render_identity_table);
    });
  });
}

void add_show(CLI::App* group, Action& action) {
  struct Args {
    RemoteFlags remote;
    std::string id;
  };
  auto a = std::make_shared<Args>();
  auto* cmd = group->add_subcommand("show", "Show one identity");
  add_id(cmd, &a->id);
  add_remote_flags(cmd, &a->remote);
  on_run(cmd, action, a, [](Args& args) {
    return with_session(args.remote, [&](const Session& s) {
      return call_and_print(s, {Method::kGet, api_path({"identities", args.id}), {}, {}, {}},
                            render_identity);
    });
  });
}

void add_if_match(CLI::App* command, std::string* version, CLI::Option** option) {
  *option = command->add_option(
      "--if-match", *version,
      "only if the identity is still at this version (as shown by `show`); else HTTP 412");
}

Headers if_match_headers(const CLI::Option* option, const std::string& version) {
  if (option->count() == 0) return {};
  return {{"If-Match", if_match_value(version)}};
}

void add_update(CLI::App* group, Action& action) {
  struct Args {
    RemoteFlags remote;
    IdentityUpdateArgs request;
    std::string id, name, description, owner, version;
    CLI::Option *name_opt, *description_opt, *owner_opt, *version_opt;
  };
  auto a = std::make_shared<Args>();
  auto* cmd = group->add_subcommand("update",
                                    "Change an identity's name, description, labels "
                                    "or owner");
  add_id(cmd, &a->id);
  a->name_opt = cmd->add_option("--name", a->name, "new display name");
  a->description_opt = cmd->add_option("--description", a->description, "new description");
  // One value per flag, so the ID after it is never swallowed as a label.
  cmd->add_option("--label", a->request.labels,
                  "key=value (repeatable); the given labels replace the whole map")
      ->allow_extra_args(false);
  cmd->add_flag("--clear-labels", a->request.clear_labels, "remove every label");
  a->owner_opt = cmd->add_option("--owner", a->owner, "new owner (an active human, usr_...)");
  add_if_match(cmd, &a->version, &a->version_opt);
  add_remote_flags(cmd, &a->remote);
  on_run(cmd, action, a, [](Args& args) {
    args.request.name = given(args.name_opt, args.name);
    args.request.description = given(args.description_opt, args.description);
    args.request.owner = given(args.owner_opt, args.owner);
    auto body = identity_update_body(args.request);
    if (!body.ok()) return usage_error(body.error());
    return with_session(args.remote, [&](const Session& s) {
      return call_and_print(s,
                            {Method::kPatch,
                             api_path({"identities", args.id}),
                             {},
                             *body,
                             if_match_headers(args.version_opt, args.version)},
                            render_identity);
    });
  });
}

// activate and submit: a bodiless POST to /identities/{id}/<verb>.
void add_transition(CLI::App* group, Action& action, const char* verb, const char* help,
                    bool with_if_match) {
  struct Args {
    RemoteFlags remote;
    std::string id, verb, version;
    CLI::Option* version_opt = nullptr;
  };
  auto a = std::make_shared<Args>();
  a->verb = verb;
  auto* cmd = group->add_subcommand(verb, help);
  add_id(cmd, &a->id);
  if (with_if_match) add_if_match(cmd, &a->version, &a->version_opt);
  add_remote_flags(cmd, &a->remote);
  on_run(cmd, action, a, [](Args& args) {
    Headers headers =
        args.version_opt ? if_match_headers(args.version_opt, args.version) : Headers{};
    return with_session(args.remote, [&](const Session& s) {
      return call_and_print(
          s, {Method::kPost, api_path({"identities", args.id, args.verb}), {}, {}, headers},
          render_identity);
    });
  });
}

// suspend and retire: POST {reason?}, answered with {identity, affected}.
void add_offboarding(CLI::App* group, Action& action, const char* verb, const char* help) {
  struct Args {
    RemoteFlags remote;
    std::string id, verb, reason;
    CLI::Option* reason_opt;
  };
  auto a = std::make_shared<Args>();
  a->verb = verb;
  auto* cmd = group->add_subcommand(verb, help);
  add_id(cmd, &a->id);
  a->reason_opt = cmd->add_option("--reason", a->reason, "why; recorded in the audit log");
  add_remote_flags(cmd, &a->remote);
  on_run(cmd, action, a, [](Args& args) {
    Body body = reason_body(given(args.reason_opt, args.reason));
    return with_session(args.remote, [&](const Session& s) {
      return call_and_print(
          s, {Method::kPost, api_path({"identities", args.id, args.verb}), {}, body, {}},
          render_lifecycle_result);
    });
  });
}

}  // namespace

void add_identity_commands(CLI::App& app, Action& action) {
  auto* group = app.add_subcommand("identity", "Manage human and non-human identities");
  group->require_subcommand(1);
  add_create(group, action);
  add_list(group, action);
  add_show(group, action);
  add_update(group, action);
  add_transition(group, action, "activate",
                 "Activate an identity (pending→active, or suspended→active)", true);
  add_transition(group, action, "submit",
                 "Submit a discovered identity for review "
                 "(discovered→pending)",
                 false);
  add_offboarding(group, action, "suspend",
                  "Suspend an identity; suspending a human also suspends what it owns");
  add_offboarding(group, action, "retire",
                  "Retire an identity for good (terminal); retiring a human also suspends what "
                  "it owns");
}

}  // namespace custody::cli
