#include "gateway/authorize.h"

#include <cmath>

#include "device/device.h"
#include "directory/model.h"
#include "policy/approvals.h"
#include "policy/directory_entities.h"

namespace custody::gateway {
namespace {

std::string subject_type(const std::string& id) {
  auto kind = directory::kind_of_id(id);
  return kind ? std::string(directory::kind_name(*kind)) : std::string("external");
}

struct ResourceShape {
  std::string action, type, name_attribute;
};

ResourceShape shape_of(const std::string& method) {
  if (method == "resources/read") return {"read_resource", "McpResource", "uri"};
  if (method == "prompts/get") return {"get_prompt", "Prompt", "name"};
  return {"call_tool", "tool", "name"};
}

// Leaves out of `value` what the schema type does not declare (records are closed in Cedar).
void fit(nlohmann::json& value, const cedar::SchemaType* type) {
  if (type == nullptr) return;
  if (type->kind == cedar::SchemaType::Kind::kRecord && value.is_object()) {
    for (auto it = value.begin(); it != value.end();) {
      auto declared = type->attributes.find(it.key());
      if (declared == type->attributes.end()) {
        it = value.erase(it);
      } else {
        fit(it.value(), declared->second.type.get());
        ++it;
      }
    }
  } else if (type->kind == cedar::SchemaType::Kind::kSet && value.is_array()) {
    for (auto& element : value) fit(element, type->element.get());
  }
}

Result<std::vector<policy::Decision>> decide(store::Tx& tx, const policy::Pdp& pdp,
                                             std::vector<policy::Question> questions, Micros now,
                                             std::int64_t* version) {
  auto snapshot = pdp.snapshot();
  if (version != nullptr) *version = snapshot->policy_version;
  if (const cedar::Schema* schema = snapshot->bundle->schema.get()) {
    for (auto& q : questions) {
      auto uid = cedar::EntityUid::intern(pdp.settings().action_type, q.action);
      if (const cedar::ActionDecl* action = schema->action(uid))
        fit(q.context, action->context.get());
    }
  }
  policy::DirectoryEntities directory(tx, now);
  directory.set_discovery_enforced(pdp.settings().discovery_enforced);
  return pdp.decide(*snapshot, directory, questions);
}

}  // namespace

TargetParse call_target(const Message& message) {
  TargetParse out;
  const auto& m = message.method;
  if (m != "tools/call" && m != "resources/read" && m != "prompts/get") return out;
  const char* key = m == "resources/read" ? "uri" : "name";
  const auto& p = message.params;
  if (!p.is_object() || !p.contains(key) || !p[key].is_string() ||
      p[key].get_ref<const std::string&>().empty()) {
    out.refusal = RpcRefusal{rpc::kInvalidParams, m + " needs params." + key + " (a string)"};
    return out;
  }
  CallTarget t;
  t.method = m;
  t.name = p[key].get<std::string>();
  if (m != "resources/read" && p.contains("arguments") && !p["arguments"].is_null()) {
    if (!p["arguments"].is_object()) {
      out.refusal = RpcRefusal{rpc::kInvalidParams, m + " params.arguments must be an object"};
      return out;
    }
    t.arguments = p["arguments"];
  }
  out.target = std::move(t);
  return out;
}

nlohmann::json cedar_arguments(const nlohmann::json& v, int max_depth) {
  if (max_depth <= 0 && (v.is_object() || v.is_array())) return v.dump();
  if (v.is_object()) {
    nlohmann::json out = nlohmann::json::object();
    for (const auto& [k, child] : v.items())
      if (!child.is_null()) out[k] = cedar_arguments(child, max_depth - 1);
    return out;
  }
  if (v.is_array()) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& child : v)
      if (!child.is_null()) out.push_back(cedar_arguments(child, max_depth - 1));
    return out;
  }
  if (v.is_number_float()) return v.dump();
  if (v.is_number_unsigned() && v.get<std::uint64_t>() > INT64_MAX) return v.dump();
  return v;
}

