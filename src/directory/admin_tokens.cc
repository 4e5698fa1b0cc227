// Admin token operations. See admin_tokens.h.
#include "directory/admin_tokens.h"

#include <nlohmann/json.hpp>

#include "common/ids.h"
#include "directory/access.h"
#include "directory/identity_rows.h"
#include "directory/validation.h"

namespace custody::directory {
namespace {

using nlohmann::json;

constexpr std::size_t kMaxDescription = 2000;
constexpr std::size_t kMinTokenValue = 32;
constexpr std::size_t kMaxTokenValue = 512;
constexpr std::int64_t kMaxTtlSeconds = 10LL * 366 * 24 * 3600;
constexpr std::string_view kColumns =
    "id, role, identity_id, description, created_by, created_at, expires_at, revoked_at";

Result<AdminToken> from_row(const store::Row& row) {
  AdminToken t;
  t.id = row.text(0);
  auto role = parse_role(row.text(1));
  if (!role) return Error::internal("admin token " + t.id + " has an unknown role");
  t.role = *role;
  t.identity_id = row.opt_text(2);
  t.description = row.text(3);
  t.created_by = row.text(4);
  t.created_at = row.integer(5);
  t.expires_at = row.opt_integer(6);
  t.revoked_at = row.opt_integer(7);
  return t;
}

Status require_active_human(store::Tx& tx, const std::string& identity_id) {
  CUSTODY_ASSIGN(std::optional<Identity> human, rows::find_identity(tx, identity_id));
  if (!human || human->kind != Kind::kHuman || human->state != State::kActive) {
    const std::string who = looks_like_id(identity_id) ? identity_id : "identity_id";
    return Error::unprocessable(who + " is not an active human", "identity_id");
  }
  return ok_status();
}

}  // namespace

Result<CreatedAdminToken> create_admin_token(store::Tx& tx, const OpContext& ctx,
                                             const NewAdminToken& input,
                                             const crypto::SecretHasher& hasher) {
  CUSTODY_TRY(access::require_admin(ctx));
  if (input.role == Role::kOwner) {
    if (!input.identity_id)
      return Error::invalid("an owner token needs identity_id (a human)", "identity_id");
    CUSTODY_TRY(require_active_human(tx, *input.identity_id));
  } else if (input.identity_id) {
    return Error::invalid("only owner tokens are bound to an identity", "identity_id");
  }
  CUSTODY_TRY(validation::check_text(input.description, 0, kMaxDescription, "description"));
  if (input.ttl_seconds && (*input.ttl_seconds < 1 || *input.ttl_seconds > kMaxTtlSeconds)) {
    return Error::invalid("ttl_seconds must be 1 to " + std::to_string(kMaxTtlSeconds),
                          "ttl_seconds");
  }
  if (input.token_value) {
    // A bootstrap value from configuration: it must be as hard to guess as a generated one
    // could reasonably be asked to be, and fit in an Authorization header.
    CUSTODY_TRY(
        validation::check_token(*input.token_value, kMinTokenValue, kMaxTokenValue, "token_value"));
  }

  CreatedAdminToken out;
  out.value = input.token_value ? *input.token_value : crypto::new_secret("cst_");
  AdminToken& t = out.token;
  t.id = new_id("tok", ctx.now);
  t.role = input.role;
  t.identity_id = input.identity_id;
  t.description = input.description;
  t.created_by = ctx.who.actor();
  t.created_at = ctx.now;
  if (input.ttl_seconds) t.expires_at = ctx.now + *input.ttl_seconds * kMicrosPerSecond;
  CUSTODY_TRY(tx.exec(
      "INSERT INTO admin_tokens (id, token_hash, role, identity_id, description, created_by, "
      "created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
      {t.id, hasher.hash_hex(out.value), std::string(role_name(t.role)), store::opt(t.identity_id),
       t.description, t.created_by, t.created_at, store::opt(t.expires_at)}));
  CUSTODY_TRY(access::record(
      tx, ctx, "token.create", t.id,
      {{"role", role_name(t.role)},
       {"identity_id", t.identity_id ? json(*t.identity_id) : json(nullptr)},
       {"expires_at", t.expires_at ? json(format_rfc3339(*t.expires_at)) : json(nullptr)}}));
  return out;
}

Result<std::vector<AdminToken>> list_admin_tokens(store::Tx& tx, const OpContext& ctx) {
  // Even the list is admin-only: it tells who can reach the admin API.
  if (ctx.who.role != Role::kAdmin && ctx.who.token_id != "system")
    return Error::denied("only admin tokens may manage admin tokens");
  CUSTODY_ASSIGN(store::Rows found,
                 tx.query("SELECT " + std::string(kColumns) +
                          " FROM admin_tokens ORDER BY created_at DESC, id DESC"));
  std::vector<AdminToken> out;
  out.reserve(found.size());
  for (const auto& row : found) {
    CUSTODY_ASSIGN(AdminToken t, from_row(row));
    out.push_back(std::move(t));
  }
  return out;
}

Result<AdminToken> revoke_admin_token(store::Tx& tx, const OpContext& ctx, std::string_view id) {
  CUSTODY_TRY(access::require_admin(ctx));
  CUSTODY_ASSIGN(store::Rows found,
                 tx.query("SELECT " + std::string(kColumns) + " FROM admin_tokens WHERE id = $1",
                          {std::string(id)}));
  if (found.empty()) return access::not_found("admin token", id);
  CUSTODY_ASSIGN(AdminToken t, from_row(found[0]));
  if (t.revoked_at) return t;  // idempotent: already revoked, nothing changes, no event
  t.revoked_at = ctx.now;
  CUSTODY_TRY(tx.exec("UPDATE admin_tokens SET revoked_at = $2 WHERE id = $1", {t.id, ctx.now}));
  CUSTODY_TRY(access::record(tx, ctx, "token.revoke", t.id, {{"role", role_name(t.role)}}));
  return t;
}

Result<Principal> authenticate_admin_token(store::Tx& tx, std::string_view value,
                                           const crypto::SecretHasher& hasher, Micros now) {
  // One message for every failure, so that a caller learns nothing about which check failed.
  const Error refused = Error::unauthenticated("invalid or expired token");
  if (value.empty() || value.size() > kMaxTokenValue) return refused;
  // The lookup is by keyed hash: the index sees only HMAC outputs, so timing of the match
  // reveals nothing usable about the value.
  auto found =
      tx.query("SELECT " + std::string(kColumns) + " FROM admin_tokens WHERE token_hash = $1",
               {hasher.hash_hex(value)});
  if (!found.ok()) return found.error();  // a store failure is not the caller's fault
  if (found->empty()) return refused;
  auto token = from_row((*found)[0]);
  if (!token.ok()) return token.error();
  if (token->revoked_at || (token->expires_at && *token->expires_at <= now)) return refused;

  Principal principal{.token_id = token->id, .role = token->role, .human_id = std::nullopt};
  if (token->role == Role::kOwner) {
    if (!token->identity_id) return refused;
    auto human = rows::find_identity(tx, *token->identity_id);
    if (!human.ok()) return human.error();
    if (!*human || (*human)->kind != Kind::kHuman || (*human)->state != State::kActive)
      return refused;
    principal.human_id = token->identity_id;
  }
  return principal;
}

Result<std::int64_t> count_admin_tokens(store::Tx& tx) {
  CUSTODY_ASSIGN(store::Rows found, tx.query("SELECT COUNT(*) FROM admin_tokens"));
  if (found.empty()) return Error::internal("COUNT returned no row");
  return found[0].integer(0);
}

}  // namespace custody::directory
