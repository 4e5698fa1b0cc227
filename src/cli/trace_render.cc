#include "cli/trace_render.h"

#include <map>
#include <set>
#include <string>
#include <vector>

namespace custody::cli {
namespace {

std::string joined(const Json& array) {
  if (!array.is_array() || array.empty()) return "-";
  std::string out;
  for (const auto& v : array) {
    if (!out.empty()) out += ' ';
    out += v.is_string() ? v.get<std::string>() : v.dump();
  }
  return out;
}

std::string grant_name(const Json& record) {
  std::string g = record.value("grant_type", "");
  if (g == "urn:ietf:params:oauth:grant-type:token-exchange") return "token-exchange";
  return g.empty() ? "-" : g;
}

// Two lines per hop: who acted and how, then the token's authority and times.
std::pair<std::string, std::string> hop_lines(const Json& r) {
  std::string acting =
      r.contains("actor") && r["actor"].is_string()
          ? r["actor"].get<std::string>() + " acting for " + r.value("subject", std::string("-"))
          : r.value("subject", std::string("-"));
  std::string first = r.value("id", std::string("-")) + "  " + acting + "  (" + grant_name(r) + ")";
  std::string second = "client " + r.value("client_id", std::string("-")) + " · scopes " +
                       joined(r.value("scopes", Json::array())) + " · aud " +
                       joined(r.value("audience", Json::array())) + " · issued " +
                       r.value("issued_at", std::string("-")) + " · expires " +
                       r.value("expires_at", std::string("-"));
  if (r.contains("max_hops") && r["max_hops"].is_number_integer())
    second += " · max_hops " + std::to_string(r["max_hops"].get<int>());
  // The policy decision that permitted the issuance (records since policies decide issuance).
  if (r.contains("policy") && r["policy"].is_object() && r["policy"].contains("version"))
    second += " · permitted by " + joined(r["policy"].value("policies", Json::array())) +
              " (policy v" + r["policy"]["version"].dump() + ")";
  if (r.value("revoked", false))
    second += " · REVOKED " + r.value("revoked_at", std::string()) + " by " +
              r.value("revoked_by", std::string("-"));
  // Ids and scopes come from clients: never let them move the cursor.
  return {sanitize(first), sanitize(second)};
}

void render_children(std::ostream& out, const std::string& parent,
                     const std::map<std::string, std::vector<const Json*>>& children,
                     const std::string& indent) {
  auto it = children.find(parent);
  if (it == children.end()) return;
  for (std::size_t i = 0; i < it->second.size(); ++i) {
    bool last = i + 1 == it->second.size();
    const Json& r = *it->second[i];
    auto [first, second] = hop_lines(r);
    std::string below = indent + (last ? "   " : "│  ");
    out << indent << (last ? "└─ " : "├─ ") << first << "\n" << below << second << "\n";
    render_children(out, r.value("id", std::string()), children, below);
  }
}

}  // namespace

void render_trace(std::ostream& out, const Json& trace) {
  const Json& initiator = trace.value("initiator", Json::object());
  out << "initiated by " << sanitize(initiator.value("subject", std::string("-"))) << " (issuer "
      << sanitize(initiator.value("issuer", std::string("-"))) << ")\n";
  std::string target = trace.value("delegation_id", std::string());
  std::string indent;
  const Json chain = trace.value("chain", Json::array());
  for (std::size_t i = 0; i < chain.size(); ++i) {
    const Json& r = chain[i];
    auto [first, second] = hop_lines(r);
    std::string here = indent + (i == 0 ? "" : "└─ ");
    if (i > 0) indent += "   ";
    out << here << first << (r.value("id", std::string()) == target ? "   ◀ this token" : "")
        << "\n"
        << indent << second << "\n";
  }
  const Json downstream = trace.value("downstream", Json::array());
  // A record hangs below its parent when the parent is shown, else below the actor token's
  // record it was made with.
  std::set<std::string> shown{target};
  for (const auto& r : downstream) shown.insert(r.value("id", std::string()));
  std::map<std::string, std::vector<const Json*>> children;
  for (const auto& r : downstream) {
    std::string parent = r.value("parent_id", std::string());
    if (!shown.count(parent) && r.contains("actor_delegation_id"))
      parent = r.value("actor_delegation_id", std::string());
    children[parent].push_back(&r);
  }
  render_children(out, target, children, indent);
  if (trace.value("downstream_truncated", false))
    out << indent << "… more derived tokens not shown\n";
}

void render_delegation(std::ostream& out, const Json& r) {
  Fields fields = {{"id", member_text(r, "id")},
                   {"parent", member_text(r, "parent_id")},
                   {"root", member_text(r, "root_id")},
                   {"subject", member_text(r, "subject")},
                   {"subject issuer", member_text(r, "subject_issuer")},
                   {"actor", member_text(r, "actor")},
                   {"client", member_text(r, "client_id")},
                   {"grant", grant_name(r)},
                   {"scopes", joined(r.value("scopes", Json::array()))},
                   {"audience", joined(r.value("audience", Json::array()))},
                   {"depth", member_text(r, "depth")},
                   {"dpop jkt", member_text(r, "cnf_jkt")},
                   {"issued", member_text(r, "issued_at")},
                   {"expires", member_text(r, "expires_at")},
                   {"revoked", member_text(r, "revoked_at")},
                   {"revoked by", member_text(r, "revoked_by")}};
  render_fields(out, fields);
}

void render_key_table(std::ostream& out, const Json& keys) {
  Table table({"KID", "ALG", "STATUS", "ACTIVATES", "PUBLISHED UNTIL"});
  for (const auto& k : keys.value("items", Json::array()))
    table.add_row({member_text(k, "kid"), member_text(k, "alg"), member_text(k, "status"),
                   member_text(k, "activate_at"), member_text(k, "published_until")});
  table.render(out);
}

}  // namespace custody::cli
