#include "policy/pdp.h"

#include <algorithm>

#include "common/log.h"
#include "policy/cedar/entities_json.h"
#include "policy/cedar/validator.h"
#include "policy/directory_entities.h"
#include "policy/policy_store.h"

namespace custody::policy {
namespace {

std::shared_ptr<const PdpSnapshot> empty_snapshot() {
  auto s = std::make_shared<PdpSnapshot>();
  s->bundle = std::make_shared<const CompiledBundle>();
  auto entities = std::make_shared<cedar::EntityStore>();
  entities->finalize();
  s->app_entities = std::move(entities);
  return s;
}

// The declared type of attribute `name` of entities of `type`, or nullptr.
const cedar::SchemaType* declared_attribute(const cedar::Schema* schema, const std::string& type,
                                            const std::string& name) {
  if (schema == nullptr) return nullptr;
  const cedar::EntityTypeDecl* decl = schema->entity_type(type);
  if (decl == nullptr || !decl->shape) return nullptr;
  auto it = decl->shape->attributes.find(name);
  return it == decl->shape->attributes.end() ? nullptr : it->second.type.get();
}

// Merges AuthZEN properties over an entity's attributes. `where` names the input in errors.
Status merge_properties(cedar::Entity& entity, const nlohmann::json& properties,
                        const cedar::Schema* schema, const std::string& where) {
  if (properties.is_null()) return ok_status();
  if (!properties.is_object()) return Error::invalid(where + " must be an object", where);
  for (const auto& [name, json] : properties.items()) {
    const auto* type = declared_attribute(schema, entity.uid.type(), name);
    auto value = cedar::value_from_json(json, type);
    if (!value.ok())
      return Error::invalid(where + "." + name + ": " + value.error().message, where + "." + name);
    entity.attrs[name] = std::move(value).value();
  }
  return ok_status();
}

// A context built in C++: checked as context_from_json would parse it.
Result<cedar::Value> context_of(const cedar::Value& context, const cedar::Schema* schema,
                                const cedar::EntityUid& action) {
  if (!context.is_record()) return Error::invalid("the context must be a record");
  const cedar::ActionDecl* decl = schema != nullptr ? schema->action(action) : nullptr;
  if (decl != nullptr && decl->context && !cedar::value_conforms(context, *decl->context))
    return Error::invalid("the context does not match the context type of " + action.to_string());
  return context;
}

}  // namespace

std::map<std::string, std::string> PdpSettings::default_type_map() {
  return {{"human", "Human"},          {"service", "Service"}, {"agent", "Agent"},
          {"mcp_server", "McpServer"}, {"team", "Team"},       {"tool", "Tool"}};
}

Result<std::map<std::string, std::string>> parse_type_map(std::string_view text) {
  auto map = PdpSettings::default_type_map();
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t end = text.find(',', start);
    if (end == std::string_view::npos) end = text.size();
    std::string_view item = text.substr(start, end - start);
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
    if (!item.empty()) {
      auto eq = item.find('=');
      if (eq == std::string_view::npos || eq == 0 || eq + 1 == item.size())
        return Error::invalid(
            "pdp.type_map: expected authzen_type=CedarType, got \"" + std::string(item) + "\"",
            "pdp.type_map");
      auto trim = [](std::string_view t) {
        while (!t.empty() && t.front() == ' ') t.remove_prefix(1);
        while (!t.empty() && t.back() == ' ') t.remove_suffix(1);
        return std::string(t);
      };
      std::string key = trim(item.substr(0, eq)), value = trim(item.substr(eq + 1));
      if (key.empty() || value.empty())
        return Error::invalid(
            "pdp.type_map: expected authzen_type=CedarType, got \"" + std::string(item) + "\"",
            "pdp.type_map");
      map[key] = value;
    }
    start = end + 1;
  }
  return map;
}

Pdp::Pdp(PdpSettings settings) : settings_(std::move(settings)), current_(empty_snapshot()) {}

cedar::EntityUid Pdp::cedar_uid(const EntityRef& ref) const {
  auto it = settings_.type_map.find(ref.type);
  return cedar::EntityUid::intern(it != settings_.type_map.end() ? it->second : ref.type, ref.id);
}

