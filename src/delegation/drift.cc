#include "delegation/drift.h"

#include <map>
#include <set>

#include "common/words.h"
#include "delegation/holder_filters.h"
#include "directory/entitlements.h"

namespace custody::delegation {
namespace {

struct Use {
  std::set<std::pair<std::string, std::string>> grants;  // (scope, audience) in the usage window
  std::map<std::string, Micros> recent_scopes, recent_audiences;  // first seen in recent window
  std::set<std::string> baseline_scopes, baseline_audiences;
  bool baseline_seen = false;
  bool truncated = false;
};

Result<Use> usage_of(store::Tx& tx, const std::string& id, const DriftOptions& o, Micros now) {
  Use use;
  Micros from = now - o.unused_for, recent = now - o.recent_for;
  // As client, then as an actor that was not the client (holder_filters.h).
  for (std::string_view role : {kAsClient, kAsActorNotClient}) {
    CUSTODY_ASSIGN(auto rows, tx.query("SELECT scopes, audience, issued_at FROM "
                                       "delegation_records WHERE " +
                                           std::string(role) +
                                           " AND issued_at >= $2 ORDER BY issued_at DESC "
                                           "LIMIT $3",
                                       {id, from, std::int64_t{o.max_records}}));
    if (static_cast<int>(rows.size()) >= o.max_records) use.truncated = true;
    for (const auto& row : rows) {
      auto scopes = split_words(row.text(0));
      auto audience = nlohmann::json::parse(row.text(1), nullptr, false);
      Micros at = row.integer(2);
      bool is_recent = at >= recent;
      if (!is_recent) use.baseline_seen = true;
      for (const auto& a : audience) {
        if (!a.is_string()) continue;
        const auto& aud = a.get_ref<const std::string&>();
        for (const auto& s : scopes) use.grants.insert({s, aud});
        if (is_recent) {
          auto [it, fresh] = use.recent_audiences.emplace(aud, at);
          if (!fresh) it->second = std::min(it->second, at);
        } else {
          use.baseline_audiences.insert(aud);
        }
      }
      for (const auto& s : scopes) {
        if (is_recent) {
          auto [it, fresh] = use.recent_scopes.emplace(s, at);
          if (!fresh) it->second = std::min(it->second, at);
        } else {
          use.baseline_scopes.insert(s);
        }
      }
    }
  }
  return use;
}

}  // namespace

Result<DriftReport> drift_report(store::Tx& tx, const DriftOptions& o, Micros now) {
  std::string sql = "SELECT id, kind, owner_id FROM identities WHERE ";
  std::vector<store::Value> params;
  if (o.identity) {
    sql += "id = $1";
    params.emplace_back(*o.identity);
  } else {
    sql += "state <> 'retired' AND id > $1 ORDER BY id LIMIT $2";
    params.emplace_back(o.after.value_or(""));
    params.emplace_back(std::int64_t{o.limit + 1});
  }
  CUSTODY_ASSIGN(auto identities, tx.query(sql, params));
  DriftReport report;
  std::size_t n = identities.size();
  if (!o.identity && static_cast<int>(n) > o.limit) {
    n = static_cast<std::size_t>(o.limit);
    report.next_cursor = identities[n - 1].text(0);
  }
  for (std::size_t i = 0; i < n; ++i) {
    const auto& row = identities[i];
    std::string id = row.text(0);
    CUSTODY_ASSIGN(auto use, usage_of(tx, id, o, now));
    CUSTODY_ASSIGN(auto ents, directory::active_entitlements(tx, id, now));
    nlohmann::json findings = nlohmann::json::array();
    for (const auto& e : ents) {
      if (e.created_at > now - o.unused_for) continue;  // not in force long enough to judge
      if (use.grants.count({e.scope, e.resource})) continue;
      findings.push_back({{"type", "unused_entitlement"},
                          {"entitlement_id", e.id},
                          {"scope", e.scope},
                          {"resource", e.resource},
                          {"granted_at", format_rfc3339(e.created_at)}});
    }
    if (use.baseline_seen) {
      for (const auto& [scope, at] : use.recent_scopes)
        if (!use.baseline_scopes.count(scope))
          findings.push_back({{"type", "scope_beyond_baseline"},
                              {"scope", scope},
                              {"first_seen_at", format_rfc3339(at)}});
      for (const auto& [aud, at] : use.recent_audiences)
        if (!use.baseline_audiences.count(aud))
          findings.push_back(
              {{"type", "new_audience"}, {"audience", aud}, {"first_seen_at", format_rfc3339(at)}});
    }
    if (findings.empty()) continue;
    nlohmann::json item = {
        {"identity_id", id},
        {"kind", row.text(1)},
        {"owner_id", row.opt_text(2) ? nlohmann::json(*row.opt_text(2)) : nlohmann::json(nullptr)},
        {"findings", findings}};
    if (use.truncated) item["truncated"] = true;
    report.items.push_back(std::move(item));
  }
  return report;
}

}  // namespace custody::delegation
