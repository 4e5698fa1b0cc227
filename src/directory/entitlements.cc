// Entitlement operations. See entitlements.h.
#include "directory/entitlements.h"

#include <nlohmann/json.hpp>

#include "common/ids.h"
#include "directory/access.h"
#include "directory/validation.h"

namespace custody::directory {
namespace {

using nlohmann::json;

constexpr std::size_t kMaxJustification = 2000;
constexpr std::string_view kColumns =
    "id, identity_id, scope, resource, tools, expires_at, granted_by, justification, created_at, "
    "revoked_at, revoked_by";

Result<Entitlement> from_row(const store::Row& row) {
  Entitlement e;
  e.id = row.text(0);
  e.identity_id = row.text(1);
  e.scope = row.text(2);
  e.resource = row.text(3);
  if (!row.is_null(4)) {
    try {
      e.tools = json::parse(row.text(4)).get<std::vector<std::string>>();
    } catch (const json::exception&) {
      return Error::internal("entitlement " + e.id + " has broken tools JSON");
    }
  }
  e.expires_at = row.opt_integer(5);
  e.granted_by = row.text(6);
  e.justification = row.text(7);
  e.created_at = row.integer(8);
  e.revoked_at = row.opt_integer(9);
  e.revoked_by = row.opt_text(10);
  return e;
}

Result<std::vector<Entitlement>> from_rows(const store::Rows& found) {
  std::vector<Entitlement> out;
  out.reserve(found.size());
  for (const auto& row : found) {
    CUSTODY_ASSIGN(Entitlement e, from_row(row));
    out.push_back(std::move(e));
  }
  return out;
}

Result<std::optional<Entitlement>> find(store::Tx& tx, std::string_view id) {
  CUSTODY_ASSIGN(store::Rows found,
                 tx.query("SELECT " + std::string(kColumns) + " FROM entitlements WHERE id = $1",
                          {std::string(id)}));
  if (found.empty()) return std::optional<Entitlement>();
  CUSTODY_ASSIGN(Entitlement e, from_row(found[0]));
  return std::optional<Entitlement>(std::move(e));
}

// Newest first; with `now`, only those in force at that time.
Result<std::vector<Entitlement>> select_for(store::Tx& tx, std::string_view identity_id,
                                            std::optional<Micros> now) {
  static const std::string all_sql = "SELECT " + std::string(kColumns) +
                                     " FROM entitlements WHERE identity_id = $1 "
                                     "ORDER BY created_at DESC, id DESC";
  // With `now`: expiry is checked on the rows, not in the SQL, so that the statement is the same
  // at every `now` and its rows can come from the store's cache (store/tracked_cache.h).
  static const std::string unrevoked_sql = "SELECT " + std::string(kColumns) +
                                           " FROM entitlements WHERE identity_id = $1 AND "
                                           "revoked_at IS NULL ORDER BY created_at DESC, id DESC";
  if (!now) {
    CUSTODY_ASSIGN(store::Rows found, tx.query(all_sql, {std::string(identity_id)}));
    return from_rows(found);
  }
  CUSTODY_ASSIGN(store::Rows found, tx.query_tracked(unrevoked_sql, {std::string(identity_id)}));
  CUSTODY_ASSIGN(std::vector<Entitlement> all, from_rows(found));
  std::erase_if(all, [&](const Entitlement& e) { return !e.active_at(*now); });
  return all;
}

}  // namespace

Result<Entitlement> grant_entitlement(store::Tx& tx, const OpContext& ctx,
                                      std::string_view identity_id, const NewEntitlement& input) {
  CUSTODY_ASSIGN(Identity identity, access::manageable_identity(tx, ctx, identity_id));
  if (identity.state == State::kRetired)
    return Error::conflict("identity " + identity.id + " is retired", "state");
  CUSTODY_TRY(validation::check_scope(input.scope));
  CUSTODY_TRY(validation::check_resource(input.resource));
  if (input.tools) CUSTODY_TRY(validation::check_tools(*input.tools));
  if (input.expires_at && *input.expires_at <= ctx.now)
    return Error::invalid("expires_at must be in the future", "expires_at");
  CUSTODY_TRY(validation::check_text(input.justification, 1, kMaxJustification, "justification"));

  Entitlement e;
  e.id = new_id("ent", ctx.now);
  e.identity_id = identity.id;
  e.scope = input.scope;
  e.resource = input.resource;
  e.tools = input.tools;
  e.expires_at = input.expires_at;
  e.granted_by = ctx.who.actor();
  e.justification = input.justification;
  e.created_at = ctx.now;
  const store::Value tools =
      e.tools ? store::Value(json(*e.tools).dump()) : store::Value(store::Null{});
  CUSTODY_TRY(tx.exec(
      "INSERT INTO entitlements (id, identity_id, scope, resource, tools, expires_at, granted_by, "
      "justification, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
      {e.id, e.identity_id, e.scope, e.resource, tools, store::opt(e.expires_at), e.granted_by,
       e.justification, e.created_at}));
  CUSTODY_TRY(access::record(
      tx, ctx, "entitlement.grant", e.id,
      {{"identity_id", e.identity_id},
       {"scope", e.scope},
       {"resource", e.resource},
       {"tools", e.tools ? json(*e.tools) : json(nullptr)},
       {"expires_at", e.expires_at ? json(format_rfc3339(*e.expires_at)) : json(nullptr)}}));
  return e;
}

Result<Entitlement> get_entitlement(store::Tx& tx, const OpContext& ctx, std::string_view id) {
  CUSTODY_ASSIGN(std::optional<Entitlement> found, find(tx, id));
  if (!found) return access::not_found("entitlement", id);
  // Someone who may not read the identity may not know its entitlements exist either.
  auto identity = access::readable_identity(tx, ctx, found->identity_id);
  if (!identity.ok()) {
    if (identity.error().code == Code::kNotFound) return access::not_found("entitlement", id);
    return identity.error();
  }
  return std::move(*found);
}

Result<std::vector<Entitlement>> list_entitlements(store::Tx& tx, const OpContext& ctx,
                                                   std::string_view identity_id, bool active_only) {
  CUSTODY_ASSIGN(Identity identity, access::readable_identity(tx, ctx, identity_id));
  return select_for(tx, identity.id, active_only ? std::optional<Micros>(ctx.now) : std::nullopt);
}

Result<Entitlement> revoke_entitlement(store::Tx& tx, const OpContext& ctx, std::string_view id) {
  CUSTODY_TRY(access::require_write(ctx));
  CUSTODY_ASSIGN(Entitlement e, get_entitlement(tx, ctx, id));
  CUSTODY_TRY(access::manageable_identity(tx, ctx, e.identity_id));
  if (e.revoked_at) return e;  // idempotent: already revoked, nothing changes, no event
  e.revoked_at = ctx.now;
  e.revoked_by = ctx.who.actor();
  CUSTODY_TRY(tx.exec("UPDATE entitlements SET revoked_at = $2, revoked_by = $3 WHERE id = $1",
                      {e.id, *e.revoked_at, *e.revoked_by}));
  CUSTODY_TRY(access::record(tx, ctx, "entitlement.revoke", e.id,
                             {{"identity_id", e.identity_id}, {"scope", e.scope}}));
  return e;
}

Result<std::vector<Entitlement>> active_entitlements(store::Tx& tx, std::string_view identity_id,
                                                     Micros now) {
  return select_for(tx, identity_id, now);
}

}  // namespace custody::directory