void Pdp::install_policies(std::int64_t version, std::shared_ptr<const CompiledBundle> bundle) {
  std::lock_guard lock(refresh_mu_);
  auto next = std::make_shared<PdpSnapshot>(*current_.load());
  next->policy_version = version;
  next->bundle = std::move(bundle);
  current_.store(std::move(next));
}

void Pdp::install_entities(std::int64_t version,
                           std::shared_ptr<const cedar::EntityStore> entities) {
  std::lock_guard lock(refresh_mu_);
  auto next = std::make_shared<PdpSnapshot>(*current_.load());
  next->entities_version = version;
  next->app_entities = std::move(entities);
  current_.store(std::move(next));
}

Status Pdp::refresh(store::Store& store) {
  std::lock_guard lock(refresh_mu_);
  auto current = current_.load();
  PdpState state;
  std::optional<BundleSource> bundle_source;
  std::optional<std::string> entities_text;
  CUSTODY_TRY(store.read([&](store::Tx& tx) -> Status {
    CUSTODY_ASSIGN(state, read_pdp_state(tx));
    if (state.policy_version != current->policy_version && state.policy_version != 0) {
      CUSTODY_ASSIGN(bundle_source, get_policy_bundle(tx, state.policy_version));
    }
    if (state.entities_version != current->entities_version && state.entities_version != 0) {
      CUSTODY_ASSIGN(entities_text, get_entities_text(tx, state.entities_version));
    }
    return ok_status();
  }));
  if (state.policy_version == current->policy_version &&
      state.entities_version == current->entities_version)
    return ok_status();

  auto next = std::make_shared<PdpSnapshot>(*current);
  if (bundle_source) {
    auto compiled = compile_bundle(*bundle_source);
    if (!compiled.errors.empty())
      return Error::internal("active policy version " + std::to_string(state.policy_version) +
                             " does not compile: " + compiled.errors.front().message);
    next->bundle = std::move(compiled.bundle);
    next->policy_version = state.policy_version;
  }
  if (entities_text) {
    auto json = nlohmann::json::parse(*entities_text, nullptr, false);
    if (json.is_discarded())
      return Error::internal("entities version " + std::to_string(state.entities_version) +
                             " is not valid JSON");
    auto entities = compile_app_entities(json, next->bundle->schema.get());
    if (!entities.ok() && next->bundle->schema) {
      // Pushed under another schema: keep them, typed by their JSON shape (docs/policy.md).
      log::warn(
          "application entities do not match the active schema; read without it",
          {{"entities_version", state.entities_version}, {"error", entities.error().message}});
      entities = compile_app_entities(json, nullptr);
    }
    if (!entities.ok())
      return Error::internal("entities version " + std::to_string(state.entities_version) +
                             " does not load: " + entities.error().message);
    next->app_entities = std::move(entities).value();
    next->entities_version = state.entities_version;
  }
  current_.store(std::move(next));
  log::info("policy decision point updated", {{"policy_version", state.policy_version},
                                              {"entities_version", state.entities_version}});
  return ok_status();
}

