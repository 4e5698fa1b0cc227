#include "directory/access.h"

#include "audit/events.h"
#include "common/ids.h"
#include "directory/identity_rows.h"

namespace custody::directory::access {

Status require_write(const OpContext& ctx) {
  if (!ctx.who.can_write()) return Error::denied("auditor tokens are read-only");
  return ok_status();
}

Status require_admin(const OpContext& ctx) {
  CUSTODY_TRY(require_write(ctx));
  if (ctx.who.role != Role::kAdmin && ctx.who.token_id != "system")
    return Error::denied("only admin tokens may manage admin tokens");
  return ok_status();
}

bool can_read(const Principal& who, const Identity& identity) {
  if (who.role != Role::kOwner) return true;
  if (!who.human_id) return false;
  return identity.id == *who.human_id || identity.owner_id == who.human_id;
}

bool can_manage(const Principal& who, const Identity& identity) {
  if (who.role == Role::kAuditor) return false;
  if (who.role != Role::kOwner) return true;
  return who.human_id && identity.owner_id == who.human_id;
}

Error not_found(std::string_view what, std::string_view id) {
  if (looks_like_id(id))
    return Error::not_found(std::string(what) + " " + std::string(id) + " not found");
  return Error::not_found(std::string(what) + " not found");
}

Result<Identity> readable_identity(store::Tx& tx, const OpContext& ctx, std::string_view id) {
  CUSTODY_ASSIGN(std::optional<Identity> found, rows::find_identity(tx, id));
  if (!found || !can_read(ctx.who, *found)) return not_found("identity", id);
  return std::move(*found);
}

Result<Identity> manageable_identity(store::Tx& tx, const OpContext& ctx, std::string_view id) {
  CUSTODY_TRY(require_write(ctx));
  CUSTODY_ASSIGN(Identity identity, readable_identity(tx, ctx, id));
  if (!can_manage(ctx.who, identity))
    return Error::denied("owner tokens may manage only the identities they own");
  return identity;
}

Status record(store::Tx& tx, const OpContext& ctx, std::string action, std::string target,
              nlohmann::json details) {
  audit::Event event;
  event.time = ctx.now;
  event.actor = ctx.who.actor();
  event.action = std::move(action);
  event.target = std::move(target);
  event.outcome = "success";
  event.request_id = ctx.request_id;
  event.details = std::move(details);
  return audit::append(tx, event);
}

}  // namespace custody::directory::access
