// custody trace, custody drift, custody delegation get|revoke, custody keys list|rotate
#include "cli/commands.h"
#include "cli/duration.h"
#include "cli/http_client.h"
#include "cli/table.h"
#include "cli/trace_render.h"

namespace custody::cli {

void add_delegation_commands(CLI::App& app, Action& action) {
  {
    struct Args {
      RemoteFlags remote;
      std::string what;
    };
    auto a = std::make_shared<Args>();
    auto* cmd = app.add_subcommand(
        "trace", "Show the delegation chain of a token: who started it, every hop, what derives");
    cmd->add_option("what", a->what,
                    "an access token, its jti / delegation id (dlg_…), or an audit event's seq")
        ->required();
    add_remote_flags(cmd, &a->remote);
    on_run(cmd, action, a, [](Args& args) {
      // A JWS has two dots; digits are an audit event's seq; anything else is a jti (which is
      // the delegation id).
      bool is_token = std::count(args.what.begin(), args.what.end(), '.') == 2;
      bool is_event =
          !args.what.empty() && std::all_of(args.what.begin(), args.what.end(),
                                            [](char c) { return c >= '0' && c <= '9'; });
      Query query = {{is_token ? "token" : is_event ? "event" : "jti", args.what}};
      return with_session(args.remote, [&](const Session& s) {
        return call_and_print(s, {Method::kGet, api_path({"trace"}), query, {}, {}}, render_trace);
      });
    });
  }

  {
    struct Args {
      RemoteFlags remote;
      std::string identity, unused = "30d", recent = "7d";
    };
    auto a = std::make_shared<Args>();
    auto* cmd = app.add_subcommand(
        "drift", "Granted versus used: unused entitlements, new scopes and audiences");
    cmd->add_option("--identity", a->identity, "one identity (default: every one not retired)");
    cmd->add_option("--unused", a->unused, "usage window: entitlements unused this long (30d)");
    cmd->add_option("--recent", a->recent, "what is new within this window (7d)");
    add_remote_flags(cmd, &a->remote);
    on_run(cmd, action, a, [](Args& args) {
      auto unused = parse_duration(args.unused);
      if (!unused.ok()) return usage_error(unused.error());
      auto recent = parse_duration(args.recent);
      if (!recent.ok()) return usage_error(recent.error());
      Query query = {{"unused_seconds", std::to_string(*unused)},
                     {"recent_seconds", std::to_string(*recent)}};
      if (!args.identity.empty()) query.emplace_back("identity", args.identity);
      return with_session(args.remote, [&](const Session& s) {
        return list_and_print(
            s, {Method::kGet, api_path({"drift"}), query, {}, {}}, true,
            [](std::ostream& out, const Json& items) {
              Table t({"IDENTITY", "KIND", "FINDING", "DETAIL", "SINCE"});
              for (const auto& item : items) {
                for (const auto& f : item.value("findings", Json::array())) {
                  std::string type = f.value("type", "");
                  std::string detail = type == "unused_entitlement"
                                           ? f.value("scope", "") + " @ " + f.value("resource", "")
                                       : type == "scope_beyond_baseline" ? f.value("scope", "")
                                                                         : f.value("audience", "");
                  std::string since = f.contains("granted_at") ? f.value("granted_at", "")
                                                               : f.value("first_seen_at", "");
                  t.add_row(
                      {item.value("identity_id", ""), item.value("kind", ""), type, detail, since});
                }
              }
              t.render(out);
            });
      });
    });
  }

  auto* group = app.add_subcommand("delegation", "Read and revoke delegation records");
  group->require_subcommand(1);
  {
    struct Args {
      RemoteFlags remote;
      std::string id;
    };
    auto a = std::make_shared<Args>();
    auto* cmd = group->add_subcommand("get", "Show one delegation record");
    cmd->add_option("id", a->id, "dlg_… (a token's jti)")->required();
    add_remote_flags(cmd, &a->remote);
    on_run(cmd, action, a, [](Args& args) {
      return with_session(args.remote, [&](const Session& s) {
        return call_and_print(s, {Method::kGet, api_path({"delegations", args.id}), {}, {}, {}},
                              render_delegation);
      });
    });
  }
  {
    struct Args {
      RemoteFlags remote;
      std::string id, reason;
    };
    auto a = std::make_shared<Args>();
    auto* cmd = group->add_subcommand("revoke",
                                      "Revoke a delegation record and every token derived from it");
    cmd->add_option("id", a->id, "dlg_… (a token's jti)")->required();
    cmd->add_option("--reason", a->reason, "why (recorded in the audit log)");
    add_remote_flags(cmd, &a->remote);
    on_run(cmd, action, a, [](Args& args) {
      nlohmann::json body = nlohmann::json::object();
      if (!args.reason.empty()) body["reason"] = args.reason;
      return with_session(args.remote, [&](const Session& s) {
        return call_and_print(
            s, {Method::kPost, api_path({"delegations", args.id, "revoke"}), {}, body, {}},
            [](std::ostream& out, const Json& r) {
              out << "revoked " << r.value("revoked_count", 0) << " delegation record(s)";
              for (const auto& id : r.value("revoked", Json::array()))
                out << "\n  " << sanitize(id.get<std::string>());
              out << "\n";
            });
      });
    });
  }

  auto* keys = app.add_subcommand("keys", "The authorization server's signing keys");
  keys->require_subcommand(1);
  {
    struct Args {
      RemoteFlags remote;
    };
    auto a = std::make_shared<Args>();
    auto* list = keys->add_subcommand("list", "List the published signing keys");
    add_remote_flags(list, &a->remote);
    on_run(list, action, a, [](Args& args) {
      return with_session(args.remote, [&](const Session& s) {
        return call_and_print(s, {Method::kGet, api_path({"keys"}), {}, {}, {}}, render_key_table);
      });
    });
    auto b = std::make_shared<Args>();
    auto* rotate = keys->add_subcommand(
        "rotate", "Activate the pre-published key now and publish the next one");
    add_remote_flags(rotate, &b->remote);
    on_run(rotate, action, b, [](Args& args) {
      return with_session(args.remote, [&](const Session& s) {
        return call_and_print(s, {Method::kPost, api_path({"keys", "rotate"}), {}, {}, {}},
                              render_key_table);
      });
    });
  }
}

}  // namespace custody::cli