Result<std::vector<Decision>> Pdp::decide(const PdpSnapshot& snapshot, DirectoryEntities& directory,
                                          const std::vector<Question>& questions,
                                          const std::function<bool(const Decision&)>& stop) const {
  const CompiledBundle& bundle = *snapshot.bundle;
  const cedar::Schema* schema = bundle.schema.get();
  directory.set_discovery_enforced(settings_.discovery_enforced);

  // The questions' uids, and the directory identities among them, in one layer for the batch.
  struct Uids {
    cedar::EntityUid subject, action, resource;
  };
  std::vector<Uids> uids;
  uids.reserve(questions.size());
  cedar::EntityStore layer;
  layer.set_base(snapshot.app_entities.get());
  for (const auto& q : questions) {
    Uids u{cedar_uid(q.subject), cedar::EntityUid::intern(settings_.action_type, q.action),
           cedar_uid(q.resource)};
    CUSTODY_TRY(directory.load(u.subject, layer));
    CUSTODY_TRY(directory.load(u.resource, layer));
    uids.push_back(u);
  }
  layer.finalize();

  static const std::string* const kTool = cedar::EntityUid::intern_type("Tool");
  std::vector<Decision> decisions;
  decisions.reserve(questions.size());
  for (std::size_t i = 0; i < questions.size(); ++i) {
    const Question& q = questions[i];
    const Uids& u = uids[i];
    auto context = q.cedar_context ? context_of(*q.cedar_context, schema, u.action)
                                   : cedar::context_from_json(q.context, schema, u.action);
    if (!context.ok())
      return std::move(Error::invalid("context: " + context.error().message, "context"))
          .with("index", std::to_string(i));

    // The request's own entities: the subject and resource with properties merged, and Tool
    // resources with their derived attributes.
    bool subject_props = q.subject.properties.is_object() && !q.subject.properties.empty();
    bool resource_props = q.resource.properties.is_object() && !q.resource.properties.empty();
    bool tool = &u.resource.type() == kTool;
    cedar::EntityStore overlay;
    const cedar::EntityStore* entities = &layer;
    if (subject_props || resource_props || tool) {
      overlay.set_base(&layer);
      std::map<cedar::EntityUid, cedar::Entity> own;
      auto entity_for = [&](const cedar::EntityUid& uid) -> cedar::Entity& {
        auto it = own.find(uid);
        if (it != own.end()) return it->second;
        cedar::Entity e;
        if (const cedar::Entity* found = layer.find(uid)) {
          e.uid = found->uid;
          e.attrs = found->attrs;
          e.tags = found->tags;
          e.parents = found->parents;
        } else {
          e.uid = uid;
        }
        return own.emplace(uid, std::move(e)).first->second;
      };
      if (subject_props) {
        Status s = merge_properties(entity_for(u.subject), q.subject.properties, schema,
                                    "subject.properties");
        if (!s.ok()) return std::move(Error(s.error())).with("index", std::to_string(i));
      }
      if (resource_props || tool) {
        cedar::Entity& r = entity_for(u.resource);
        Status s = merge_properties(r, q.resource.properties, schema, "resource.properties");
        if (!s.ok()) return std::move(Error(s.error())).with("index", std::to_string(i));
        if (tool) derive_tool_attributes(r);
      }
      for (auto& [uid, e] : own) CUSTODY_TRY(overlay.add(std::move(e)));
      overlay.finalize();
      entities = &overlay;
    }

    cedar::Request request{u.subject, u.action, u.resource, std::move(context).value()};
    const cedar::PolicySet& set =
        q.approved && bundle.has_approvals ? bundle.waived : bundle.policies;
    cedar::Response response = cedar::is_authorized(request, set, *entities);
    Decision d;
    d.allow = response.decision == cedar::Decision::kAllow;
    for (const auto* p : response.reasons) d.reasons.push_back(p->id);
    for (const auto& e : response.errors) d.errors.emplace_back(e.policy->id, e.message);
    // A deny by @approval policies alone, of a question the other policies allow, is a
    // checkpoint rather than a refusal.
    if (!d.allow && !q.approved && bundle.has_approvals && !response.reasons.empty() &&
        std::all_of(response.reasons.begin(), response.reasons.end(),
                    [](const cedar::Policy* p) { return p->annotations.count("approval") > 0; }) &&
        cedar::is_authorized(request, bundle.waived, *entities).decision ==
            cedar::Decision::kAllow) {
      for (const auto* p : response.reasons) d.approval.push_back(p->annotations.at("approval"));
    }
    decisions.push_back(std::move(d));
    if (stop && stop(decisions.back())) break;
  }
  return decisions;
}

Result<std::shared_ptr<const cedar::EntityStore>> compile_app_entities(
    const nlohmann::json& entities, const cedar::Schema* schema) {
  CUSTODY_ASSIGN(auto store, cedar::entities_from_json(entities, schema));
  return std::shared_ptr<const cedar::EntityStore>(
      std::make_shared<cedar::EntityStore>(std::move(store)));
}

void derive_tool_attributes(cedar::Entity& tool) {
  auto& attrs = tool.attrs;
  if (!attrs.count("name")) attrs["name"] = tool.uid.id();
  auto server = attrs.find("server");
  auto name = attrs.find("name");
  if (server == attrs.end() || !server->second.is_string() || !name->second.is_string()) return;
  std::string server_text = server->second.as_string();
  std::string name_text = name->second.as_string();
  if (!attrs.count("key")) attrs["key"] = server_text + " " + name_text;
  if (!attrs.count("server_key")) attrs["server_key"] = server_text + " *";
}

}  // namespace custody::policy