Result<std::string> device_trust(store::Tx& tx, const std::string& device_id, Micros now,
                                 Micros max_posture_age) {
  CUSTODY_ASSIGN(auto device, device::find_device(tx, device_id));
  if (!device) return std::string("unknown");
  if (device->revoked) return std::string("revoked");
  if (device->trust == device::Trust::kTrusted &&
      (!device->posture_received_at || now - *device->posture_received_at > max_posture_age))
    return std::string("untrusted");
  return std::string(device::trust_name(device->trust));
}

policy::Question call_question(const Route& route, const Caller& caller, const CallTarget& target,
                               const std::string& trust, int max_argument_depth) {
  ResourceShape shape = shape_of(target.method);
  policy::Question q;
  q.subject.type = subject_type(caller.principal);
  q.subject.id = caller.principal;
  if (caller.device_id)
    q.subject.properties["device"] = {{"id", *caller.device_id}, {"trust", trust}};
  q.action = shape.action;
  q.resource.type = shape.type;
  q.resource.id = route.public_url + " " + target.name;
  q.resource.properties = {{shape.name_attribute, target.name}, {"server", route.public_url}};
  q.context = {{"method", target.method},         {"route", route.name},
               {"upstream", route.upstream_url},  {"chain", caller.chain},
               {"depth", caller.presented.depth}, {"client", caller.presented.client_id}};
  if (target.method != "resources/read")
    q.context["arguments"] = target.arguments.is_object()
                                 ? cedar_arguments(target.arguments, max_argument_depth)
                                 : nlohmann::json::object();
  return q;
}

Result<CallDecision> decide_call(store::Tx& tx, const policy::Pdp& pdp, const Route& route,
                                 const Caller& caller, const CallTarget& target, Micros now,
                                 const DecideOptions& options) {
  CallDecision out;
  if (caller.device_id) {
    CUSTODY_ASSIGN(out.device_trust,
                   device_trust(tx, *caller.device_id, now, options.max_posture_age));
  }
  out.question = call_question(route, caller, target, out.device_trust, options.max_argument_depth);
  // Asked first without an approval: @approval policies are forbids, so a question the policies
  // allow without one is allowed with one too (the waived set only lacks forbids), and a plain
  // deny stays a deny. Only a checkpoint looks for a granted approval (a digest and a query that
  // most calls need not pay) and is then decided again with it, as it was before.
  CUSTODY_ASSIGN(auto decisions, decide(tx, pdp, {out.question}, now, &out.policy_version));
  std::optional<std::string> approved;
  if (!decisions.front().allow && !decisions.front().approval.empty()) {
    CUSTODY_ASSIGN(approved, policy::find_approved(tx, out.question, now));
    if (approved) {
      out.question.approved = true;
      CUSTODY_ASSIGN(decisions, decide(tx, pdp, {out.question}, now, &out.policy_version));
    }
  }
  const policy::Decision& d = decisions.front();
  out.reasons = d.reasons;
  for (const auto& [policy, message] : d.errors) out.errors.push_back(policy + ": " + message);
  if (d.allow) {
    out.outcome = "permit";
    if (approved) out.approval_used = *approved;
  } else if (!d.approval.empty()) {
    out.outcome = "approval_required";
    out.approval_labels = d.approval;
  } else {
    out.outcome = "deny";
  }
  return out;
}

Result<std::vector<bool>> callable_tools(store::Tx& tx, const policy::Pdp& pdp, const Route& route,
                                         const Caller& caller,
                                         const std::vector<std::string>& names, Micros now,
                                         const DecideOptions& options) {
  std::string trust;
  if (caller.device_id) {
    CUSTODY_ASSIGN(trust, device_trust(tx, *caller.device_id, now, options.max_posture_age));
  }
  std::vector<policy::Question> questions;
  questions.reserve(names.size());
  for (const auto& name : names)
    questions.push_back(call_question(route, caller,
                                      CallTarget{"tools/call", name, nlohmann::json::object()},
                                      trust, options.max_argument_depth));
  std::vector<bool> out;
  if (questions.empty()) return out;
  CUSTODY_ASSIGN(auto decisions, decide(tx, pdp, questions, now, nullptr));
  for (const auto& d : decisions) out.push_back(d.allow || !d.approval.empty());
  return out;
}

}  // namespace custody::gateway
