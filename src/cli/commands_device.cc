// custody device enrol-token|list|show|revoke|allow|disallow (docs/cli.md, docs/devices.md)
#include "cli/commands.h"
#include "cli/render.h"
#include "cli/requests.h"
#include "cli/table.h"

namespace custody::cli {
namespace {

void render_device(std::ostream& out, const Json& d) {
  out << sanitize(d.value("id", "")) << "  " << sanitize(d.value("hostname", "")) << " ("
      << sanitize(d.value("platform", "")) << ")\n"
      << "  owner:   " << sanitize(d.value("owner", "")) << "\n"
      << "  state:   " << sanitize(d.value("state", "")) << "\n"
      << "  trust:   " << sanitize(d.value("trust", "")) << " since "
      << sanitize(d.value("trust_changed_at", "")) << "\n";
  for (const auto& r : d.value("trust_reasons", Json::array()))
    if (r.is_string()) out << "           " << sanitize(r.get<std::string>()) << "\n";
  if (d.contains("posture_received_at"))
    out << "  posture: received " << sanitize(d.value("posture_received_at", "")) << " ("
        << d.value("posture_age_seconds", 0) << " s ago)\n";
  out << "  key:     " << sanitize(d.value("key_thumbprint", "")) << "\n";
  for (const auto& i : d.value("identities", Json::array())) {
    std::string selectors;
    for (const auto& s : i.value("selectors", Json::array()))
      selectors += (selectors.empty() ? "" : " ") + s.get<std::string>();
    out << "  allows:  " << sanitize(i.value("identity", "")) << "  " << sanitize(selectors)
        << "\n";
  }
}

}  // namespace

void add_device_commands(CLI::App& app, Action& action) {
  auto* group = app.add_subcommand("device", "Enrolled devices and the identities they may run");
  group->require_subcommand(1);
  {
    struct Args {
      RemoteFlags remote;
      std::string owner, device;
      long long expires_in = 0;
    };
    auto a = std::make_shared<Args>();
    auto* cmd = group->add_subcommand("enrol-token",
                                      "A one-time token for `custody-agent enrol` (shown once)");
    cmd->add_option("--owner", a->owner, "The human responsible for the device (usr_…)")
        ->required();
    cmd->add_option("--device", a->device, "Re-enrol this device with a new key (dev_…)");
    cmd->add_option("--expires-in", a->expires_in, "Seconds (default: the server's)");
    add_remote_flags(cmd, &a->remote);
    on_run(cmd, action, a, [](Args& args) {
      Json body = {{"owner", args.owner}};
      if (!args.device.empty()) body["device"] = args.device;
      if (args.expires_in > 0) body["expires_in"] = args.expires_in;
      return with_session(args.remote, [&](const Session& s) {
        return call_and_print(
            s, {Method::kPost, api_path({"devices", "enrolment-tokens"}), {}, body, {}},
            [](std::ostream& out, const Json& r) {
              out << sanitize(r.value("token", "")) << "\n"
                  << "expires " << sanitize(r.value("expires_at", ""))
                  << "; on the device: custody-agent enrol --server URL --token <token>\n";
            });
      });
    });
  }
  {
    struct Args {
      RemoteFlags remote;
      std::string owner, trust, state;
      bool all = false;
    };
    auto a = std::make_shared<Args>();
    auto* cmd = group->add_subcommand("list", "Enrolled devices with their trust");
    cmd->add_option("--owner", a->owner, "Only this owner's devices");
    cmd->add_option("--trust", a->trust, "trusted, degraded, untrusted or unknown");
    cmd->add_option("--state", a->state, "active or revoked");
    cmd->add_flag("--all", a->all, "every page");
    add_remote_flags(cmd, &a->remote);
    on_run(cmd, action, a, [](Args& args) {
      Query query;
      if (!args.owner.empty()) query.emplace_back("owner", args.owner);
      if (!args.trust.empty()) query.emplace_back("trust", args.trust);
      if (!args.state.empty()) query.emplace_back("state", args.state);
      return with_session(args.remote, [&](const Session& s) {
        return list_and_print(
            s, {Method::kGet, api_path({"devices"}), query, {}, {}}, args.all,
            [](std::ostream& out, const Json& items) {
              Table t({"ID", "HOSTNAME", "OWNER", "STATE", "TRUST", "LAST REPORT", "WHY"});
              for (const auto& d : items) {
                std::string why;
                const Json& reasons = d.value("trust_reasons", Json::array());
                if (!reasons.empty() && reasons[0].is_string()) why = reasons[0].get<std::string>();
                t.add_row({d.value("id", ""), d.value("hostname", ""), d.value("owner", ""),
                           d.value("state", ""), d.value("trust", ""),
                           d.value("posture_received_at", "-"), why});
              }
              t.render(out);
            });
      });
    });
  }
  {
    struct Args {
      RemoteFlags remote;
      std::string id;
    };
    auto a = std::make_shared<Args>();
    auto* cmd = group->add_subcommand("show", "A device, its trust and why, and who may run on it");
    cmd->add_option("id", a->id, "dev_…")->required();
    add_remote_flags(cmd, &a->remote);
    on_run(cmd, action, a, [](Args& args) {
      return with_session(args.remote, [&](const Session& s) {
        return call_and_print(s, {Method::kGet, api_path({"devices", args.id}), {}, {}, {}},
                              render_device);
      });
    });
  }
  {
    struct Args {
      RemoteFlags remote;
      std::string id, reason;
    };
    auto a = std::make_shared<Args>();
    auto* cmd = group->add_subcommand(
        "revoke", "Refuse the device's key from now on and revoke every token issued on it");
    cmd->add_option("id", a->id, "dev_…")->required();
    cmd->add_option("--reason", a->reason, "why (recorded in the audit log and the CAEP event)");
    add_remote_flags(cmd, &a->remote);
    on_run(cmd, action, a, [](Args& args) {
      Json body = Json::object();
      if (!args.reason.empty()) body["reason"] = args.reason;
      return with_session(args.remote, [&](const Session& s) {
        return call_and_print(
            s, {Method::kPost, api_path({"devices", args.id, "revoke"}), {}, body, {}},
            [](std::ostream& out, const Json& r) {
              out << sanitize(r.value("id", "")) << " revoked; "
                  << r.value("revoked_tokens", Json::array()).size() << " token(s) revoked\n";
            });
      });
    });
  }
  {
    struct Args {
      RemoteFlags remote;
      std::string id, identity;
      std::vector<std::string> selectors;
    };
    auto a = std::make_shared<Args>();
    auto* cmd = group->add_subcommand(
        "allow", "Let an identity run on the device, recognised by workload selectors");
    cmd->add_option("id", a->id, "dev_…")->required();
    cmd->add_option("identity", a->identity, "agt_…, svc_… or mcp_…")->required();
    cmd->add_option("--selector", a->selectors,
                    "uid:N, gid:N, exe_path:/path, exe_sha256:HEX, cgroup:/prefix, "
                    "cmdline_arg:ARG (repeatable; all must match)")
        ->required();
    add_remote_flags(cmd, &a->remote);
    on_run(cmd, action, a, [](Args& args) {
      Json body = {{"selectors", args.selectors}};
      return with_session(args.remote, [&](const Session& s) {
        return call_and_print(s,
                              {Method::kPut,
                               api_path({"devices", args.id, "identities", args.identity}),
                               {},
                               body,
                               {}},
                              [](std::ostream& out, const Json& r) {
                                out << sanitize(r.value("identity", "")) << " may run on "
                                    << sanitize(r.value("device", "")) << "\n";
                              });
      });
    });
  }
  {
    struct Args {
      RemoteFlags remote;
      std::string id, identity;
    };
    auto a = std::make_shared<Args>();
    auto* cmd = group->add_subcommand(
        "disallow", "Stop an identity running on the device and revoke its tokens from there");
    cmd->add_option("id", a->id, "dev_…")->required();
    cmd->add_option("identity", a->identity, "the identity")->required();
    add_remote_flags(cmd, &a->remote);
    on_run(cmd, action, a, [](Args& args) {
      return with_session(args.remote, [&](const Session& s) {
        return call_and_print(s,
                              {Method::kDelete,
                               api_path({"devices", args.id, "identities", args.identity}),
                               {},
                               {},
                               {}},
                              [&](std::ostream& out, const Json&) {
                                out << sanitize(args.identity) << " no longer runs on "
                                    << sanitize(args.id) << "\n";
                              });
      });
    });
  }
}

}  // namespace custody::cli
