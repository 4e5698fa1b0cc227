#include "directory/identity_rows.h"

#include <nlohmann/json.hpp>
#include <string>

namespace custody::directory::rows {

std::string labels_text(const std::map<std::string, std::string>& labels) {
  // Labels are validated UTF-8; replace() only guards against a future caller that skips that.
  return nlohmann::json(labels).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

Result<std::map<std::string, std::string>> parse_labels(const std::string& text) {
  // What labels_text() stores for none, i.e. for most identities: no parse needed.
  if (text == "{}") return std::map<std::string, std::string>();
  try {
    auto j = nlohmann::json::parse(text);
    if (!j.is_object()) return Error::internal("stored labels are not a JSON object");
    std::map<std::string, std::string> out;
    for (const auto& [k, v] : j.items()) {
      if (!v.is_string()) return Error::internal("stored label value is not a string");
      out.emplace(k, v.get<std::string>());
    }
    return out;
  } catch (const nlohmann::json::exception&) {
    return Error::internal("stored labels are not valid JSON");
  }
}

Result<Identity> identity_from_row(const store::Row& row) {
  Identity out;
  out.id = row.text(0);
  auto kind = parse_kind(row.text(1));
  if (!kind) return Error::internal("identity " + out.id + " has an unknown kind");
  out.kind = *kind;
  out.display_name = row.text(2);
  out.description = row.text(3);
  CUSTODY_ASSIGN(out.labels, parse_labels(row.text(4)));
  out.owner_id = row.opt_text(5);
  auto state = parse_state(row.text(6));
  if (!state) return Error::internal("identity " + out.id + " has an unknown state");
  out.state = *state;
  out.version = row.integer(7);
  out.created_at = row.integer(8);
  out.updated_at = row.integer(9);
  return out;
}

Result<std::optional<Identity>> find_identity(store::Tx& tx, std::string_view id) {
  const std::string sql =
      "SELECT " + std::string(kIdentityColumns) + " FROM identities WHERE id = $1";
  CUSTODY_ASSIGN(store::Rows found, tx.query(sql, {std::string(id)}));
  if (found.empty()) return std::optional<Identity>();
  CUSTODY_ASSIGN(Identity identity, identity_from_row(found[0]));
  return std::optional<Identity>(std::move(identity));
}

Result<std::optional<IdentityFacts>> find_identity_facts(store::Tx& tx, std::string_view id) {
  // CASE … THEN 1 ELSE 0: integers on both SQLite and PostgreSQL (whose EXISTS is a boolean).
  static const std::string sql =
      "SELECT i.id, i.kind, i.display_name, i.description, i.labels, i.owner_id, i.state, "
      "i.version, i.created_at, i.updated_at, "
      "CASE WHEN EXISTS (SELECT 1 FROM device_identities d WHERE d.identity_id = i.id) THEN 1 "
      "ELSE 0 END, "
      "CASE WHEN f.identity_id IS NULL THEN 0 ELSE 1 END, "
      "CASE WHEN f.drifted_hash IS NULL THEN 0 ELSE 1 END "
      "FROM identities i LEFT JOIN discovery_findings f ON f.identity_id = i.id WHERE i.id = $1";
  CUSTODY_ASSIGN(store::Rows found, tx.query_tracked(sql, {std::string(id)}));
  if (found.empty()) return std::optional<IdentityFacts>();
  IdentityFacts facts;
  CUSTODY_ASSIGN(facts.identity, identity_from_row(found[0]));
  facts.device_bound = found[0].integer(10) != 0;
  facts.discovered = found[0].integer(11) != 0;
  facts.drifted = found[0].integer(12) != 0;
  return std::optional<IdentityFacts>(std::move(facts));
}

Status insert_identity(store::Tx& tx, const Identity& identity) {
  CUSTODY_TRY(tx.exec(
      "INSERT INTO identities (id, kind, display_name, description, labels, owner_id, state, "
      "version, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
      {identity.id, std::string(kind_name(identity.kind)), identity.display_name,
       identity.description, labels_text(identity.labels), store::opt(identity.owner_id),
       std::string(state_name(identity.state)), identity.version, identity.created_at,
       identity.updated_at}));
  return write_labels(tx, identity);
}

Status update_identity_row(store::Tx& tx, const Identity& identity, std::int64_t previous_version) {
  CUSTODY_ASSIGN(std::int64_t changed,
                 tx.exec("UPDATE identities SET display_name = $2, description = $3, labels = $4, "
                         "owner_id = $5, state = $6, version = $7, updated_at = $8 "
                         "WHERE id = $1 AND version = $9",
                         {identity.id, identity.display_name, identity.description,
                          labels_text(identity.labels), store::opt(identity.owner_id),
                          std::string(state_name(identity.state)), identity.version,
                          identity.updated_at, previous_version}));
  if (changed != 1) {
    return Error{Code::kPreconditionFailed, "identity " + identity.id + " changed concurrently",
                 "If-Match"};
  }
  return ok_status();
}

Status write_labels(store::Tx& tx, const Identity& identity) {
  CUSTODY_TRY(tx.exec("DELETE FROM identity_labels WHERE identity_id = $1", {identity.id}));
  for (const auto& [key, value] : identity.labels) {
    CUSTODY_TRY(tx.exec("INSERT INTO identity_labels (identity_id, key, value) VALUES ($1, $2, $3)",
                        {identity.id, key, value}));
  }
  return ok_status();
}

}  // namespace custody::directory::rows
