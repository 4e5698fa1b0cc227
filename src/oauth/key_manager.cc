#include "oauth/key_manager.h"

#include <algorithm>
#include <optional>

#include "audit/events.h"

namespace custody::oauth {
namespace {

constexpr Micros kHour = 3600 * kMicrosPerSecond;

}  // namespace

KeyManager::KeyManager(store::Store& store, const crypto::KeyEncryptionKey& kek, const Clock& clock,
                       KeyManagerOptions options)
    : store_(store), kek_(kek), clock_(clock), options_(std::move(options)) {}

Result<std::vector<KeyManager::Row>> KeyManager::load_and_complete(Micros now,
                                                                   const std::string* rotate_actor,
                                                                   const std::string& request_id) {
  const bool rotate = rotate_actor != nullptr;
  std::vector<Row> rows;
  auto add_key = [&](store::Tx& tx, Micros activate_at) -> Status {
    CUSTODY_ASSIGN(auto jwk, crypto::Jwk::generate(options_.type));
    CUSTODY_ASSIGN(auto wrapped, crypto::wrap_private_jwk(kek_, jwk));
    Row row{jwk.kid(), std::string(crypto::alg_name(jwk.alg())), wrapped, now, activate_at};
    CUSTODY_TRY(tx.exec(
        "INSERT INTO signing_keys (kid, purpose, alg, public_jwk, wrapped_private, created_at, "
        "activate_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        {row.kid, options_.purpose, row.alg, jwk.public_json().dump(), wrapped, now, activate_at}));
    rows.push_back(std::move(row));
    return ok_status();
  };
  auto load = [&](store::Tx& tx) -> Status {
    rows.clear();
    CUSTODY_ASSIGN(auto found, tx.query("SELECT kid, alg, wrapped_private, created_at, activate_at "
                                        "FROM signing_keys WHERE purpose = $1 "
                                        "ORDER BY activate_at, kid",
                                        {options_.purpose}));
    for (const auto& r : found)
      rows.push_back({r.text(0), r.text(1), r.text(2), r.integer(3), r.integer(4)});
    return ok_status();
  };
  // The periodic refresh usually finds a current and an upcoming key: then a read suffices and
  // no node takes the writer every minute.
  if (!rotate) {
    CUSTODY_TRY(store_.read(load));
    bool has_current = !rows.empty() && rows.front().activate_at <= now;
    bool has_upcoming = !rows.empty() && rows.back().activate_at > now;
    if (has_current && has_upcoming) return rows;
  }
  Status s = store_.write_sync([&](store::Tx& tx) -> Status {
    CUSTODY_TRY(load(tx));
    auto first_upcoming = [&]() {
      return std::find_if(rows.begin(), rows.end(),
                          [&](const Row& r) { return r.activate_at > now; });
    };
    if (rotate) {
      std::string activated;
      auto up = first_upcoming();
      if (up != rows.end()) {
        activated = up->kid;
        CUSTODY_TRY(
            tx.exec("UPDATE signing_keys SET activate_at = $2 WHERE kid = $1", {up->kid, now}));
        up->activate_at = now;
      } else {
        CUSTODY_TRY(add_key(tx, now));
        activated = rows.back().kid;
      }
      std::sort(rows.begin(), rows.end(),
                [](const Row& a, const Row& b) { return a.activate_at < b.activate_at; });
      audit::Event event;
      event.time = now;
      event.actor = *rotate_actor;
      event.action = "keys.rotate";
      event.target = activated;
      event.outcome = "success";
      event.request_id = request_id;
      event.details = {{"purpose", options_.purpose}};
      CUSTODY_TRY(audit::append(tx, event));
    }
    if (rows.empty() || rows.front().activate_at > now) CUSTODY_TRY(add_key(tx, now));
    std::sort(rows.begin(), rows.end(),
              [](const Row& a, const Row& b) { return a.activate_at < b.activate_at; });
    if (first_upcoming() == rows.end()) {
      Micros current = rows.back().activate_at;
      Micros at = std::max(current + options_.rotation, now + std::min(options_.rotation, kHour));
      CUSTODY_TRY(add_key(tx, at));
    }
    return ok_status();
  });
  if (!s.ok()) return s.error();
  return rows;
}

Result<crypto::Jwk> KeyManager::unwrap(const Row& row) {
  auto it = unwrapped_.find(row.kid);
  if (it != unwrapped_.end()) return it->second;
  auto key = crypto::unwrap_private_jwk(kek_, row.kid, row.wrapped);
  if (!key.ok())
    return Error::unavailable("cannot unwrap signing key " + row.kid +
                              " (is the KEK the one it was created with?): " + key.error().message);
  unwrapped_.emplace(row.kid, *key);
  return key;
}

Status KeyManager::publish(const std::vector<Row>& rows, Micros now) {
  // rows are sorted by activate_at.
  std::optional<std::size_t> current;
  for (std::size_t i = 0; i < rows.size(); ++i)
    if (rows[i].activate_at <= now) current = i;
  if (!current) return Error::internal("no signing key is active");
  std::vector<KeyInfo> info;
  std::vector<crypto::SigningKey> others;  // upcoming and previous, newest first
  std::optional<crypto::SigningKey> signing;
  for (std::size_t i = rows.size(); i-- > 0;) {
    const Row& row = rows[i];
    KeyInfo k{row.kid, row.alg, "", row.created_at, row.activate_at, crypto::SigningKey::kForever};
    if (i < *current) {
      k.status = "previous";
      k.published_until = rows[i + 1].activate_at + options_.retention;
      if (k.published_until <= now) continue;  // nothing it signed can still be valid
    } else {
      k.status = i == *current ? "current" : "upcoming";
    }
    auto jwk = unwrap(row);
    if (!jwk.ok()) return jwk.error();
    crypto::SigningKey key{*jwk, row.created_at, k.published_until};
    if (i == *current)
      signing = std::move(key);
    else
      others.push_back(std::move(key));
    info.push_back(std::move(k));
    if (others.size() + 1 >= crypto::JwkSet::kMaxKeys) break;
  }
  CUSTODY_TRY(keys_.install(std::move(*signing), std::move(others)));
  described_ = std::move(info);
  return ok_status();
}

Status KeyManager::refresh() {
  std::lock_guard lock(mu_);
  Micros now = clock_.now();
  CUSTODY_ASSIGN(auto rows, load_and_complete(now, nullptr, ""));
  return publish(rows, now);
}

Status KeyManager::rotate_now(const std::string& actor, const std::string& request_id) {
  std::lock_guard lock(mu_);
  Micros now = clock_.now();
  CUSTODY_ASSIGN(auto rows, load_and_complete(now, &actor, request_id));
  return publish(rows, now);
}

std::vector<KeyInfo> KeyManager::describe() const {
  std::lock_guard lock(mu_);
  return described_;
}

}  // namespace custody::oauth
