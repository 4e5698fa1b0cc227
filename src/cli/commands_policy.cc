// custody policy validate|test (offline, with the same engine as the server),
// custody policy push|list|activate, custody entities push|get, custody approval
// list|approve|deny (docs/cli.md, docs/policy.md, docs/approvals.md)
#include <filesystem>
#include <fstream>
#include <iostream>
#include <set>
#include <sstream>

#include "cli/commands.h"
#include "cli/http_client.h"
#include "cli/table.h"
#include "policy/bundle.h"
#include "policy/cedar/authorizer.h"
#include "policy/cedar/entities_json.h"

namespace custody::cli {
namespace {

Result<std::string> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Error::invalid("cannot read " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Policy files and an optional schema file (.json: the JSON schema format, else the Cedar one).
Result<policy::BundleSource> bundle_from_files(const std::vector<std::string>& files,
                                               const std::string& schema) {
  policy::BundleSource source;
  for (const auto& f : files) {
    CUSTODY_ASSIGN(auto text, read_file(f));
    std::string name = std::filesystem::path(f).filename().string();
    for (const auto& existing : source.files)
      if (existing.name == name)
        return Error::invalid("two policy files are named " + name + "; rename one");
    source.files.push_back({name, std::move(text)});
  }
  if (!schema.empty()) {
    CUSTODY_ASSIGN(source.schema_text, read_file(schema));
    source.schema_format = schema.size() > 5 && schema.substr(schema.size() - 5) == ".json"
                               ? policy::SchemaFormat::kJson
                               : policy::SchemaFormat::kCedar;
  }
  return source;
}

void print_bundle_errors(std::ostream& out, const std::vector<policy::BundleError>& errors) {
  for (const auto& e : errors) {
    out << (e.file.empty() ? "bundle" : sanitize(e.file));
    if (e.line > 0) out << ":" << e.line << ":" << e.column;
    out << ": ";
    if (!e.policy_id.empty()) out << "policy " << sanitize(e.policy_id) << ": ";
    out << sanitize(e.message) << "\n";
  }
}

std::string describe_uid(const Json& j) {
  if (!j.is_object()) return j.dump();
  return j.value("type", std::string("?")) + "::\"" + j.value("id", std::string("?")) + "\"";
}

// Runs one test file: {"policies": path | [paths], "schema"?: path, "entities"?: path,
// "requests": [{"description", "principal", "action", "resource", "context"?,
// "decision": "allow"|"deny", "reason"?: [ids], "errors"?: [ids]}]}. Paths are relative to the
// test file. Returns the number of failed requests, or an error when the file cannot be run.
Result<int> run_test_file(const std::string& path, std::ostream& out) {
  CUSTODY_ASSIGN(auto text, read_file(path));
  auto doc = nlohmann::json::parse(text, nullptr, false);
  if (!doc.is_object()) return Error::invalid(path + ": not a JSON object");
  auto dir = std::filesystem::path(path).parent_path();
  auto rel = [&](const std::string& p) { return (dir / p).string(); };

  std::vector<std::string> policy_files;
  if (doc.contains("policies") && doc["policies"].is_string()) {
    policy_files.push_back(rel(doc["policies"].get<std::string>()));
  } else if (doc.contains("policies") && doc["policies"].is_array()) {
    for (const auto& p : doc["policies"])
      if (p.is_string()) policy_files.push_back(rel(p.get<std::string>()));
  }
  if (policy_files.empty()) return Error::invalid(path + ": \"policies\" names no file");
  std::string schema_path = doc.contains("schema") && doc["schema"].is_string()
                                ? rel(doc["schema"].get<std::string>())
                                : std::string();
  CUSTODY_ASSIGN(auto source, bundle_from_files(policy_files, schema_path));
  auto compiled = policy::compile_bundle(source);
  if (!compiled.errors.empty()) {
    print_bundle_errors(out, compiled.errors);
    return Error::invalid(path + ": the policies do not validate");
  }
  const cedar::Schema* schema = compiled.bundle->schema.get();

  cedar::EntityStore entities;
  entities.finalize();
  if (doc.contains("entities") && doc["entities"].is_string()) {
    CUSTODY_ASSIGN(auto entities_text, read_file(rel(doc["entities"].get<std::string>())));
    auto json = nlohmann::json::parse(entities_text, nullptr, false);
    if (json.is_discarded()) return Error::invalid(path + ": the entities file is not JSON");
    auto loaded = cedar::entities_from_json(json, schema);
    if (!loaded.ok()) return Error::invalid(path + ": entities: " + loaded.error().message);
    entities = std::move(loaded).value();
  }

  int failed = 0;
  const auto& requests = doc.value("requests", Json::array());
  for (std::size_t i = 0; i < requests.size(); ++i) {
    const auto& r = requests[i];
    std::string name = r.value("description", "request " + std::to_string(i));
    auto fail = [&](const std::string& why) {
      ++failed;
      out << "FAIL  " << sanitize(name) << ": " << sanitize(why) << "\n";
    };
    auto principal = cedar::entity_uid_from_json(r.value("principal", Json()));
    auto action = cedar::entity_uid_from_json(r.value("action", Json()));
    auto resource = cedar::entity_uid_from_json(r.value("resource", Json()));
    if (!principal.ok() || !action.ok() || !resource.ok()) {
      fail("principal, action and resource must each be {\"type\", \"id\"}");
      continue;
    }
    auto context = cedar::context_from_json(r.value("context", Json::object()), schema, *action);
    if (!context.ok()) {
      fail("context: " + context.error().message);
      continue;
    }
    cedar::Request request{*principal, *action, *resource, std::move(context).value()};
    auto response = cedar::is_authorized(request, compiled.bundle->policies, entities);
    std::string decision = response.decision == cedar::Decision::kAllow ? "allow" : "deny";
    std::set<std::string> reasons, errors;
    for (const auto* p : response.reasons) reasons.insert(p->id);
    for (const auto& e : response.errors) errors.insert(e.policy->id);
    auto as_set = [](const Json& list) {
      std::set<std::string> s;
      for (const auto& x : list)
        if (x.is_string()) s.insert(x.get<std::string>());
      return s;
    };
    auto join = [](const std::set<std::string>& s) {
      std::string o;
      for (const auto& x : s) o += (o.empty() ? "" : ", ") + x;
      return "[" + o + "]";
    };
    std::string expected = r.value("decision", std::string());
    if (expected != "allow" && expected != "deny") {
      fail("\"decision\" must be \"allow\" or \"deny\"");
    } else if (decision != expected) {
      fail("expected " + expected + ", got " + decision + " (" + describe_uid(r["principal"]) +
           " " + describe_uid(r["action"]) + " " + describe_uid(r["resource"]) +
           "; determining policies " + join(reasons) + ", errors " + join(errors) + ")");
    } else if (r.contains("reason") && as_set(r["reason"]) != reasons) {
      fail("determining policies " + join(reasons) + ", expected " + join(as_set(r["reason"])));
    } else if (r.contains("errors") && as_set(r["errors"]) != errors) {
      fail("erroring policies " + join(errors) + ", expected " + join(as_set(r["errors"])));
    } else {
      out << "ok    " << sanitize(name) << "\n";
    }
  }
  return failed;
}

void render_versions(std::ostream& out, const Json& body) {
  Table t({"VERSION", "ACTIVE", "POLICIES", "SCHEMA", "CREATED", "BY", "DESCRIPTION"});
  for (const auto& v : body.value("items", Json::array())) {
    t.add_row({std::to_string(v.value("version", 0)), v.value("active", false) ? "*" : "",
               std::to_string(v.value("policy_count", 0)),
               v.value("has_schema", false) ? "yes" : "no", v.value("created_at", ""),
               v.value("created_by", ""), v.value("description", "")});
  }
  t.render(out);
}

void render_version(std::ostream& out, const Json& v) {
  out << "policy version " << v.value("version", 0) << (v.value("active", false) ? " (active)" : "")
      << ": " << v.value("policy_count", 0) << " policies, schema "
      << (v.value("has_schema", false) ? "validated" : "none") << ", digest "
      << sanitize(v.value("digest", "")) << "\n";
}

}  // namespace

void add_policy_commands(CLI::App& app, Action& action) {
  auto* group = app.add_subcommand("policy", "Cedar policies: validate, test, push, list");
  group->require_subcommand(1);
  {
    struct Args {
      std::vector<std::string> files;
      std::string schema;
    };
    auto a = std::make_shared<Args>();
    auto* cmd = group->add_subcommand(
        "validate", "Parse policy files and validate them against a schema (offline)");
    cmd->add_option("files", a->files, "Cedar policy files (.cedar)")->required();
    cmd->add_option("--schema", a->schema,
                    "schema file (.cedarschema, or .json for the JSON format)");
    on_run(cmd, action, a, [](Args& args) {
      auto source = bundle_from_files(args.files, args.schema);
      if (!source.ok()) return usage_error(source.error());
      auto compiled = policy::compile_bundle(*source);
      if (!compiled.errors.empty()) {
        print_bundle_errors(std::cerr, compiled.errors);
        std::cerr << "custody: " << compiled.errors.size() << " error(s)\n";
        return kExitFailure;
      }
      std::cout << compiled.bundle->policies.size() + compiled.bundle->policies.templates().size()
                << " policies OK"
                << (args.schema.empty() ? " (parsed; no schema given, so not validated)"
                                        : " (validated against the schema)")
                << "\n";
      return kExitOk;
    });
  }
  {
    struct Args {
      std::vector<std::string> files;
    };
    auto a = std::make_shared<Args>();
    auto* cmd = group->add_subcommand(
        "test", "Run policy tests: requests with their expected decisions (offline)");
    cmd->add_option("files", a->files, "test files (JSON; see docs/policy.md)")->required();
    on_run(cmd, action, a, [](Args& args) {
      int failed = 0;
      for (const auto& f : args.files) {
        auto r = run_test_file(f, std::cout);
        if (!r.ok()) {
          std::cerr << "custody: " << r.error().message << "\n";
          return kExitFailure;
        }
        failed += *r;
      }
      if (failed > 0) {
        std::cerr << "custody: " << failed << " test request(s) failed\n";
        return kExitFailure;
      }
      return kExitOk;
    });
  }
  {
    struct Args {
      RemoteFlags remote;
      std::vector<std::string> files;
      std::string schema, description;
      bool no_activate = false;
    };
    auto a = std::make_shared<Args>();
    auto* cmd = group->add_subcommand(
        "push", "Store policy files (and a schema) as a new version and make it active");
    cmd->add_option("files", a->files, "Cedar policy files (.cedar)")->required();
    cmd->add_option("--schema", a->schema,
                    "schema file (.cedarschema, or .json for the JSON format)");
    cmd->add_option("--description", a->description, "what changed (kept with the version)");
    cmd->add_flag("--no-activate", a->no_activate, "store the version without activating it");
    add_remote_flags(cmd, &a->remote);
    on_run(cmd, action, a, [](Args& args) {
      auto source = bundle_from_files(args.files, args.schema);
      if (!source.ok()) return usage_error(source.error());
      Json body = policy::bundle_to_json(*source);
      if (!args.description.empty()) body["description"] = args.description;
      if (args.no_activate) body["activate"] = false;
      return with_session(args.remote, [&](const Session& s) {
        return call_and_print(s, {Method::kPost, api_path({"policies"}), {}, body, {}},
                              render_version);
      });
    });
  }
  {
    struct Args {
      RemoteFlags remote;
    };
    auto a = std::make_shared<Args>();
    auto* cmd = group->add_subcommand("list", "List policy versions, newest first");
    add_remote_flags(cmd, &a->remote);
    on_run(cmd, action, a, [](Args& args) {
      return with_session(args.remote, [&](const Session& s) {
        return call_and_print(s, {Method::kGet, api_path({"policies"}), {}, {}, {}},
                              render_versions);
      });
    });
  }
  {
    struct Args {
      RemoteFlags remote;
      std::string version;
    };
    auto a = std::make_shared<Args>();
    auto* cmd = group->add_subcommand("activate", "Make a stored version active (e.g. roll back)");
    cmd->add_option("version", a->version, "the version number")->required();
    add_remote_flags(cmd, &a->remote);
    on_run(cmd, action, a, [](Args& args) {
      return with_session(args.remote, [&](const Session& s) {
        return call_and_print(s,
                              {Method::kPost,
                               api_path({"policies", args.version, "activate"}),
                               {},
                               Json::object(),
                               {}},
                              render_version);
      });
    });
  }

  auto* approvals = app.add_subcommand("approval", "Human checkpoints: approval requests");
  approvals->require_subcommand(1);
  {
    struct Args {
      RemoteFlags remote;
      std::string status;
      bool all = false;
    };
    auto a = std::make_shared<Args>();
    auto* cmd = approvals->add_subcommand("list", "Approval requests, newest first");
    cmd->add_option("--status", a->status, "pending, approved, denied or used");
    cmd->add_flag("--all", a->all, "every page");
    add_remote_flags(cmd, &a->remote);
    on_run(cmd, action, a, [](Args& args) {
      Query query;
      if (!args.status.empty()) query.emplace_back("status", args.status);
      return with_session(args.remote, [&](const Session& s) {
        return list_and_print(
            s, {Method::kGet, api_path({"approvals"}), query, {}, {}}, args.all,
            [](std::ostream& out, const Json& items) {
              Table t(
                  {"ID", "STATUS", "SUBJECT", "ACTION", "RESOURCE", "APPROVER", "EXPIRES", "WHY"});
              for (const auto& i : items) {
                const Json& q = i.value("question", Json::object());
                std::string labels;
                for (const auto& l : i.value("labels", Json::array()))
                  labels += (labels.empty() ? "" : ", ") + l.get<std::string>();
                t.add_row({i.value("id", ""), i.value("status", ""), i.value("subject_id", ""),
                           q.value("action", ""), describe_uid(q.value("resource", Json())),
                           i.value("approver", ""), i.value("expires_at", ""), labels});
              }
              t.render(out);
            });
      });
    });
  }
  for (bool approve : {true, false}) {
    struct Args {
      RemoteFlags remote;
      std::string id, reason;
    };
    auto a = std::make_shared<Args>();
    auto* cmd = approvals->add_subcommand(
        approve ? "approve" : "deny",
        approve ? "Approve a pending request (single use)" : "Deny a pending request");
    cmd->add_option("id", a->id, "apr_…")->required();
    cmd->add_option("--reason", a->reason, "why (recorded in the audit log)");
    add_remote_flags(cmd, &a->remote);
    on_run(cmd, action, a, [approve](Args& args) {
      Json body = Json::object();
      if (!args.reason.empty()) body["reason"] = args.reason;
      return with_session(args.remote, [&](const Session& s) {
        return call_and_print(s,
                              {Method::kPost,
                               api_path({"approvals", args.id, approve ? "approve" : "deny"}),
                               {},
                               body,
                               {}},
                              [](std::ostream& out, const Json& r) {
                                out << sanitize(r.value("id", "")) << " "
                                    << sanitize(r.value("status", "")) << " by "
                                    << sanitize(r.value("decided_by", "")) << "\n";
                              });
      });
    });
  }

  auto* entities = app.add_subcommand("entities", "Application entities for the PDP");
  entities->require_subcommand(1);
  {
    struct Args {
      RemoteFlags remote;
      std::string file;
    };
    auto a = std::make_shared<Args>();
    auto* cmd = entities->add_subcommand(
        "push", "Replace the application entities with a Cedar entities JSON file");
    cmd->add_option("file", a->file, "Cedar entities JSON (an array)")->required();
    add_remote_flags(cmd, &a->remote);
    on_run(cmd, action, a, [](Args& args) {
      auto text = read_file(args.file);
      if (!text.ok()) return usage_error(text.error());
      auto json = nlohmann::json::parse(*text, nullptr, false);
      if (!json.is_array())
        return usage_error(Error::invalid(args.file + " is not a JSON array of entities"));
      return with_session(args.remote, [&](const Session& s) {
        return call_and_print(s, {Method::kPut, api_path({"entities"}), {}, json, {}},
                              [](std::ostream& out, const Json& r) {
                                out << "entities version " << r.value("version", 0) << ": "
                                    << r.value("entity_count", 0) << " entities, active\n";
                              });
      });
    });
  }
  {
    struct Args {
      RemoteFlags remote;
    };
    auto a = std::make_shared<Args>();
    auto* cmd = entities->add_subcommand("get", "Print the active application entities (JSON)");
    add_remote_flags(cmd, &a->remote);
    on_run(cmd, action, a, [](Args& args) {
      return with_session(args.remote, [&](const Session& s) {
        return call_and_print(s, {Method::kGet, api_path({"entities"}), {}, {}, {}},
                              [](std::ostream& out, const Json& r) {
                                out << r.value("entities", Json::array()).dump(2) << "\n";
                              });
      });
    });
  }
}

}  // namespace custody::cli
