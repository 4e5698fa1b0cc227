#include "policy/policy_store.h"

#include "common/encoding.h"
#include "crypto/keyed_hash.h"

namespace custody::policy {
namespace {

constexpr const char* kPolicyColumns =
    "version, digest, policy_count, has_schema, description, created_by, created_at";
constexpr const char* kEntitiesColumns = "version, digest, entity_count, created_by, created_at";

PolicyVersionInfo policy_info(const store::Row& r) {
  return {r.integer(0), r.text(1), r.integer(2), r.integer(3) != 0,
          r.text(4),    r.text(5), r.integer(6)};
}

EntitiesVersionInfo entities_info(const store::Row& r) {
  return {r.integer(0), r.text(1), r.integer(2), r.text(3), r.integer(4)};
}

// The next version of a table: versions are dense because the writer commits one at a time
// (SQLite) or the primary key refuses a concurrent duplicate (PostgreSQL: the loser's work
// fails with kConflict and the caller may retry).
Result<std::int64_t> next_version(store::Tx& tx, const char* table) {
  CUSTODY_ASSIGN(auto rows,
                 tx.query(std::string("SELECT COALESCE(MAX(version), 0) FROM ") + table));
  return rows.at(0).integer(0) + 1;
}

}  // namespace

Result<PdpState> read_pdp_state(store::Tx& tx) {
  CUSTODY_ASSIGN(auto rows,
                 tx.query("SELECT policy_version, entities_version FROM pdp_state WHERE id = 1"));
  if (rows.empty()) return Error::internal("pdp_state has no row (migration 0004 not applied?)");
  return PdpState{rows[0].integer(0), rows[0].integer(1)};
}

Result<PolicyVersionInfo> insert_policy_version(store::Tx& tx, const BundleSource& source,
                                                std::int64_t policy_count,
                                                const std::string& description,
                                                const std::string& created_by, Micros now) {
  CUSTODY_ASSIGN(auto version, next_version(tx, "policy_versions"));
  PolicyVersionInfo info{version,      bundle_digest(source),
                         policy_count, source.schema_format != SchemaFormat::kNone,
                         description,  created_by,
                         now};
  CUSTODY_TRY(
      tx.exec("INSERT INTO policy_versions (version, bundle, digest, policy_count, has_schema, "
              "description, created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
              {version, bundle_to_json(source).dump(), info.digest, policy_count,
               std::int64_t{info.has_schema ? 1 : 0}, description, created_by, now}));
  return info;
}

Status activate_policy_version(store::Tx& tx, std::int64_t version, Micros now) {
  CUSTODY_ASSIGN(auto rows,
                 tx.query("SELECT 1 FROM policy_versions WHERE version = $1", {version}));
  if (rows.empty())
    return Error::not_found("policy version " + std::to_string(version) + " not found");
  CUSTODY_TRY(tx.exec("UPDATE pdp_state SET policy_version = $1, updated_at = $2 WHERE id = 1",
                      {version, now}));
  return ok_status();
}

Result<std::vector<PolicyVersionInfo>> list_policy_versions(store::Tx& tx, int limit,
                                                            std::optional<std::int64_t> before) {
  std::string sql = std::string("SELECT ") + kPolicyColumns + " FROM policy_versions";
  std::vector<store::Value> params;
  if (before) {
    sql += " WHERE version < $2";
  }
  sql += " ORDER BY version DESC LIMIT $1";
  params.emplace_back(std::int64_t{limit});
  if (before) params.emplace_back(*before);
  CUSTODY_ASSIGN(auto rows, tx.query(sql, params));
  std::vector<PolicyVersionInfo> out;
  for (const auto& r : rows) out.push_back(policy_info(r));
  return out;
}

Result<PolicyVersionInfo> get_policy_version(store::Tx& tx, std::int64_t version) {
  CUSTODY_ASSIGN(auto rows, tx.query(std::string("SELECT ") + kPolicyColumns +
                                         " FROM policy_versions WHERE version = $1",
                                     {version}));
  if (rows.empty())
    return Error::not_found("policy version " + std::to_string(version) + " not found");
  return policy_info(rows[0]);
}

Result<BundleSource> get_policy_bundle(store::Tx& tx, std::int64_t version) {
  CUSTODY_ASSIGN(auto rows,
                 tx.query("SELECT bundle FROM policy_versions WHERE version = $1", {version}));
  if (rows.empty())
    return Error::not_found("policy version " + std::to_string(version) + " not found");
  auto json = nlohmann::json::parse(rows[0].text(0), nullptr, false);
  if (json.is_discarded())
    return Error::internal("policy version " + std::to_string(version) + " is not valid JSON");
  return bundle_from_json(json);
}

Result<EntitiesVersionInfo> insert_entities_version(store::Tx& tx, const std::string& entities,
                                                    std::int64_t entity_count,
                                                    const std::string& created_by, Micros now) {
  CUSTODY_ASSIGN(auto version, next_version(tx, "entity_versions"));
  EntitiesVersionInfo info{version, hex_encode(crypto::sha256(entities)), entity_count, created_by,
                           now};
  CUSTODY_TRY(
      tx.exec("INSERT INTO entity_versions (version, entities, digest, entity_count, created_by, "
              "created_at) VALUES ($1, $2, $3, $4, $5, $6)",
              {version, entities, info.digest, entity_count, created_by, now}));
  CUSTODY_TRY(tx.exec("UPDATE pdp_state SET entities_version = $1, updated_at = $2 WHERE id = 1",
                      {version, now}));
  return info;
}

Result<EntitiesVersionInfo> get_entities_version(store::Tx& tx, std::int64_t version) {
  CUSTODY_ASSIGN(auto rows, tx.query(std::string("SELECT ") + kEntitiesColumns +
                                         " FROM entity_versions WHERE version = $1",
                                     {version}));
  if (rows.empty())
    return Error::not_found("entities version " + std::to_string(version) + " not found");
  return entities_info(rows[0]);
}

Result<std::string> get_entities_text(store::Tx& tx, std::int64_t version) {
  CUSTODY_ASSIGN(auto rows,
                 tx.query("SELECT entities FROM entity_versions WHERE version = $1", {version}));
  if (rows.empty())
    return Error::not_found("entities version " + std::to_string(version) + " not found");
  return rows[0].text(0);
}

nlohmann::json to_json(const PolicyVersionInfo& info, bool active) {
  nlohmann::json j = {{"version", info.version},
                      {"digest", info.digest},
                      {"policy_count", info.policy_count},
                      {"has_schema", info.has_schema},
                      {"created_by", info.created_by},
                      {"created_at", format_rfc3339(info.created_at)},
                      {"active", active}};
  if (!info.description.empty()) j["description"] = info.description;
  return j;
}

nlohmann::json to_json(const EntitiesVersionInfo& info, bool active) {
  return {{"version", info.version},
          {"digest", info.digest},
          {"entity_count", info.entity_count},
          {"created_by", info.created_by},
          {"created_at", format_rfc3339(info.created_at)},
          {"active", active}};
}

}  // namespace custody::policy
