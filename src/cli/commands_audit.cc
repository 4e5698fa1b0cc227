// custody audit list | verify | export
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <iostream>
#include <sstream>
#include <thread>

#include "audit/events.h"
#include "audit/verify.h"
#include "cli/audit_export.h"
#include "cli/commands.h"
#include "cli/render.h"
#include "cli/requests.h"
#include "common/clock.h"
#include "common/config.h"
#include "store/store.h"

namespace custody::cli {
namespace {

struct VerifyFlags {
  std::string config_file, data_dir, store, from_sth;
  bool json = false;
};

// verify reads the store itself, configured like custodyd (custody.yaml, CUSTODY_*, flags), so
// that it trusts neither the server nor its API.
int run_verify(const VerifyFlags& f) {
  auto env = environment_map();
  if (!f.data_dir.empty()) env["CUSTODY_DATA_DIR"] = f.data_dir;
  if (!f.store.empty()) env["CUSTODY_STORE"] = f.store;
  auto config = load_config(
      f.config_file.empty() ? std::nullopt : std::optional<std::string>(f.config_file), env);
  if (!config.ok()) {
    std::cerr << "custody: " << config.error().message << "\n";
    return kExitUsage;
  }
  audit::VerifyOptions options;
  if (!f.from_sth.empty()) {
    std::ifstream in(f.from_sth);
    if (!in) {
      std::cerr << "custody: cannot read " << f.from_sth << "\n";
      return kExitUsage;
    }
    std::stringstream text;
    text << in.rdbuf();
    auto pinned = audit::parse_pinned_heads(text.str());
    if (!pinned.ok()) {
      std::cerr << "custody: " << f.from_sth << ": " << pinned.error().message << "\n";
      return kExitUsage;
    }
    options.pinned = std::move(pinned).value();
  }
  store::StoreOptions store_options;
  store_options.url = config->store_url();
  store_options.read_connections = 1;
  auto store = store::open_store(store_options);
  if (!store.ok()) {
    std::cerr << "custody: cannot open the store: " << store.error().message << "\n";
    return kExitFailure;
  }
  auto report = audit::verify_log(**store, options);
  (*store)->close();
  if (!report.ok()) {
    std::cerr << "custody: cannot read the audit log: " << report.error().message << "\n";
    return kExitFailure;
  }
  if (f.json) {
    std::cout << report->to_json().dump(2) << std::endl;
  } else if (report->ok()) {
    std::cout << "audit log OK: " << report->leaves << " events (" << report->archived_leaves
              << " archived in " << report->segments << " segments), " << report->heads
              << " signed tree heads";
    if (!options.pinned.empty()) std::cout << ", " << report->pinned << " external heads";
    std::cout << "\nroot " << report->to_json()["root_hash"].get<std::string>() << std::endl;
  } else {
    const auto& p = *report->problem;
    std::cout << "audit log DAMAGED: " << p.kind;
    if (p.leaf_index >= 0) std::cout << " at leaf " << p.leaf_index;
    if (p.seq >= 0) std::cout << " (seq " << p.seq << ")";
    if (!p.event_id.empty()) std::cout << " event " << p.event_id;
    std::cout << "\n" << p.message << std::endl;
  }
  return report->ok() ? kExitOk : kExitFailure;
}

struct ExportFlags {
  RemoteFlags remote;
  std::string format = "jsonl";
  std::string since, cursor;
  bool follow = false;
  std::int64_t poll_ms = 1000;
};

int run_export(const ExportFlags& f) {
  auto format = parse_export_format(f.format);
  if (!format.ok()) return usage_error(format.error());
  AuditListArgs args;
  if (!f.since.empty()) args.since = f.since;
  auto base = audit_list_query(args, SystemClock().now());
  if (!base.ok()) return usage_error(base.error());
  char host[256] = {};
  if (::gethostname(host, sizeof host - 1) != 0) host[0] = '\0';
  return with_session(f.remote, [&](const Session& s) {
    std::string cursor = f.cursor;
    for (;;) {
      Query query = *base;
      // No "limit": the server's default page fits any limits.max_page_size.
      query.emplace_back("order", "asc");
      if (!cursor.empty()) query.emplace_back("cursor", cursor);
      auto page = s.call({Method::kGet, api_path({"audit", "events"}), query, {}, {}});
      if (!page) return kExitFailure;
      for (const auto& e : page->value("items", Json::array()))
        std::cout << export_line(e, *format, host) << '\n';
      std::cout.flush();
      const auto& next = (*page)["next_cursor"];
      if (next.is_string()) {
        cursor = next.get<std::string>();
        continue;
      }
      if (!f.follow) return kExitOk;
      // The last page: continue after its newest event once more arrive.
      const auto& items = (*page)["items"];
      if (!items.empty())
        cursor = audit::encode_ascending_cursor(items.back()["seq"].get<std::int64_t>());
      std::this_thread::sleep_for(std::chrono::milliseconds(f.poll_ms));
    }
  });
}

}  // namespace

static void add_audit_verify_and_export(CLI::App* group, Action& action) {
  auto v = std::make_shared<VerifyFlags>();
  auto* verify = group->add_subcommand(
      "verify",
      "Check the audit log in the store itself: every leaf hash, the tree, every signed head");
  verify->add_option("-c,--config", v->config_file,
                     "custody.yaml path (default: ./custody.yaml if present)");
  verify->add_option("--data-dir", v->data_dir, "data directory (CUSTODY_DATA_DIR)");
  verify->add_option("--store", v->store,
                     "store URL: sqlite:PATH or postgres://... (CUSTODY_STORE)");
  verify->add_option("--from-sth", v->from_sth,
                     "tree heads kept outside the store (JSON Lines from audit.sth_export_file, "
                     "a witness, or GET /api/v1/audit/sth)");
  verify->add_flag("--json", v->json, "print the report as JSON");
  on_run(verify, action, v, [](VerifyFlags& f) { return run_verify(f); });

  auto x = std::make_shared<ExportFlags>();
  auto* exp = group->add_subcommand("export", "Print audit events, oldest first, for a SIEM");
  exp->add_option("--format", x->format, "jsonl (default), ocsf or syslog (RFC 5424)");
  exp->add_option("--since", x->since, "events at or after this RFC 3339 time, or this long ago");
  exp->add_option("--cursor", x->cursor, "continue after this export cursor");
  exp->add_flag("--follow", x->follow, "keep running and print new events as they arrive");
  exp->add_option("--poll-ms", x->poll_ms, "with --follow: how often to ask (default 1000)")
      ->check(CLI::PositiveNumber);
  add_remote_flags(exp, &x->remote);
  on_run(exp, action, x, [](ExportFlags& f) { return run_export(f); });
}

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
  add_audit_verify_and_export(group, action);
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
