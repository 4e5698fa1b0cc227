#include "inventory/findings.h"

#include "directory/access.h"
#include "directory/identities.h"

namespace custody::inventory {
namespace {

using directory::Kind;
using directory::State;
using nlohmann::json;

constexpr std::string_view kFindingColumns =
    "f.identity_id, f.definition_hash, f.kind, f.name, f.transport, f.target, f.definition, "
    "f.registered_hash, f.drifted_hash, f.drifted_at, f.reject_reason, f.first_seen_at, "
    "f.last_seen_at, i.kind, i.display_name, i.owner_id, i.state, i.version";

Result<Finding> finding_from_row(const store::Row& r) {
  Finding f;
  f.identity.id = r.text(0);
  f.definition_hash = r.text(1);
  f.scanner_kind = r.text(2);
  f.name = r.text(3);
  f.transport = r.text(4);
  f.target = r.text(5);
  f.definition = json::parse(r.text(6), nullptr, false);
  f.registered_hash = r.opt_text(7);
  f.drifted_hash = r.opt_text(8);
  f.drifted_at = r.opt_integer(9);
  f.reject_reason = r.opt_text(10);
  f.first_seen_at = r.integer(11);
  f.last_seen_at = r.integer(12);
  auto kind = directory::parse_kind(r.text(13));
  auto state = directory::parse_state(r.text(16));
  if (!kind || !state) return Error::internal("stored identity of a finding does not parse");
  f.identity.kind = *kind;
  f.identity.display_name = r.text(14);
  f.identity.owner_id = r.opt_text(15);
  f.identity.state = *state;
  f.identity.version = r.integer(17);
  return f;
}

constexpr std::string_view kSightingColumns =
    "s.device_id, d.owner_id, d.hostname, s.definition_hash, s.fingerprint, s.client, s.scope, "
    "s.config_file, s.server_name, s.running, s.risks, s.secrets, s.first_seen_at, "
    "s.last_seen_at";

Sighting sighting_from_row(const store::Row& r, std::size_t at = 0) {
  Sighting s;
  s.device_id = r.text(at + 0);
  s.device_owner = r.text(at + 1);
  s.hostname = r.text(at + 2);
  s.definition_hash = r.text(at + 3);
  s.fingerprint = r.text(at + 4);
  s.client = r.text(at + 5);
  s.scope = r.text(at + 6);
  s.config_file = r.text(at + 7);
  s.server_name = r.text(at + 8);
  s.running = r.integer(at + 9) != 0;
  s.risks = json::parse(r.text(at + 10), nullptr, false);
  s.secrets = json::parse(r.text(at + 11), nullptr, false);
  s.first_seen_at = r.integer(at + 12);
  s.last_seen_at = r.integer(at + 13);
  return s;
}

Status load_sightings(store::Tx& tx, Finding& f) {
  CUSTODY_ASSIGN(auto rows,
                 tx.query("SELECT " + std::string(kSightingColumns) +
                              " FROM discovery_sightings s JOIN devices d ON d.id = s.device_id "
                              "WHERE s.identity_id = $1 ORDER BY s.device_id, s.slot",
                          {f.identity.id}));
  for (const auto& r : rows) f.sightings.push_back(sighting_from_row(r));
  return ok_status();
}

Result<std::optional<Finding>> find_finding(store::Tx& tx, std::string_view id) {
  CUSTODY_ASSIGN(auto rows, tx.query("SELECT " + std::string(kFindingColumns) +
                                         " FROM discovery_findings f JOIN identities i ON i.id = "
                                         "f.identity_id WHERE f.identity_id = $1",
                                     {std::string(id)}));
  if (rows.empty()) return std::optional<Finding>();
  CUSTODY_ASSIGN(auto f, finding_from_row(rows[0]));
  CUSTODY_TRY(load_sightings(tx, f));
  return std::optional<Finding>(std::move(f));
}

bool visible(const directory::Principal& who, const Finding& f) {
  if (who.role != directory::Role::kOwner) return true;
  if (f.identity.owner_id == who.human_id) return true;
  for (const auto& s : f.sightings)
    if (s.device_owner == who.human_id) return true;
  return false;
}

json risks_json(const std::vector<ReportedRisk>& risks) {
  json out = json::array();
  for (const auto& r : risks) out.push_back({{"signal", r.signal}, {"detail", r.detail}});
  return out;
}

json secrets_json(const std::vector<ReportedSecret>& secrets) {
  json out = json::array();
  for (const auto& s : secrets)
    out.push_back(
        {{"field", s.field}, {"classification", s.classification}, {"pattern", s.pattern}});
  return out;
}

// A new component: its identity (state discovered, owned by the device's owner) and its row.
Result<std::string> create_finding(store::Tx& tx, const directory::OpContext& ctx,
                                   const device::Device& device, const ReportedFinding& f,
                                   const std::string& hash, Micros now) {
  directory::NewIdentity in;
  in.kind = f.kind == "a2a-agent" ? Kind::kAgent : Kind::kMcpServer;
  in.display_name = f.display_name();
  in.description = "Discovered by custody-agent on device " + device.id + " (" + f.client + ", " +
                   f.scope + " scope)";
  in.labels = {{"discovery/client", f.client}, {"discovery/transport", f.transport}};
  in.owner_id = device.owner_id;
  in.state = State::kDiscovered;
  CUSTODY_ASSIGN(auto identity, directory::create_identity(tx, ctx, in));
  CUSTODY_TRY(tx.exec(
      "INSERT INTO discovery_findings (identity_id, definition_hash, kind, name, transport, "
      "target, definition, first_seen_at, last_seen_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, "
      "$8)",
      {identity.id, hash, f.kind, f.server_name, f.transport, f.target(), f.definition().dump(),
       now}));
  return identity.id;
}

Status upsert_sighting(store::Tx& tx, const device::Device& device, const ReportedFinding& f,
                       const std::string& slot, const std::string& identity_id,
                       const std::string& hash, Micros now) {
  CUSTODY_TRY(tx.exec(
      "INSERT INTO discovery_sightings (device_id, slot, identity_id, definition_hash, "
      "fingerprint, client, scope, config_file, server_name, running, risks, secrets, "
      "first_seen_at, last_seen_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, "
      "$13, $13) ON CONFLICT (device_id, slot) DO UPDATE SET identity_id = excluded.identity_id, "
      "definition_hash = excluded.definition_hash, fingerprint = excluded.fingerprint, running = "
      "excluded.running, risks = excluded.risks, secrets = excluded.secrets, last_seen_at = "
      "excluded.last_seen_at",
      {device.id, slot, identity_id, hash, f.fingerprint, f.client, f.scope, f.config_file,
       f.server_name, std::int64_t(f.running ? 1 : 0), risks_json(f.risks).dump(),
       secrets_json(f.secrets).dump(), now}));
  CUSTODY_TRY(tx.exec("UPDATE discovery_findings SET last_seen_at = $2 WHERE identity_id = $1",
                      {identity_id, now}));
  return ok_status();
}

// Marks a registered component drifted (once per new definition) and audits it.
Result<bool> mark_drifted(store::Tx& tx, const directory::OpContext& ctx,
                          const std::string& identity_id, const std::string& registered,
                          const std::string& hash, const device::Device& device, Micros now) {
  CUSTODY_ASSIGN(auto changed,
                 tx.exec("UPDATE discovery_findings SET drifted_hash = $2, drifted_at = $3 WHERE "
                         "identity_id = $1 AND (drifted_hash IS NULL OR drifted_hash <> $2)",
                         {identity_id, hash, now}));
  if (changed == 0) return false;
  CUSTODY_TRY(directory::access::record(tx, ctx, "discovery.drift", identity_id,
                                        {{"device", device.id},
                                         {"registered_definition", registered},
                                         {"reported_definition", hash}}));
  return true;
}

}  // namespace

Result<IngestResult> ingest(store::Tx& tx, const device::Device& device,
                            const DiscoveryReport& report, const std::string& request_id,
                            Micros now) {
  // The device acts: it is the actor of what its report creates.
  directory::Principal who{device.id, directory::Role::kAdmin, std::nullopt};
  directory::OpContext ctx{who, request_id, now};
  IngestResult out;
  for (const auto& f : report.findings) {
    const std::string hash = f.definition_hash();
    const std::string slot = f.slot();
    CUSTODY_ASSIGN(auto here, tx.query("SELECT s.identity_id, f.registered_hash, "
                                       "f.definition_hash FROM discovery_sightings s JOIN "
                                       "discovery_findings f ON f.identity_id = s.identity_id "
                                       "WHERE s.device_id = $1 AND s.slot = $2",
                                       {device.id, slot}));
    std::string identity_id;
    const std::optional<std::string> registered = here.empty() ? std::nullopt : here[0].opt_text(1);
    if (registered && *registered != hash) {
      // A registered component changed where it is configured: drift, not a new component.
      identity_id = here[0].text(0);
      CUSTODY_ASSIGN(bool now_drifted,
                     mark_drifted(tx, ctx, identity_id, *registered, hash, device, now));
      if (now_drifted) out.drifted.push_back(identity_id);
    } else if (!here.empty() && (registered || here[0].text(2) == hash)) {
      // The same place with the approved (or the first reported) definition.
      identity_id = here[0].text(0);
      ++out.known;
    } else {
      // Elsewhere on any device, or an unregistered entry edited in place: by definition.
      CUSTODY_ASSIGN(auto known, tx.query("SELECT identity_id FROM discovery_findings WHERE "
                                          "definition_hash = $1",
                                          {hash}));
      if (!known.empty()) {
        identity_id = known[0].text(0);
        ++out.known;
      } else {
        CUSTODY_ASSIGN(identity_id, create_finding(tx, ctx, device, f, hash, now));
        out.created.push_back(identity_id);
      }
    }
    CUSTODY_TRY(upsert_sighting(tx, device, f, slot, identity_id, hash, now));
  }
  return out;
}

Result<std::vector<Finding>> list_findings(store::Tx& tx, const directory::OpContext& ctx,
                                           const FindingFilter& filter) {
  std::string sql = "SELECT " + std::string(kFindingColumns) +
                    " FROM discovery_findings f JOIN identities i ON i.id = f.identity_id "
                    "WHERE 1 = 1";
  std::vector<store::Value> params;
  auto bind = [&](std::string value) {
    params.emplace_back(std::move(value));
    return "$" + std::to_string(params.size());
  };
  if (filter.state) sql += " AND i.state = " + bind(std::string(state_name(*filter.state)));
  if (filter.kind) sql += " AND i.kind = " + bind(std::string(kind_name(*filter.kind)));
  if (filter.owner) sql += " AND i.owner_id = " + bind(*filter.owner);
  if (filter.device)
    sql +=
        " AND EXISTS (SELECT 1 FROM discovery_sightings s WHERE s.identity_id = f.identity_id "
        "AND s.device_id = " +
        bind(*filter.device) + ")";
  if (ctx.who.role == directory::Role::kOwner) {
    const std::string me = bind(ctx.who.human_id.value_or(""));
    sql += " AND (i.owner_id = " + me +
           " OR EXISTS (SELECT 1 FROM discovery_sightings s JOIN devices d ON d.id = s.device_id "
           "WHERE s.identity_id = f.identity_id AND d.owner_id = " +
           me + "))";
  }
  if (filter.after_id) sql += " AND f.identity_id > " + bind(*filter.after_id);
  sql += " ORDER BY f.identity_id LIMIT " + std::to_string(std::clamp(filter.limit, 1, 1001));
  CUSTODY_ASSIGN(auto rows, tx.query(sql, params));
  std::vector<Finding> out;
  for (const auto& r : rows) {
    CUSTODY_ASSIGN(auto f, finding_from_row(r));
    CUSTODY_TRY(load_sightings(tx, f));
    out.push_back(std::move(f));
  }
  return out;
}

Result<Finding> get_finding(store::Tx& tx, const directory::OpContext& ctx, std::string_view id) {
  CUSTODY_ASSIGN(auto f, find_finding(tx, id));
  if (!f || !visible(ctx.who, *f)) return directory::access::not_found("finding", id);
  return std::move(*f);
}

Result<std::optional<Finding>> finding_of_identity(store::Tx& tx, std::string_view identity_id) {
  return find_finding(tx, identity_id);
}

Result<bool> is_drifted(store::Tx& tx, std::string_view identity_id) {
  CUSTODY_ASSIGN(auto rows, tx.query("SELECT drifted_hash FROM discovery_findings WHERE "
                                     "identity_id = $1",
                                     {std::string(identity_id)}));
  return !rows.empty() && !rows[0].is_null(0);
}

Result<Finding> register_finding(store::Tx& tx, const directory::OpContext& ctx,
                                 std::string_view id, const Registration& in) {
  CUSTODY_TRY(directory::access::require_write(ctx));
  CUSTODY_ASSIGN(auto f, get_finding(tx, ctx, id));
  const std::string sid(id);
  if (f.identity.state == State::kRetired)
    return Error::conflict("finding " + sid + " was rejected (its identity is retired)");
  if (f.identity.state == State::kSuspended)
    return Error::conflict("finding " + sid + " is suspended; resume its identity instead");
  if (f.identity.state == State::kActive && !f.drifted())
    return Error::conflict("finding " + sid + " is already registered");
  if (in.owner && in.owner != f.identity.owner_id) {
    directory::IdentityPatch patch;
    patch.owner_id = *in.owner;
    CUSTODY_TRY(directory::update_identity(tx, ctx, id, patch, std::nullopt));
  }
  const std::string why = "registered from discovery";
  if (f.identity.state == State::kDiscovered)
    CUSTODY_TRY(directory::transition(tx, ctx, id, State::kPending, std::nullopt, why));
  json granted = json::array();
  for (const auto& e : in.entitlements) {
    CUSTODY_ASSIGN(auto g, directory::grant_entitlement(tx, ctx, id, e));
    granted.push_back(g.id);
  }
  std::optional<std::string> approved;
  if (in.activate) {
    if (f.identity.state != State::kActive)
      CUSTODY_TRY(directory::transition(tx, ctx, id, State::kActive, std::nullopt, why));
    approved = f.drifted_hash.value_or(f.definition_hash);
    CUSTODY_TRY(tx.exec(
        "UPDATE discovery_findings SET registered_hash = $2, drifted_hash = NULL, drifted_at = "
        "NULL WHERE identity_id = $1",
        {sid, *approved}));
    // The approved definition is this component's from now on, on other devices too (unless
    // another finding already stands for it).
    CUSTODY_TRY(
        tx.exec("UPDATE discovery_findings SET definition_hash = $2 WHERE identity_id = $1 AND NOT "
                "EXISTS (SELECT 1 FROM discovery_findings o WHERE o.definition_hash = $2)",
                {sid, *approved}));
  }
  CUSTODY_TRY(directory::access::record(
      tx, ctx, "discovery.register", sid,
      {{"state", in.activate ? "active" : "pending"},
       {"owner", in.owner ? json(*in.owner) : json(f.identity.owner_id.value_or(""))},
       {"entitlements", granted},
       {"approved_definition", approved ? json(*approved) : json(nullptr)},
       {"was_drifted", f.drifted()}}));
  CUSTODY_ASSIGN(auto after, find_finding(tx, id));
  return std::move(*after);
}

Result<Finding> reject_finding(store::Tx& tx, const directory::OpContext& ctx, std::string_view id,
                               const std::string& reason) {
  CUSTODY_TRY(directory::access::require_write(ctx));
  CUSTODY_ASSIGN(auto f, get_finding(tx, ctx, id));
  if (f.identity.state == State::kRetired)
    return Error::conflict("finding " + std::string(id) + " is already rejected");
  CUSTODY_TRY(directory::transition(tx, ctx, id, State::kRetired, std::nullopt, reason));
  CUSTODY_TRY(tx.exec("UPDATE discovery_findings SET reject_reason = $2 WHERE identity_id = $1",
                      {std::string(id), reason}));
  CUSTODY_TRY(directory::access::record(tx, ctx, "discovery.reject", std::string(id),
                                        {{"reason", reason}}));
  CUSTODY_ASSIGN(auto after, find_finding(tx, id));
  return std::move(*after);
}

Result<std::vector<ShadowRow>> shadow_inventory(store::Tx& tx, const directory::OpContext& ctx) {
  std::string sql =
      "SELECT f.identity_id, i.display_name, i.kind, i.state, f.drifted_hash, i.owner_id, "
      "f.target, f.transport, " +
      std::string(kSightingColumns) +
      " FROM discovery_sightings s JOIN discovery_findings f ON f.identity_id = s.identity_id "
      "JOIN identities i ON i.id = f.identity_id JOIN devices d ON d.id = s.device_id WHERE "
      "(i.state IN ('discovered', 'pending') OR (i.state = 'active' AND f.registered_hash IS NOT "
      "NULL AND s.definition_hash <> f.registered_hash))";
  std::vector<store::Value> params;
  if (ctx.who.role == directory::Role::kOwner) {
    params.emplace_back(ctx.who.human_id.value_or(""));
    sql += " AND (i.owner_id = $1 OR d.owner_id = $1)";
  }
  sql += " ORDER BY d.owner_id, s.device_id, f.identity_id, s.slot";
  CUSTODY_ASSIGN(auto rows, tx.query(sql, params));
  std::vector<ShadowRow> out;
  out.reserve(rows.size());
  for (const auto& r : rows) {
    ShadowRow row;
    row.identity_id = r.text(0);
    row.name = r.text(1);
    row.kind = r.text(2);
    row.state = r.text(3);
    row.drifted = !r.is_null(4);
    row.owner = r.opt_text(5).value_or("");
    row.target = r.text(6);
    row.transport = r.text(7);
    row.sighting = sighting_from_row(r, 8);
    out.push_back(std::move(row));
  }
  return out;
}

json to_json(const Finding& f) {
  json devices = json::array();
  for (const auto& s : f.sightings)
    devices.push_back({{"device_id", s.device_id},
                       {"device_owner", s.device_owner},
                       {"hostname", s.hostname},
                       {"client", s.client},
                       {"scope", s.scope},
                       {"config_file", s.config_file},
                       {"server_name", s.server_name},
                       {"fingerprint", s.fingerprint},
                       {"definition_hash", s.definition_hash},
                       {"running", s.running},
                       {"risks", s.risks},
                       {"secrets", s.secrets},
                       {"first_seen_at", format_rfc3339(s.first_seen_at)},
                       {"last_seen_at", format_rfc3339(s.last_seen_at)}});
  json out = {
      {"id", f.identity.id},
      {"kind", kind_name(f.identity.kind)},
      {"scanner_kind", f.scanner_kind},
      {"name", f.identity.display_name},
      {"state", state_name(f.identity.state)},
      {"owner", f.identity.owner_id.value_or("")},
      {"transport", f.transport},
      {"target", f.target},
      {"definition", f.definition},
      {"definition_hash", f.definition_hash},
      {"registered_definition_hash", f.registered_hash ? json(*f.registered_hash) : json(nullptr)},
      {"drifted", f.drifted()},
      {"first_seen_at", format_rfc3339(f.first_seen_at)},
      {"last_seen_at", format_rfc3339(f.last_seen_at)},
      {"devices", devices}};
  if (f.drifted_hash) {
    out["drifted_definition_hash"] = *f.drifted_hash;
    out["drifted_at"] = format_rfc3339(f.drifted_at.value_or(0));
  }
  if (f.reject_reason) out["reject_reason"] = *f.reject_reason;
  return out;
}

namespace {
std::vector<std::string> signals(const json& risks) {
  std::vector<std::string> out;
  if (!risks.is_array()) return out;
  for (const auto& r : risks)
    if (r.is_object() && r.contains("signal") && r["signal"].is_string())
      out.push_back(r["signal"].get<std::string>());
  return out;
}
}  // namespace

json to_json(const ShadowRow& r) {
  std::vector<std::string> sig = signals(r.sighting.risks);
  sig.insert(sig.begin(), r.drifted && r.state == "active" ? "drifted" : "not-registered");
  return {{"identity", r.identity_id},
          {"name", r.name},
          {"kind", r.kind},
          {"state", r.state},
          {"drifted", r.drifted},
          {"owner", r.owner},
          {"device_id", r.sighting.device_id},
          {"device_owner", r.sighting.device_owner},
          {"hostname", r.sighting.hostname},
          {"client", r.sighting.client},
          {"scope", r.sighting.scope},
          {"config_file", r.sighting.config_file},
          {"transport", r.transport},
          {"target", r.target},
          {"running", r.sighting.running},
          {"risk_signals", sig},
          {"first_seen_at", format_rfc3339(r.sighting.first_seen_at)},
          {"last_seen_at", format_rfc3339(r.sighting.last_seen_at)}};
}

std::string shadow_csv(const std::vector<ShadowRow>& rows) {
  static const char* kColumns[] = {
      "device_owner", "device_id", "hostname",     "identity",      "name",        "kind",
      "state",        "owner",     "client",       "scope",         "config_file", "transport",
      "target",       "running",   "risk_signals", "first_seen_at", "last_seen_at"};
  std::string out;
  for (std::size_t i = 0; i < std::size(kColumns); ++i)
    out += (i ? "," : "") + std::string(kColumns[i]);
  out += "\r\n";
  for (const auto& r : rows) {
    json j = to_json(r);
    std::string sig;
    for (const auto& s : j["risk_signals"]) sig += (sig.empty() ? "" : ";") + s.get<std::string>();
    j["risk_signals"] = sig;
    j["running"] = r.sighting.running ? "true" : "false";
    for (std::size_t i = 0; i < std::size(kColumns); ++i) {
      if (i) out += ',';
      out += csv_field(j[kColumns[i]].get<std::string>());
    }
    out += "\r\n";
  }
  return out;
}

}  // namespace custody::inventory
