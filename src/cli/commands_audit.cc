// custody audit list
#include "cli/commands.h"
#include "cli/render.h"
#include "cli/requests.h"
#include "common/clock.h"

namespace custody::cli {

void add_audit_commands(CLI::App& app, Action& action) {
  struct Args {
    RemoteFlags remote;
    AuditListArgs request;
    std::string actor, target, action, outcome, since, until, cursor;
    std::int64_t limit = 0;
    bool all = false;
    CLI::Option *actor_opt, *target_opt, *action_opt, *outcome_opt, *since_opt, *until_opt,
        *cursor_opt, *limit_opt;
  };
  auto* group = app.add_subcommand("audit", "Read the audit log");
  group->require_subcommand(1);
  auto a = std::make_shared<Args>();
  auto* cmd = group->add_subcommand("list", "List audit events, newest first");
  a->actor_opt = cmd->add_option("--actor", a->actor, "only events by this tok_ or usr_ id");
  a->target_opt = cmd->add_option("--target", a->target, "only events about this id");
  a->action_opt = cmd->add_option("--action", a->action, "only this action, e.g. identity.suspend");
  a->outcome_opt = cmd->add_option("--outcome", a->outcome,
                                   "success, or a refusal type such as permission_denied");
  a->since_opt = cmd->add_option("--since", a->since,
                                 "events at or after this RFC 3339 time, or this long ago (24h)");
  a->until_opt =
      cmd->add_option("--until", a->until, "events before this RFC 3339 time, or this long ago");
  a->limit_opt = cmd->add_option("--limit", a->limit, "page size (server default 100)")
                     ->check(CLI::PositiveNumber);
  a->cursor_opt = cmd->add_option("--cursor", a->cursor, "continue from this page cursor");
  cmd->add_flag("--all", a->all, "follow cursors and print every page");
  add_remote_flags(cmd, &a->remote);
  on_run(cmd, action, a, [](Args& args) {
    auto& r = args.request;
    r.actor = given(args.actor_opt, args.actor);
    r.target = given(args.target_opt, args.target);
    r.action = given(args.action_opt, args.action);
    r.outcome = given(args.outcome_opt, args.outcome);
    r.since = given(args.since_opt, args.since);
    r.until = given(args.until_opt, args.until);
    r.cursor = given(args.cursor_opt, args.cursor);
    if (args.limit_opt->count() > 0) r.limit = args.limit;
    auto query = audit_list_query(r, SystemClock().now());
    if (!query.ok()) return usage_error(query.error());
    return with_session(args.remote, [&](const Session& s) {
      return list_and_print(s, {Method::kGet, api_path({"audit"}), *query, {}, {}}, args.all,
                            render_audit_table);
    });
  });
}

}  // namespace custody::cli
