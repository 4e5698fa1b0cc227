// The policy store and the application entities (docs/api.md, docs/policy.md):
//   GET  /api/v1/policies                  versions, newest first, and which one is active
//   POST /api/v1/policies                  push a bundle (validated; activated unless told not to)
//   GET  /api/v1/policies/{version|active} one version with its files and schema
//   POST /api/v1/policies/{version}/activate   switch (or roll back) to a stored version
//   PUT  /api/v1/entities                  replace the application entities (Cedar entities JSON)
//   GET  /api/v1/entities                  the active application entities
// Bundles are compiled on the io thread before anything is written; the writer only stores them.
// A version becomes visible to decisions on this node as soon as its commit is durable, and on
// other nodes within pdp.refresh_ms.
#include <charconv>

#include "api/operation.h"
#include "api/routes.h"
#include "audit/events.h"
#include "common/log.h"
#include "directory/access.h"
#include "http/json_body.h"
#include "http/problem.h"
#include "policy/pdp.h"
#include "policy/policy_store.h"

namespace custody::api {
namespace {

using http::Request;
using http::Responder;
using http::Response;

Status require_reader(const directory::OpContext& ctx) {
  if (ctx.who.role == directory::Role::kOwner)
    return Error::denied("owner tokens may not read the policy store");
  return ok_status();
}

Result<std::int64_t> parse_version(std::string_view text) {
  std::int64_t v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size() || v < 1)
    return Error::invalid("version must be a positive integer or \"active\"", "version");
  return v;
}

Status policy_store_running(const ApiContext& api) {
  if (api.pdp == nullptr) return Error::unavailable("the policy decision point is not running");
  return ok_status();
}

// Responds through `respond` after running `then` (called only for a success status), so that a
// version is installed on this node before its push or activation is acknowledged.
Responder after_success(Responder respond, std::function<void()> then) {
  return Responder([respond, then = std::move(then)](Response r) {
    if (r.status < 300) then();
    respond(std::move(r));
  });
}

Error bundle_errors(const std::vector<policy::BundleError>& errors) {
  nlohmann::json list = nlohmann::json::array();
  for (const auto& e : errors) list.push_back(e.to_json());
  std::string first = errors.front().message;
  if (!errors.front().file.empty()) {
    first = errors.front().file +
            (errors.front().line > 0 ? ":" + std::to_string(errors.front().line) + ":" +
                                           std::to_string(errors.front().column)
                                     : std::string()) +
            ": " + first;
  }
  return std::move(Error::unprocessable("the policy bundle is invalid (" +
                                            std::to_string(errors.size()) +
                                            " error(s)); first: " + first,
                                        "files"))
      .with("errors", list.dump());
}

struct PushInput {
  policy::BundleSource source;
  std::string description;
  bool activate = true;
  std::shared_ptr<const policy::CompiledBundle> compiled;
};

}  // namespace

