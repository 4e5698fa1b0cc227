#include "device/device.h"

#include <algorithm>

namespace custody::device {
namespace {

constexpr std::string_view kColumns =
    "id, owner_id, hostname, platform, public_jwk, key_thumbprint, state, trust, trust_reasons, "
    "trust_changed_at, posture, posture_collected_at, posture_received_at, enrolled_at, "
    "revoked_at, revoked_by, revocation_reason";

nlohmann::json parse_or(const std::string& text, nlohmann::json fallback) {
  auto j = nlohmann::json::parse(text, nullptr, false);
  return j.is_discarded() ? fallback : j;
}

Result<Device> from_row(const store::Row& row) {
  Device d;
  d.id = row.text(0);
  d.owner_id = row.text(1);
  d.hostname = row.text(2);
  d.platform = row.text(3);
  d.public_jwk = parse_or(row.text(4), nlohmann::json::object());
  d.key_thumbprint = row.text(5);
  d.revoked = row.text(6) == "revoked";
  auto trust = parse_trust(row.text(7));
  if (!trust) return Error::internal("device " + d.id + ": unknown trust " + row.text(7));
  d.trust = *trust;
  for (const auto& r : parse_or(row.text(8), nlohmann::json::array()))
    if (r.is_string()) d.trust_reasons.push_back(r.get<std::string>());
  d.trust_changed_at = row.integer(9);
  if (auto p = row.opt_text(10)) d.posture = parse_or(*p, nullptr);
  d.posture_collected_at = row.opt_integer(11);
  d.posture_received_at = row.opt_integer(12);
  d.enrolled_at = row.integer(13);
  d.revoked_at = row.opt_integer(14);
  d.revoked_by = row.opt_text(15);
  d.revocation_reason = row.opt_text(16);
  return d;
}

Result<std::vector<Device>> from_rows(const store::Rows& rows) {
  std::vector<Device> out;
  for (const auto& row : rows) {
    CUSTODY_ASSIGN(auto d, from_row(row));
    out.push_back(std::move(d));
  }
  return out;
}

std::string reasons_text(const std::vector<std::string>& reasons) {
  return nlohmann::json(reasons).dump();
}

}  // namespace

std::string_view trust_name(Trust trust) {
  switch (trust) {
    case Trust::kTrusted:
      return "trusted";
    case Trust::kDegraded:
      return "degraded";
    case Trust::kUntrusted:
      return "untrusted";
    case Trust::kUnknown:
      return "unknown";
  }
  return "unknown";
}

std::optional<Trust> parse_trust(std::string_view name) {
  for (Trust t : {Trust::kTrusted, Trust::kDegraded, Trust::kUntrusted, Trust::kUnknown})
    if (trust_name(t) == name) return t;
  return std::nullopt;
}

Status insert_device(store::Tx& tx, const Device& d) {
  CUSTODY_TRY(
      tx.exec("INSERT INTO devices (" + std::string(kColumns) +
                  ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, NULL, NULL, NULL, "
                  "$11, NULL, NULL, NULL)",
              {d.id, d.owner_id, d.hostname, d.platform, d.public_jwk.dump(), d.key_thumbprint,
               std::string(d.revoked ? "revoked" : "active"), std::string(trust_name(d.trust)),
               reasons_text(d.trust_reasons), d.trust_changed_at, d.enrolled_at}));
  return ok_status();
}

Result<std::optional<Device>> find_device(store::Tx& tx, std::string_view id) {
  CUSTODY_ASSIGN(auto rows,
                 tx.query("SELECT " + std::string(kColumns) + " FROM devices WHERE id = $1",
                          {std::string(id)}));
  if (rows.empty()) return std::optional<Device>();
  CUSTODY_ASSIGN(auto d, from_row(rows[0]));
  return std::optional<Device>(std::move(d));
}

Result<std::vector<Device>> list_devices(store::Tx& tx, const DeviceFilter& f) {
  std::string sql = "SELECT " + std::string(kColumns) + " FROM devices WHERE 1 = 1";
  std::vector<store::Value> params;
  auto bind = [&](std::string value) {
    params.emplace_back(std::move(value));
    return "$" + std::to_string(params.size());
  };
  if (f.owner) sql += " AND owner_id = " + bind(*f.owner);
  if (f.trust) sql += " AND trust = " + bind(std::string(trust_name(*f.trust)));
  if (f.revoked) sql += " AND state = " + bind(*f.revoked ? "revoked" : "active");
  if (f.after_id) sql += " AND id > " + bind(*f.after_id);
  sql += " ORDER BY id LIMIT " + std::to_string(std::clamp(f.limit, 1, 1000));
  CUSTODY_ASSIGN(auto rows, tx.query(sql, params));
  return from_rows(rows);
}

Status replace_key(store::Tx& tx, const Device& d, Micros now) {
  CUSTODY_TRY(tx.exec(
      "UPDATE devices SET public_jwk = $2, key_thumbprint = $3, hostname = $4, platform = $5, "
      "trust = 'unknown', trust_reasons = $6, trust_changed_at = $7, posture = NULL, "
      "posture_collected_at = NULL, posture_received_at = NULL WHERE id = $1",
      {d.id, d.public_jwk.dump(), d.key_thumbprint, d.hostname, d.platform,
       reasons_text({"re-enrolled: no posture report yet"}), now}));
  return ok_status();
}

Status store_posture(store::Tx& tx, std::string_view id, const nlohmann::json& posture,
                     Micros collected_at, Micros received_at, Trust trust,
                     const std::vector<std::string>& reasons, Micros now) {
  CUSTODY_TRY(tx.exec(
      "UPDATE devices SET posture = $2, posture_collected_at = $3, posture_received_at = $4, "
      "trust_changed_at = CASE WHEN trust = $5 THEN trust_changed_at ELSE $7 END, trust = $5, "
      "trust_reasons = $6 WHERE id = $1",
      {std::string(id), posture.dump(), collected_at, received_at, std::string(trust_name(trust)),
       reasons_text(reasons), now}));
  return ok_status();
}

Status set_trust(store::Tx& tx, std::string_view id, Trust trust,
                 const std::vector<std::string>& reasons, Micros now) {
  CUSTODY_TRY(tx.exec(
      "UPDATE devices SET trust_changed_at = CASE WHEN trust = $2 THEN trust_changed_at ELSE $4 "
      "END, trust = $2, trust_reasons = $3 WHERE id = $1",
      {std::string(id), std::string(trust_name(trust)), reasons_text(reasons), now}));
  return ok_status();
}

Status mark_revoked(store::Tx& tx, std::string_view id, Micros now, const std::string& by,
                    const std::string& reason) {
  CUSTODY_TRY(
      tx.exec("UPDATE devices SET state = 'revoked', revoked_at = $2, revoked_by = $3, "
              "revocation_reason = $4, trust = 'untrusted', trust_reasons = $5, "
              "trust_changed_at = $2 WHERE id = $1",
              {std::string(id), now, by, reason, reasons_text({"device revoked: " + reason})}));
  return ok_status();
}

Result<std::vector<Device>> stale_devices(store::Tx& tx, Micros cutoff, int limit) {
  CUSTODY_ASSIGN(auto rows,
                 tx.query("SELECT " + std::string(kColumns) +
                              " FROM devices WHERE state = 'active' AND trust <> 'untrusted' AND "
                              "COALESCE(posture_received_at, enrolled_at) < $1 ORDER BY id LIMIT " +
                              std::to_string(limit),
                          {cutoff}));
  return from_rows(rows);
}

nlohmann::json to_json(const Device& d, Micros now) {
  nlohmann::json j = {{"id", d.id},
                      {"owner", d.owner_id},
                      {"hostname", d.hostname},
                      {"platform", d.platform},
                      {"public_jwk", d.public_jwk},
                      {"key_thumbprint", d.key_thumbprint},
                      {"state", d.revoked ? "revoked" : "active"},
                      {"trust", trust_name(d.trust)},
                      {"trust_reasons", d.trust_reasons},
                      {"trust_changed_at", format_rfc3339(d.trust_changed_at)},
                      {"enrolled_at", format_rfc3339(d.enrolled_at)},
                      {"posture", d.posture}};
  if (d.posture_collected_at) j["posture_collected_at"] = format_rfc3339(*d.posture_collected_at);
  if (d.posture_received_at) {
    j["posture_received_at"] = format_rfc3339(*d.posture_received_at);
    j["posture_age_seconds"] = (now - *d.posture_received_at) / kMicrosPerSecond;
  }
  if (d.revoked_at) j["revoked_at"] = format_rfc3339(*d.revoked_at);
  if (d.revoked_by) j["revoked_by"] = *d.revoked_by;
  if (d.revocation_reason) j["revocation_reason"] = *d.revocation_reason;
  return j;
}

}  // namespace custody::device
