// Identity operations. See identities.h; rights in access.h, rows in identity_rows.h.
#include "directory/identities.h"

#include <nlohmann/json.hpp>

#include "common/encoding.h"
#include "common/ids.h"
#include "directory/access.h"
#include "directory/identity_rows.h"
#include "directory/validation.h"

namespace custody::directory {
namespace {

using nlohmann::json;

constexpr std::size_t kMaxDisplayName = 200;
constexpr std::size_t kMaxDescription = 2000;
constexpr std::size_t kMaxReason = 2000;
// The API applies the configured limits.max_page_size; this only bounds what any caller may ask.
constexpr int kMaxListLimit = 100'000;
constexpr std::size_t kMaxLabelFilters = 64;

// The owner a non-human needs: an existing human in state active (422 otherwise).
Status require_active_human_owner(store::Tx& tx, const std::string& owner_id) {
  CUSTODY_ASSIGN(std::optional<Identity> owner, rows::find_identity(tx, owner_id));
  if (!owner || owner->kind != Kind::kHuman || owner->state != State::kActive) {
    const std::string who = looks_like_id(owner_id) ? "owner " + owner_id : "owner_id";
    return Error::unprocessable(who + " is not an active human", "owner_id");
  }
  return ok_status();
}

Status check_version(const Identity& current, std::optional<std::int64_t> expected) {
  if (expected && *expected != current.version) {
    return Error{Code::kPreconditionFailed,
                 "stale ETag: current version is " + std::to_string(current.version), "If-Match"};
  }
  return ok_status();
}

std::string action_for(State target) {
  switch (target) {
    case State::kActive:
      return "identity.activate";
    case State::kPending:
      return "identity.submit";
    case State::kSuspended:
      return "identity.suspend";
    case State::kRetired:
      return "identity.retire";
    case State::kDiscovered:
      break;
  }
  return "identity.transition";  // unreachable: nothing may move back to discovered
}

json owner_json(const std::optional<std::string>& owner_id) {
  return owner_id ? json(*owner_id) : json(nullptr);
}

// Offboarding: suspends every pending or active identity owned by `human`, each with its own
// event, so that nothing keeps running without an accountable, active human behind it.
Result<std::vector<std::string>> cascade_suspend(store::Tx& tx, const OpContext& ctx,
                                                 const Identity& human) {
  const std::string sql = "SELECT " + std::string(rows::kIdentityColumns) +
                          " FROM identities WHERE owner_id = $1 AND state IN ('pending', "
                          "'active') ORDER BY id";
  CUSTODY_ASSIGN(store::Rows owned, tx.query(sql, {human.id}));
  std::vector<std::string> affected;
  const std::string reason = "owner " + human.id + " " + std::string(state_name(human.state));
  for (const auto& row : owned) {
    CUSTODY_ASSIGN(Identity identity, rows::identity_from_row(row));
    const State from = identity.state;
    identity.state = State::kSuspended;
    identity.version += 1;
    identity.updated_at = ctx.now;
    CUSTODY_TRY(rows::update_identity_row(tx, identity, identity.version - 1));
    CUSTODY_TRY(access::record(tx, ctx, "identity.suspend", identity.id,
                               {{"from", state_name(from)},
                                {"to", state_name(State::kSuspended)},
                                {"reason", reason},
                                {"cascade_from", human.id}}));
    affected.push_back(identity.id);
  }
  return affected;
}

}  // namespace

Result<Identity> create_identity(store::Tx& tx, const OpContext& ctx, const NewIdentity& input) {
  CUSTODY_TRY(access::require_write(ctx));
  std::optional<std::string> owner_id = input.owner_id;
  if (ctx.who.role == Role::kOwner) {
    if (input.kind == Kind::kHuman) return Error::denied("owner tokens may not create humans");
    if (!owner_id) {
      owner_id = ctx.who.human_id;
    } else if (owner_id != ctx.who.human_id) {
      return Error::denied("owner tokens may create only identities they own");
    }
  }

  CUSTODY_TRY(validation::check_name(input.display_name, 1, kMaxDisplayName, "display_name"));
  CUSTODY_TRY(validation::check_text(input.description, 0, kMaxDescription, "description"));
  CUSTODY_TRY(validation::check_labels(input.labels));
  const State state =
      input.state.value_or(input.kind == Kind::kHuman ? State::kActive : State::kPending);
  if (state != State::kDiscovered && state != State::kPending && state != State::kActive)
    return Error::invalid("state must be discovered, pending or active", "state");

  if (input.kind == Kind::kHuman) {
    if (owner_id) return Error::invalid("a human identity has no owner", "owner_id");
  } else {
    if (!owner_id) {
      return Error::unprocessable(std::string(kind_name(input.kind)) + " identities need an owner",
                                  "owner_id");
    }
    CUSTODY_TRY(require_active_human_owner(tx, *owner_id));
  }

  Identity identity;
  identity.id = new_id(id_prefix(input.kind), ctx.now);
  identity.kind = input.kind;
  identity.display_name = input.display_name;
  identity.description = input.description;
  identity.labels = input.labels;
  identity.owner_id = owner_id;
  identity.state = state;
  identity.version = 1;
  identity.created_at = ctx.now;
  identity.updated_at = ctx.now;
  CUSTODY_TRY(rows::insert_identity(tx, identity));
  CUSTODY_TRY(access::record(tx, ctx, "identity.create", identity.id,
                             {{"kind", kind_name(identity.kind)},
                              {"display_name", identity.display_name},
                              {"state", state_name(identity.state)},
                              {"owner_id", owner_json(identity.owner_id)},
                              {"labels", identity.labels}}));
  return identity;
}

Result<Identity> get_identity(store::Tx& tx, const OpContext& ctx, std::string_view id) {
  return access::readable_identity(tx, ctx, id);
}

Result<Page<Identity>> list_identities(store::Tx& tx, const OpContext& ctx,
                                       const IdentityFilter& filter) {
  if (filter.limit < 1 || filter.limit > kMaxListLimit)
    return Error::invalid("limit must be 1 to " + std::to_string(kMaxListLimit), "limit");
  if (filter.labels.size() > kMaxLabelFilters)
    return Error::invalid("at most " + std::to_string(kMaxLabelFilters) + " label filters",
                          "label");

  std::vector<store::Value> params;
  auto param = [&params](store::Value v) {
    params.push_back(std::move(v));
    return "$" + std::to_string(params.size());
  };
  std::string sql =
      "SELECT " + std::string(rows::kIdentityColumns) + " FROM identities i WHERE 1 = 1";
  if (filter.kind) sql += " AND i.kind = " + param(std::string(kind_name(*filter.kind)));
  if (filter.state) sql += " AND i.state = " + param(std::string(state_name(*filter.state)));
  if (filter.owner_id) sql += " AND i.owner_id = " + param(*filter.owner_id);
  for (const auto& [key, value] : filter.labels) {
    const std::string k = param(key);
    const std::string v = param(value);
    sql +=
        " AND EXISTS (SELECT 1 FROM identity_labels l WHERE l.identity_id = i.id AND l.key = " + k +
        " AND l.value = " + v + ")";
  }
  if (filter.cursor) {
    // The cursor is the last id of the previous page; ids sort by creation time.
    auto after = base64url_decode(*filter.cursor);
    if (!after || !kind_of_id(*after)) return Error::invalid("cursor is not valid", "cursor");
    sql += " AND i.id > " + param(*after);
  }
  if (ctx.who.role == Role::kOwner) {
    // Owners see what they own and their own human; a missing human_id matches nothing.
    const std::string h = param(store::opt(ctx.who.human_id));
    sql += " AND (i.owner_id = " + h + " OR i.id = " + h + ")";
  }
  sql += " ORDER BY i.id LIMIT " + param(std::int64_t{filter.limit} + 1);

  CUSTODY_ASSIGN(store::Rows found, tx.query(sql, std::span<const store::Value>(params)));
  Page<Identity> page;
  for (const auto& row : found) {
    if (page.items.size() == static_cast<std::size_t>(filter.limit)) {
      page.next_cursor = base64url_encode(page.items.back().id);
      break;
    }
    CUSTODY_ASSIGN(Identity identity, rows::identity_from_row(row));
    page.items.push_back(std::move(identity));
  }
  return page;
}

Result<Identity> update_identity(store::Tx& tx, const OpContext& ctx, std::string_view id,
                                 const IdentityPatch& patch,
                                 std::optional<std::int64_t> expected_version) {
  CUSTODY_ASSIGN(Identity current, access::manageable_identity(tx, ctx, id));
  CUSTODY_TRY(check_version(current, expected_version));
  // Retired is terminal: a retired identity stays as it was when it left, for the record.
  if (current.state == State::kRetired)
    return Error::conflict("identity " + current.id + " is retired and cannot be changed", "state");

  Identity next = current;
  json changed = json::object();
  if (patch.display_name) {
    CUSTODY_TRY(validation::check_name(*patch.display_name, 1, kMaxDisplayName, "display_name"));
    if (*patch.display_name != current.display_name) {
      next.display_name = *patch.display_name;
      changed["display_name"] = next.display_name;
    }
  }
  if (patch.description) {
    CUSTODY_TRY(validation::check_text(*patch.description, 0, kMaxDescription, "description"));
    if (*patch.description != current.description) {
      next.description = *patch.description;
      changed["description"] = next.description;
    }
  }
  if (patch.labels) {
    CUSTODY_TRY(validation::check_labels(*patch.labels));
    if (*patch.labels != current.labels) {
      next.labels = *patch.labels;
      changed["labels"] = next.labels;
    }
  }
  if (patch.owner_id) {
    if (current.kind == Kind::kHuman)
      return Error::invalid("a human identity has no owner", "owner_id");
    if (patch.owner_id != current.owner_id) {
      CUSTODY_TRY(require_active_human_owner(tx, *patch.owner_id));
      next.owner_id = patch.owner_id;
      changed["owner_id"] = *next.owner_id;
      changed["previous_owner_id"] = owner_json(current.owner_id);
    }
  }
  if (changed.empty()) return current;  // nothing to change: no new version, no event

  next.version = current.version + 1;
  next.updated_at = ctx.now;
  CUSTODY_TRY(rows::update_identity_row(tx, next, current.version));
  if (changed.contains("labels")) CUSTODY_TRY(rows::write_labels(tx, next));
  CUSTODY_TRY(access::record(tx, ctx, "identity.update", next.id, std::move(changed)));
  return next;
}

Result<TransitionResult> transition(store::Tx& tx, const OpContext& ctx, std::string_view id,
                                    State target, std::optional<std::int64_t> expected_version,
                                    const std::string& reason) {
  CUSTODY_ASSIGN(Identity current, access::manageable_identity(tx, ctx, id));
  CUSTODY_TRY(check_version(current, expected_version));
  CUSTODY_TRY(validation::check_text(reason, 0, kMaxReason, "reason"));
  if (!transition_allowed(current.state, target)) {
    return Error::conflict("illegal transition from " + std::string(state_name(current.state)) +
                               " to " + std::string(state_name(target)),
                           "state")
        .with("current_state", std::string(state_name(current.state)));
  }
  if (target == State::kActive && current.kind != Kind::kHuman) {
    if (!current.owner_id) {
      return Error::unprocessable(
          std::string(kind_name(current.kind)) + " identities need an owner", "owner_id");
    }
    CUSTODY_TRY(require_active_human_owner(tx, *current.owner_id));
  }

  TransitionResult result;
  result.identity = current;
  result.identity.state = target;
  result.identity.version = current.version + 1;
  result.identity.updated_at = ctx.now;
  CUSTODY_TRY(rows::update_identity_row(tx, result.identity, current.version));
  json details = {{"from", state_name(current.state)}, {"to", state_name(target)}};
  if (!reason.empty()) details["reason"] = reason;
  CUSTODY_TRY(access::record(tx, ctx, action_for(target), result.identity.id, std::move(details)));

  if (current.kind == Kind::kHuman && (target == State::kSuspended || target == State::kRetired)) {
    CUSTODY_ASSIGN(result.affected, cascade_suspend(tx, ctx, result.identity));
  }
  return result;
}

}  // namespace custody::directory