void add_policy_routes(http::Router& router, ApiContext& api) {
  router.add("GET", "/api/v1/policies", [&api](Request& req, Responder respond) {
    auto limit = std::make_shared<int>(50);
    auto before = std::make_shared<std::optional<std::int64_t>>();
    auto validate = [&api, &req, limit, before]() -> Status {
      CUSTODY_TRY(policy_store_running(api));
      CUSTODY_ASSIGN(auto query, http::parse_query(req.query));
      for (const auto& [name, value] : query) {
        if (name == "limit") {
          CUSTODY_ASSIGN(auto v, parse_version(value));
          if (v > api.config.limits.max_page_size)
            return Error::invalid(
                "limit is at most " + std::to_string(api.config.limits.max_page_size), "limit");
          *limit = static_cast<int>(v);
        } else if (name == "cursor") {
          CUSTODY_ASSIGN(auto v, parse_version(value));
          *before = v;
        } else {
          return Error::invalid("unknown query parameter \"" + name + "\"", name);
        }
      }
      return ok_status();
    };
    read_operation(
        api, req, respond, "policy.list", "", validate,
        [limit, before](store::Tx& tx, const directory::OpContext& ctx) -> Result<Response> {
          CUSTODY_TRY(require_reader(ctx));
          CUSTODY_ASSIGN(auto state, policy::read_pdp_state(tx));
          CUSTODY_ASSIGN(auto versions, policy::list_policy_versions(tx, *limit + 1, *before));
          nlohmann::json items = nlohmann::json::array();
          for (std::size_t i = 0; i < versions.size() && i < std::size_t(*limit); ++i)
            items.push_back(
                policy::to_json(versions[i], versions[i].version == state.policy_version));
          nlohmann::json body = {{"items", items}, {"active_version", state.policy_version}};
          if (versions.size() > std::size_t(*limit))
            body["next_cursor"] = std::to_string(versions[*limit - 1].version);
          return http::json_response(200, body);
        });
  });

  router.add("POST", "/api/v1/policies", [&api](Request& req, Responder respond) {
    auto input = std::make_shared<PushInput>();
    auto validate = [&api, &req, input]() -> Status {
      CUSTODY_TRY(policy_store_running(api));
      CUSTODY_ASSIGN(auto body, json_body(api, req));
      CUSTODY_TRY(
          http::check_members(body, {"files", "policies", "schema", "description", "activate"}));
      CUSTODY_ASSIGN(input->source, policy::bundle_from_json(body));
      CUSTODY_ASSIGN(auto description, http::opt_string(body, "description"));
      if (description) {
        if (description->size() > 2000)
          return Error::invalid("description is at most 2000 characters", "description");
        input->description = *description;
      }
      if (body.contains("activate") && !body["activate"].is_null()) {
        if (!body["activate"].is_boolean())
          return Error::invalid("activate must be a boolean", "activate");
        input->activate = body["activate"].get<bool>();
      }
      auto compiled = policy::compile_bundle(input->source,
                                             static_cast<std::size_t>(api.config.pdp.max_policies));
      if (!compiled.errors.empty()) return bundle_errors(compiled.errors);
      input->compiled = std::move(compiled.bundle);
      return ok_status();
    };
    auto installed = std::make_shared<std::int64_t>(0);
    Responder reply = after_success(respond, [&api, input, installed] {
      if (*installed > 0) api.pdp->install_policies(*installed, input->compiled);
    });
    write_operation(
        api, req, reply, "policy.push", "", validate,
        [input, installed](store::Tx& tx, const directory::OpContext& ctx) -> Result<Response> {
          CUSTODY_TRY(directory::access::require_admin(ctx));
          auto count = static_cast<std::int64_t>(input->compiled->policies.size() +
                                                 input->compiled->policies.templates().size());
          CUSTODY_ASSIGN(auto info,
                         policy::insert_policy_version(tx, input->source, count, input->description,
                                                       ctx.who.actor(), ctx.now));
          if (input->activate) {
            CUSTODY_TRY(policy::activate_policy_version(tx, info.version, ctx.now));
            *installed = info.version;
          }
          CUSTODY_TRY(directory::access::record(tx, ctx, "policy.push",
                                                "policy:" + std::to_string(info.version),
                                                {{"version", info.version},
                                                 {"digest", info.digest},
                                                 {"policy_count", info.policy_count},
                                                 {"has_schema", info.has_schema},
                                                 {"activated", input->activate}}));
          return http::json_response(201, policy::to_json(info, input->activate));
        });
  });

  router.add("GET", "/api/v1/policies/{version}", [&api](Request& req, Responder respond) {
    std::string which(req.param("version"));
    auto version = std::make_shared<std::int64_t>(0);
    auto validate = [&api, which, version]() -> Status {
      CUSTODY_TRY(policy_store_running(api));
      if (which == "active") return ok_status();
      CUSTODY_ASSIGN(*version, parse_version(which));
      return ok_status();
    };
    read_operation(api, req, respond, "policy.read", "policy:" + which, validate,
                   [version](store::Tx& tx, const directory::OpContext& ctx) -> Result<Response> {
                     CUSTODY_TRY(require_reader(ctx));
                     CUSTODY_ASSIGN(auto state, policy::read_pdp_state(tx));
                     std::int64_t v = *version > 0 ? *version : state.policy_version;
                     if (v == 0) return Error::not_found("no policy version is active");
                     CUSTODY_ASSIGN(auto info, policy::get_policy_version(tx, v));
                     CUSTODY_ASSIGN(auto source, policy::get_policy_bundle(tx, v));
                     nlohmann::json body = policy::to_json(info, v == state.policy_version);
                     body.update(policy::bundle_to_json(source));
                     return http::json_response(200, body);
                   });
  });

  router.add(
      "POST", "/api/v1/policies/{version}/activate", [&api](Request& req, Responder respond) {
        std::string which(req.param("version"));
        auto version = std::make_shared<std::int64_t>(0);
        auto compiled = std::make_shared<std::shared_ptr<const policy::CompiledBundle>>();
        // Compiles the stored bundle first (on this io thread), so that the writer only flips
        // the pointer and this node can install the version the moment it commits.
        auto validate = [&api, which, version, compiled]() -> Status {
          CUSTODY_TRY(policy_store_running(api));
          CUSTODY_ASSIGN(*version, parse_version(which));
          policy::BundleSource source;
          CUSTODY_TRY(api.store.read([&](store::Tx& tx) -> Status {
            CUSTODY_ASSIGN(source, policy::get_policy_bundle(tx, *version));
            return ok_status();
          }));
          auto result = policy::compile_bundle(source);
          if (!result.errors.empty()) return bundle_errors(result.errors);
          *compiled = std::move(result.bundle);
          return ok_status();
        };
        Responder reply = after_success(
            respond, [&api, version, compiled] { api.pdp->install_policies(*version, *compiled); });
        write_operation(
            api, req, reply, "policy.activate", "policy:" + which, validate,
            [version](store::Tx& tx, const directory::OpContext& ctx) -> Result<Response> {
              CUSTODY_TRY(directory::access::require_admin(ctx));
              CUSTODY_ASSIGN(auto state, policy::read_pdp_state(tx));
              CUSTODY_TRY(policy::activate_policy_version(tx, *version, ctx.now));
              CUSTODY_ASSIGN(auto info, policy::get_policy_version(tx, *version));
              CUSTODY_TRY(directory::access::record(tx, ctx, "policy.activate",
                                                    "policy:" + std::to_string(*version),
                                                    {{"version", *version},
                                                     {"previous_version", state.policy_version},
                                                     {"digest", info.digest}}));
              return http::json_response(200, policy::to_json(info, true));
            });
      });

  router.add("PUT", "/api/v1/entities", [&api](Request& req, Responder respond) {
    struct EntitiesInput {
      std::string text;
      std::int64_t count = 0;
      std::shared_ptr<const cedar::EntityStore> compiled;
    };
    auto input = std::make_shared<EntitiesInput>();
    auto validate = [&api, &req, input]() -> Status {
      CUSTODY_TRY(policy_store_running(api));
      std::string_view type = req.header("Content-Type");
      if (type.substr(0, type.find(';')) != "application/json")
        return Error::invalid("the body must be application/json (a Cedar entities array)",
                              "Content-Type");
      CUSTODY_ASSIGN(
          auto json,
          http::parse_json_text(req.body(), static_cast<int>(api.config.limits.max_json_depth)));
      if (!json.is_array())
        return Error::invalid(
            "the body must be a Cedar entities JSON array ([{\"uid\", \"attrs\", \"parents\"}])");
      // Typed by the active schema, so that what does not match it is refused now, not at the
      // first decision that reads it.
      auto snapshot = api.pdp->snapshot();
      auto compiled = policy::compile_app_entities(json, snapshot->bundle->schema.get());
      if (!compiled.ok())
        return Error::unprocessable("the entities are invalid: " + compiled.error().message,
                                    "entities");
      input->compiled = std::move(compiled).value();
      input->count = static_cast<std::int64_t>(json.size());
      input->text = json.dump();
      return ok_status();
    };
    auto installed = std::make_shared<std::int64_t>(0);
    Responder reply = after_success(respond, [&api, input, installed] {
      if (*installed > 0) api.pdp->install_entities(*installed, input->compiled);
    });
    write_operation(
        api, req, reply, "entities.put", "entities", validate,
        [input, installed](store::Tx& tx, const directory::OpContext& ctx) -> Result<Response> {
          CUSTODY_TRY(directory::access::require_admin(ctx));
          CUSTODY_ASSIGN(auto info, policy::insert_entities_version(tx, input->text, input->count,
                                                                    ctx.who.actor(), ctx.now));
          *installed = info.version;
          CUSTODY_TRY(directory::access::record(tx, ctx, "entities.put",
                                                "entities:" + std::to_string(info.version),
                                                {{"version", info.version},
                                                 {"digest", info.digest},
                                                 {"entity_count", info.entity_count}}));
          return http::json_response(200, policy::to_json(info, true));
        });
  });

  router.add("GET", "/api/v1/entities", [&api](Request& req, Responder respond) {
    auto validate = [&api]() -> Status { return policy_store_running(api); };
    read_operation(
        api, req, respond, "entities.read", "entities", validate,
        [](store::Tx& tx, const directory::OpContext& ctx) -> Result<Response> {
          CUSTODY_TRY(require_reader(ctx));
          CUSTODY_ASSIGN(auto state, policy::read_pdp_state(tx));
          if (state.entities_version == 0)
            return http::json_response(200,
                                       {{"version", 0}, {"entities", nlohmann::json::array()}});
          CUSTODY_ASSIGN(auto info, policy::get_entities_version(tx, state.entities_version));
          CUSTODY_ASSIGN(auto text, policy::get_entities_text(tx, state.entities_version));
          nlohmann::json body = policy::to_json(info, true);
          body["entities"] = nlohmann::json::parse(text, nullptr, false);
          return http::json_response(200, body);
        });
  });
}

}  // namespace custody::api
