// Credential operations. See credentials.h; public JWK checks in jwk.h.
#include "directory/credentials.h"

#include "common/ids.h"
#include "directory/access.h"
#include "directory/jwk.h"
#include "directory/validation.h"

namespace custody::directory {
namespace {

using nlohmann::json;

constexpr std::size_t kMaxDescription = 2000;
constexpr std::int64_t kMinMaxAgeSeconds = 60;
constexpr std::string_view kColumns =
    "id, identity_id, type, secret_hash, public_jwk, jwk_thumbprint, description, created_by, "
    "created_at, expires_at, revoked_at";

Result<Credential> from_row(const store::Row& row) {
  Credential c;
  c.id = row.text(0);
  c.identity_id = row.text(1);
  auto type = parse_credential_type(row.text(2));
  if (!type) return Error::internal("credential " + c.id + " has an unknown type");
  c.type = *type;
  c.secret_hash = row.opt_text(3);
  c.public_jwk = row.opt_text(4);
  c.jwk_thumbprint = row.opt_text(5);
  c.description = row.text(6);
  c.created_by = row.text(7);
  c.created_at = row.integer(8);
  c.expires_at = row.integer(9);
  c.revoked_at = row.opt_integer(10);
  return c;
}

Result<std::vector<Credential>> from_rows(const store::Rows& found) {
  std::vector<Credential> out;
  out.reserve(found.size());
  for (const auto& row : found) {
    CUSTODY_ASSIGN(Credential c, from_row(row));
    out.push_back(std::move(c));
  }
  return out;
}

// The credentials of one type of an identity in force at `now`, by id. Expiry is checked on the
// rows, not in the SQL, so that the statement is the same at every `now` and its rows can come
// from the store's cache (store/tracked_cache.h).
Result<std::vector<Credential>> in_force(store::Tx& tx, std::string_view identity_id,
                                         CredentialType type, Micros now) {
  static const std::string sql = "SELECT " + std::string(kColumns) +
                                 " FROM credentials WHERE identity_id = $1 AND type = $2 AND "
                                 "revoked_at IS NULL ORDER BY id";
  CUSTODY_ASSIGN(
      store::Rows found,
      tx.query_tracked(sql, {std::string(identity_id), std::string(credential_type_name(type))}));
  CUSTODY_ASSIGN(std::vector<Credential> all, from_rows(found));
  std::erase_if(all, [&](const Credential& c) { return !c.active_at(now); });
  return all;
}

Status check_max_age(std::int64_t seconds, const CredentialPolicy& policy) {
  if (seconds < kMinMaxAgeSeconds || seconds > policy.max_age_seconds) {
    return Error::invalid("max_age_seconds must be " + std::to_string(kMinMaxAgeSeconds) + " to " +
                              std::to_string(policy.max_age_seconds),
                          "max_age_seconds");
  }
  return ok_status();
}

// The same key registered twice on one identity would only blur which credential was used.
Status refuse_duplicate_key(store::Tx& tx, const std::string& identity_id,
                            const std::string& thumbprint, Micros now) {
  CUSTODY_ASSIGN(store::Rows found,
                 tx.query("SELECT id FROM credentials WHERE identity_id = $1 AND "
                          "jwk_thumbprint = $2 AND revoked_at IS NULL AND expires_at > $3",
                          {identity_id, thumbprint, now}));
  if (!found.empty()) {
    return Error::conflict("this key is already registered as " + found[0].text(0), "public_jwk");
  }
  return ok_status();
}

}  // namespace

Result<CreatedCredential> create_credential(store::Tx& tx, const OpContext& ctx,
                                            std::string_view identity_id,
                                            const NewCredential& input,
                                            const crypto::SecretHasher& hasher,
                                            const CredentialPolicy& policy) {
  CUSTODY_ASSIGN(Identity identity, access::manageable_identity(tx, ctx, identity_id));
  if (identity.kind == Kind::kHuman)
    return Error::unprocessable("human identities do not hold credentials");
  if (identity.state == State::kRetired)
    return Error::conflict("identity " + identity.id + " is retired", "state");
  CUSTODY_TRY(validation::check_text(input.description, 0, kMaxDescription, "description"));
  const std::int64_t max_age = input.max_age_seconds.value_or(policy.max_age_seconds);
  CUSTODY_TRY(check_max_age(max_age, policy));

  CreatedCredential out;
  Credential& c = out.credential;
  c.id = new_id("crd", ctx.now);
  c.identity_id = identity.id;
  c.type = input.type;
  c.description = input.description;
  c.created_by = ctx.who.actor();
  c.created_at = ctx.now;
  c.expires_at = ctx.now + max_age * kMicrosPerSecond;
  json details = {{"identity_id", c.identity_id},
                  {"type", credential_type_name(c.type)},
                  {"expires_at", format_rfc3339(c.expires_at)}};

  if (c.type == CredentialType::kClientSecret) {
    if (input.public_jwk)
      return Error::invalid("public_jwk is only for credentials of type jwk", "public_jwk");
    out.secret = crypto::new_secret("cs_");
    c.secret_hash = hasher.hash_hex(*out.secret);
  } else {
    if (!input.public_jwk)
      return Error::invalid("public_jwk is required for credentials of type jwk", "public_jwk");
    CUSTODY_ASSIGN(jwk::PublicJwk key, jwk::parse_public(*input.public_jwk));
    CUSTODY_TRY(refuse_duplicate_key(tx, c.identity_id, key.thumbprint, ctx.now));
    c.public_jwk = key.key.dump();
    c.jwk_thumbprint = key.thumbprint;
    details["jwk_thumbprint"] = key.thumbprint;
  }

  CUSTODY_TRY(tx.exec(
      "INSERT INTO credentials (id, identity_id, type, secret_hash, public_jwk, jwk_thumbprint, "
      "description, created_by, created_at, expires_at) "
      "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
      {c.id, c.identity_id, std::string(credential_type_name(c.type)), store::opt(c.secret_hash),
       store::opt(c.public_jwk), store::opt(c.jwk_thumbprint), c.description, c.created_by,
       c.created_at, c.expires_at}));
  CUSTODY_TRY(access::record(tx, ctx, "credential.create", c.id, std::move(details)));
  return out;
}

Result<std::vector<Credential>> list_credentials(store::Tx& tx, const OpContext& ctx,
                                                 std::string_view identity_id) {
  CUSTODY_ASSIGN(Identity identity, access::readable_identity(tx, ctx, identity_id));
  CUSTODY_ASSIGN(store::Rows found, tx.query("SELECT " + std::string(kColumns) +
                                                 " FROM credentials WHERE identity_id = $1 "
                                                 "ORDER BY created_at DESC, id DESC",
                                             {identity.id}));
  return from_rows(found);
}

Result<Credential> revoke_credential(store::Tx& tx, const OpContext& ctx, std::string_view id) {
  CUSTODY_TRY(access::require_write(ctx));
  CUSTODY_ASSIGN(store::Rows found,
                 tx.query("SELECT " + std::string(kColumns) + " FROM credentials WHERE id = $1",
                          {std::string(id)}));
  if (found.empty()) return access::not_found("credential", id);
  CUSTODY_ASSIGN(Credential c, from_row(found[0]));
  // To whoever may not read the identity, its credentials do not exist either.
  auto identity = access::readable_identity(tx, ctx, c.identity_id);
  if (!identity.ok()) {
    if (identity.error().code == Code::kNotFound) return access::not_found("credential", id);
    return identity.error();
  }
  CUSTODY_TRY(access::manageable_identity(tx, ctx, c.identity_id));
  if (c.revoked_at) return c;  // idempotent: already revoked, nothing changes, no event
  c.revoked_at = ctx.now;
  CUSTODY_TRY(tx.exec("UPDATE credentials SET revoked_at = $2 WHERE id = $1", {c.id, ctx.now}));
  CUSTODY_TRY(
      access::record(tx, ctx, "credential.revoke", c.id,
                     {{"identity_id", c.identity_id}, {"type", credential_type_name(c.type)}}));
  return c;
}

Result<Credential> verify_client_secret(store::Tx& tx, std::string_view identity_id,
                                        std::string_view secret, const crypto::SecretHasher& hasher,
                                        Micros now) {
  const Error refused = Error::unauthenticated("invalid client credentials");
  if (secret.empty()) return refused;
  CUSTODY_ASSIGN(auto found, in_force(tx, identity_id, CredentialType::kClientSecret, now));
  // Hash once, then compare against every candidate without stopping early, so the time taken
  // does not tell which (if any) credential matched.
  const std::string presented = hasher.hash_hex(secret);
  std::optional<std::size_t> match;
  for (std::size_t i = 0; i < found.size(); ++i) {
    if (!found[i].secret_hash) continue;
    if (crypto::constant_time_equal(presented, *found[i].secret_hash) && !match) match = i;
  }
  if (!match) return refused;
  return std::move(found[*match]);
}

Result<std::vector<Credential>> active_jwk_credentials(store::Tx& tx, std::string_view identity_id,
                                                       Micros now) {
  return in_force(tx, identity_id, CredentialType::kJwk, now);
}

Result<std::string> jwk_thumbprint(const nlohmann::json& public_jwk) {
  CUSTODY_ASSIGN(jwk::PublicJwk key, jwk::parse_public(public_jwk));
  return key.thumbprint;
}

}  // namespace custody::directory
