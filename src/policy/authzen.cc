#include "policy/authzen.h"

namespace custody::policy {
namespace {

// Ids and types are what the PEP knows its objects by; bound them so that a hostile caller
// cannot make the PDP intern (and keep) arbitrarily large strings.
constexpr std::size_t kMaxIdBytes = 1024;

Status required_string(const nlohmann::json& object, const char* member, const std::string& where,
                       std::string* out) {
  auto it = object.find(member);
  std::string field = where + "." + member;
  if (it == object.end() || it->is_null()) return Error::invalid(field + " is required", field);
  if (!it->is_string()) return Error::invalid(field + " must be a string", field);
  const auto& s = it->get_ref<const std::string&>();
  if (s.empty()) return Error::invalid(field + " must not be empty", field);
  if (s.size() > kMaxIdBytes)
    return Error::invalid(field + " is longer than " + std::to_string(kMaxIdBytes) + " bytes",
                          field);
  *out = s;
  return ok_status();
}

Result<EntityRef> parse_entity(const nlohmann::json& json, const std::string& where) {
  if (!json.is_object()) return Error::invalid(where + " must be an object", where);
  EntityRef ref;
  CUSTODY_TRY(required_string(json, "type", where, &ref.type));
  CUSTODY_TRY(required_string(json, "id", where, &ref.id));
  if (auto it = json.find("properties"); it != json.end() && !it->is_null()) {
    if (!it->is_object())
      return Error::invalid(where + ".properties must be an object", where + ".properties");
    ref.properties = *it;
  }
  return ref;
}

Result<std::string> parse_action(const nlohmann::json& json, const std::string& where) {
  if (!json.is_object()) return Error::invalid(where + " must be an object", where);
  std::string name;
  CUSTODY_TRY(required_string(json, "name", where, &name));
  return name;
}

Result<nlohmann::json> parse_context(const nlohmann::json& json, const std::string& where) {
  if (json.is_null()) return nlohmann::json::object();
  if (!json.is_object()) return Error::invalid(where + " must be an object", where);
  return json;
}

// One question from an item over the defaults (either may be null).
Result<Question> question(const nlohmann::json& item, const nlohmann::json& defaults,
                          const std::string& prefix) {
  auto pick = [&](const char* member, std::string* where) -> const nlohmann::json* {
    if (item.is_object()) {
      if (auto it = item.find(member); it != item.end() && !it->is_null()) {
        *where = prefix + member;
        return &*it;
      }
    }
    if (auto it = defaults.find(member); it != defaults.end() && !it->is_null()) {
      *where = member;
      return &*it;
    }
    *where = prefix + member;
    return nullptr;
  };
  Question q;
  std::string where;
  const auto* subject = pick("subject", &where);
  if (!subject) return Error::invalid(where + " is required", where);
  CUSTODY_ASSIGN(q.subject, parse_entity(*subject, where));
  const auto* action = pick("action", &where);
  if (!action) return Error::invalid(where + " is required", where);
  CUSTODY_ASSIGN(q.action, parse_action(*action, where));
  const auto* resource = pick("resource", &where);
  if (!resource) return Error::invalid(where + " is required", where);
  CUSTODY_ASSIGN(q.resource, parse_entity(*resource, where));
  if (const auto* context = pick("context", &where)) {
    CUSTODY_ASSIGN(q.context, parse_context(*context, where));
  }
  return q;
}

Status parse_options(const nlohmann::json& body, EvaluationRequest& out) {
  auto it = body.find("options");
  if (it == body.end() || it->is_null()) return ok_status();
  if (!it->is_object()) return Error::invalid("options must be an object", "options");
  if (auto s = it->find("evaluations_semantic"); s != it->end() && !s->is_null()) {
    std::string name = s->is_string() ? s->get<std::string>() : "";
    if (name == "execute_all") {
      out.semantic = EvaluationsSemantic::kExecuteAll;
    } else if (name == "deny_on_first_deny") {
      out.semantic = EvaluationsSemantic::kDenyOnFirstDeny;
    } else if (name == "permit_on_first_permit") {
      out.semantic = EvaluationsSemantic::kPermitOnFirstPermit;
    } else {
      return Error::invalid(
          "options.evaluations_semantic must be execute_all, deny_on_first_deny or "
          "permit_on_first_permit",
          "options.evaluations_semantic");
    }
  }
  if (auto e = it->find("custody_explain"); e != it->end() && !e->is_null()) {
    if (!e->is_boolean())
      return Error::invalid("options.custody_explain must be a boolean", "options.custody_explain");
    out.explain = e->get<bool>();
  }
  return ok_status();
}

nlohmann::json decision_json(const Decision& d, bool explain) {
  nlohmann::json j = {{"decision", d.allow}};
  if (explain) {
    nlohmann::json errors = nlohmann::json::array();
    for (const auto& [policy, message] : d.errors)
      errors.push_back({{"policy", policy}, {"message", message}});
    j["context"] = {{"reasons", d.reasons}, {"errors", errors}};
  }
  // A checkpoint is always explained: the PEP needs the approval's id to come back with it.
  if (!d.checkpoint.is_null()) j["context"]["approval_required"] = d.checkpoint;
  return j;
}

}  // namespace

Result<EvaluationRequest> parse_evaluation(const nlohmann::json& body) {
  if (!body.is_object()) return Error::invalid("the request body must be a JSON object");
  EvaluationRequest out;
  out.single = true;
  CUSTODY_TRY(parse_options(body, out));
  CUSTODY_ASSIGN(auto q, question(nlohmann::json(), body, ""));
  out.questions.push_back(std::move(q));
  return out;
}

Result<EvaluationRequest> parse_evaluations(const nlohmann::json& body) {
  if (!body.is_object()) return Error::invalid("the request body must be a JSON object");
  EvaluationRequest out;
  CUSTODY_TRY(parse_options(body, out));
  auto items = body.find("evaluations");
  if (items == body.end() || items->is_null() || (items->is_array() && items->empty())) {
    out.single = true;
    CUSTODY_ASSIGN(auto q, question(nlohmann::json(), body, ""));
    out.questions.push_back(std::move(q));
    return out;
  }
  if (!items->is_array()) return Error::invalid("evaluations must be an array", "evaluations");
  out.questions.reserve(items->size());
  for (std::size_t i = 0; i < items->size(); ++i) {
    std::string prefix = "evaluations[" + std::to_string(i) + "].";
    const auto& item = (*items)[i];
    if (!item.is_object())
      return Error::invalid(prefix.substr(0, prefix.size() - 1) + " must be an object",
                            prefix.substr(0, prefix.size() - 1));
    CUSTODY_ASSIGN(auto q, question(item, body, prefix));
    out.questions.push_back(std::move(q));
  }
  return out;
}

bool stops_after(EvaluationsSemantic semantic, const Decision& decision) {
  switch (semantic) {
    case EvaluationsSemantic::kExecuteAll:
      return false;
    case EvaluationsSemantic::kDenyOnFirstDeny:
      return !decision.allow;
    case EvaluationsSemantic::kPermitOnFirstPermit:
      return decision.allow;
  }
  return false;
}

nlohmann::json response_body(const EvaluationRequest& request,
                             const std::vector<Decision>& decisions) {
  if (request.single)
    return decisions.empty() ? nlohmann::json{{"decision", false}}
                             : decision_json(decisions.front(), request.explain);
  nlohmann::json items = nlohmann::json::array();
  for (const auto& d : decisions) items.push_back(decision_json(d, request.explain));
  return {{"evaluations", items}};
}

nlohmann::json authzen_configuration(const std::string& issuer) {
  return {{"policy_decision_point", issuer},
          {"access_evaluation_endpoint", issuer + "/access/v1/evaluation"},
          {"access_evaluations_endpoint", issuer + "/access/v1/evaluations"}};
}

}  // namespace custody::policy
