#include "oauth/issuance_policy.h"

#include <algorithm>
#include <set>

#include "directory/entitlements.h"
#include "directory/model.h"
#include "policy/cedar/extensions.h"
#include "policy/directory_entities.h"

namespace custody::oauth {
namespace {

// The Cedar entity reference for an identity id ("agt_…" → Agent), or an External one for
// subjects of trusted external issuers.
policy::EntityRef identity_ref(const std::string& id) {
  auto kind = directory::kind_of_id(id);
  return {kind ? std::string(policy::cedar_type_of(*kind)) : std::string("External"), id,
          nlohmann::json::object()};
}

std::string kind_text(const std::string& id) {
  auto kind = directory::kind_of_id(id);
  return kind ? std::string(directory::kind_name(*kind)) : std::string("external");
}

// Every identity of the chain, from the initiator through each act to the newest actor.
std::vector<std::string> chain_of(const Issuance& issuance) {
  std::vector<std::string> chain = {issuance.record.subject};
  const nlohmann::json* at = &issuance.act;
  while (at->is_object() && at->contains("sub") && (*at)["sub"].is_string()) {
    chain.push_back((*at)["sub"].get<std::string>());
    auto next = at->find("act");
    if (next == at->end()) break;
    at = &*next;
  }
  return chain;
}

cedar::Value string_set(const std::vector<std::string>& items) {
  cedar::SetElements elements;
  elements.reserve(items.size());
  for (const auto& s : items) elements.emplace_back(s);
  return cedar::Value::set(std::move(elements));
}

std::string annotation(const policy::CompiledBundle& bundle, const std::string& id,
                       const char* name) {
  const cedar::Policy* p = bundle.policies.find(id);
  if (p == nullptr) return {};
  auto it = p->annotations.find(name);
  return it == p->annotations.end() ? std::string() : it->second;
}

}  // namespace

OAuthResult<IssuanceVerdict> authorize_issuance(store::Tx& tx, const policy::Pdp& pdp,
                                                const Issuance& issuance, Micros now,
                                                bool approved) {
  const auto& r = issuance.record;
  bool exchange = r.grant_type == kGrantTokenExchange;
  auto snapshot = pdp.snapshot();

  // The directory as entities, within this transaction; created first so that the initiator's
  // entitlements, read for the context, are read once when the initiator is an entity too.
  policy::DirectoryEntities directory(tx, now);
  if (issuance.read_in == &tx) {
    for (const auto& facts : issuance.read) directory.add_known(facts);
    // In force at the grant's time: the same rows only when the decision is taken at that time.
    if (issuance.record.issued_at == now)
      for (const auto& e : issuance.entitlements_read)
        directory.add_grants(e.identity_id, e.in_force);
  }

  // The context as a Cedar record, built directly (no JSON round trip; names in key order, which
  // RecordFields appends in O(1)).
  cedar::RecordFields base;
  if (exchange) {
    auto chain = chain_of(issuance);
    cedar::SetElements kinds, members;
    for (const auto& id : chain) {
      kinds.emplace_back(kind_text(id));
      members.emplace_back(id);
    }
    // The audiences the initiator itself is entitled to (none for an external subject).
    cedar::SetElements initiator_audiences;
    if (directory::kind_of_id(r.subject)) {
      auto ents = directory.grants_in_force(r.subject);
      if (!ents.ok()) return OAuthError::server_error("cannot read entitlements");
      for (const auto& e : **ents) initiator_audiences.emplace_back(e.resource);
    }
    base["chain"] = cedar::Value::set(std::move(members));
    base["chain_kinds"] = cedar::Value::set(std::move(kinds));
    base["client"] = r.client_id;
    base["depth"] = std::int64_t{r.depth};
    base["dpop"] = r.cnf_jkt.has_value();
    base["initiator"] = r.subject;
    base["initiator_audiences"] = cedar::Value::set(std::move(initiator_audiences));
    base["initiator_kind"] = kind_text(r.subject);
  } else {
    base["dpop"] = r.cnf_jkt.has_value();
    base["grant_type"] = r.grant_type;
  }
  base["lifetime_seconds"] =
      std::int64_t{std::max<Micros>(0, r.expires_at - now) / kMicrosPerSecond};
  if (r.max_hops) base["max_hops"] = std::int64_t{*r.max_hops};
  // Milliseconds, as a Cedar datetime holds them (rounded down, like the RFC 3339 text was).
  base["now"] = cedar::make_datetime(now >= 0 ? now / 1000 : -((-now + 999) / 1000));
  if (exchange) base["parent_scopes"] = string_set(issuance.parent_scopes);
  base["scopes"] = string_set(r.scopes);

  std::vector<policy::Question> questions;
  for (const auto& audience : r.audience) {
    policy::Question q;
    cedar::RecordFields context = base;
    context["audience"] = audience;
    if (exchange) {
      q.subject = identity_ref(r.actor);
      q.action = "delegate";
      q.resource = identity_ref(issuance.delegator);
      context["new_audience"] =
          std::find(issuance.parent_audience.begin(), issuance.parent_audience.end(), audience) ==
          issuance.parent_audience.end();
    } else {
      q.subject = identity_ref(r.client_id);
      q.action = "obtain";
      q.resource = {"Audience", audience, nlohmann::json::object()};
    }
    q.cedar_context = cedar::Value::record(std::move(context));
    q.approved = approved;
    questions.push_back(std::move(q));
  }

  auto decisions = pdp.decide(*snapshot, directory, questions,
                              [](const policy::Decision& d) { return !d.allow; });
  if (!decisions.ok())
    return OAuthError::server_error("the policy decision failed: " + decisions.error().message);

  IssuanceVerdict verdict;
  verdict.policy_version = snapshot->policy_version;
  std::set<std::string> permitting;
  for (std::size_t i = 0; i < decisions->size(); ++i) {
    const auto& d = (*decisions)[i];
    if (d.allow) {
      permitting.insert(d.reasons.begin(), d.reasons.end());
      continue;
    }
    const auto& q = questions[i];
    std::string what = exchange ? "delegation of " + q.resource.id + "'s authority to " +
                                      q.subject.id + " for audience " + r.audience[i]
                                : q.subject.id + " obtaining a token for audience " + r.audience[i];
    std::string bound = "policy";
    std::string description;
    if (!d.approval.empty()) {
      // A human checkpoint on an issuance: the client asks for it through CIBA
      // (ciba.h) and receives the token once a human approved.
      std::string labels;
      for (const auto& l : d.approval) labels += (labels.empty() ? "" : ", ") + l;
      return OAuthError::invalid_request(what + " needs a human approval (" + labels +
                                             "): ask for it at the backchannel "
                                             "authentication endpoint (OpenID CIBA)",
                                         "approval");
    }
    if (d.reasons.empty()) {
      description = "no policy permits " + what + " (policy version " +
                    std::to_string(snapshot->policy_version) + ")";
    } else {
      std::string first_bound = annotation(*snapshot->bundle, d.reasons.front(), "bound");
      if (!first_bound.empty()) bound = first_bound;
      description = "policy forbids " + what + ":";
      for (const auto& id : d.reasons) {
        std::string reason = annotation(*snapshot->bundle, id, "reason");
        description += " " + id + (reason.empty() ? "" : " (" + reason + ")") + ";";
      }
      description.pop_back();
    }
    if (!d.errors.empty())
      description += "; policies that failed to evaluate: " + d.errors.front().first;
    return exchange ? OAuthError::invalid_request(description, bound)
                    : OAuthError::unauthorized_client(description, bound);
  }
  verdict.policies.assign(permitting.begin(), permitting.end());
  return verdict;
}

}  // namespace custody::oauth
