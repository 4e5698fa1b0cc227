#include "device/enrolment.h"

#include "audit/events.h"
#include "common/ids.h"
#include "crypto/jose_encoding.h"
#include "directory/access.h"
#include "directory/identity_rows.h"

namespace custody::device {
namespace {

// The owner must be an active human that the principal may act for.
Status check_owner(store::Tx& tx, const directory::OpContext& ctx, const std::string& owner) {
  if (!ctx.who.can_write()) return Error::denied("an auditor token cannot enrol devices");
  if (ctx.who.role == directory::Role::kOwner && ctx.who.human_id != owner)
    return Error::denied("an owner token enrols devices for its own human only");
  CUSTODY_ASSIGN(auto found, directory::rows::find_identity(tx, owner));
  if (!found || found->kind != directory::Kind::kHuman)
    return Error::unprocessable(
        "owner " + crypto::quote_untrusted(owner) + " is not a registered human", "owner");
  if (found->state != directory::State::kActive)
    return Error::unprocessable(
        "owner " + owner + " is " + std::string(directory::state_name(found->state)), "owner");
  return ok_status();
}

}  // namespace

Result<EnrolmentToken> create_enrolment_token(store::Tx& tx, const directory::OpContext& ctx,
                                              const NewEnrolmentToken& in,
                                              const crypto::SecretHasher& hasher) {
  CUSTODY_TRY(check_owner(tx, ctx, in.owner));
  if (in.device_id) {
    CUSTODY_ASSIGN(auto d, find_device(tx, *in.device_id));
    if (!d) return directory::access::not_found("device", *in.device_id);
    if (d->revoked)
      return Error::unprocessable("device " + d->id + " is revoked; enrol a new device", "device");
    if (d->owner_id != in.owner)
      return Error::unprocessable("device " + d->id + " belongs to " + d->owner_id, "device");
  }
  EnrolmentToken t;
  t.id = new_id("det", ctx.now);
  t.value = crypto::new_secret("cdet_");
  t.owner = in.owner;
  t.device_id = in.device_id;
  t.expires_at = ctx.now + in.ttl;
  CUSTODY_TRY(tx.exec(
      "INSERT INTO device_enrolment_tokens (id, token_hash, owner_id, device_id, created_by, "
      "created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
      {t.id, hasher.hash_hex(t.value), t.owner, store::opt(t.device_id), ctx.who.actor(), ctx.now,
       t.expires_at}));
  nlohmann::json details = {{"owner", t.owner}, {"expires_at", format_rfc3339(t.expires_at)}};
  if (t.device_id) details["device"] = *t.device_id;
  CUSTODY_TRY(directory::access::record(tx, ctx, "device.enrolment_token.create", t.id, details));
  return t;
}

Result<Enrolled> enrol(store::Tx& tx, const EnrolmentProof& proof,
                       const crypto::SecretHasher& hasher, const std::string& request_id,
                       Micros now) {
  std::string value = proof.claims["enrolment_token"].get<std::string>();
  CUSTODY_ASSIGN(auto rows, tx.query("SELECT id, owner_id, device_id, expires_at, used_at FROM "
                                     "device_enrolment_tokens WHERE token_hash = $1",
                                     {hasher.hash_hex(value)}));
  if (rows.empty()) return Error::unauthenticated("the enrolment token is not valid");
  const auto& row = rows[0];
  std::string token_id = row.text(0);
  if (row.opt_integer(4)) return Error::unauthenticated("the enrolment token was already used");
  if (row.integer(3) <= now) return Error::unauthenticated("the enrolment token has expired");
  std::string owner = row.text(1);
  auto owner_row = directory::rows::find_identity(tx, owner);
  if (!owner_row.ok()) return owner_row.error();
  if (!*owner_row || (*owner_row)->state != directory::State::kActive)
    return Error::unprocessable("the owner " + owner + " of the enrolment token is not active",
                                "owner");

  Enrolled out;
  Device& d = out.device;
  d.public_jwk = proof.key.public_json();
  d.key_thumbprint = proof.key.thumbprint();
  d.hostname = proof.claims["hostname"].get<std::string>();
  d.platform = proof.claims["platform"].get<std::string>();
  CUSTODY_ASSIGN(auto same_key,
                 tx.query("SELECT id FROM devices WHERE key_thumbprint = $1", {d.key_thumbprint}));
  if (!same_key.empty())
    return Error::conflict("this key is already enrolled as device " + same_key[0].text(0), "key");
  if (auto reenrol = row.opt_text(2)) {
    CUSTODY_ASSIGN(auto existing, find_device(tx, *reenrol));
    if (!existing || existing->revoked)
      return Error::unprocessable("device " + *reenrol + " is revoked or gone", "device");
    d.id = existing->id;
    d.owner_id = existing->owner_id;
    d.enrolled_at = existing->enrolled_at;
    CUSTODY_TRY(replace_key(tx, d, now));
    CUSTODY_ASSIGN(auto fresh, find_device(tx, d.id));
    d = std::move(*fresh);
    out.reenrolled = true;
  } else {
    d.id = new_id("dev", now);
    d.owner_id = owner;
    d.trust = Trust::kUnknown;
    d.trust_reasons = {"no posture report yet"};
    d.trust_changed_at = now;
    d.enrolled_at = now;
    CUSTODY_TRY(insert_device(tx, d));
  }
  CUSTODY_TRY(
      tx.exec("UPDATE device_enrolment_tokens SET used_at = $2, used_by_device = $3 "
              "WHERE id = $1",
              {token_id, now, d.id}));
  audit::Event event;
  event.time = now;
  event.actor = d.id;
  event.action = "device.enrol";
  event.target = d.id;
  event.outcome = "success";
  event.request_id = request_id;
  event.details = {{"owner", d.owner_id},         {"hostname", d.hostname},
                   {"platform", d.platform},      {"key_thumbprint", d.key_thumbprint},
                   {"enrolment_token", token_id}, {"reenrolled", out.reenrolled}};
  CUSTODY_TRY(audit::append(tx, event));
  return out;
}

}  // namespace custody::device
