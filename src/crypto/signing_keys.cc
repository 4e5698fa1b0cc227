#include "crypto/signing_keys.h"

#include <algorithm>
#include <nlohmann/json.hpp>

namespace custody::crypto {
namespace {

Status check_key(const SigningKey& key) {
  if (!key.key.is_private()) return Error::invalid("a signing key must be private", "key");
  if (key.key.kid().empty()) return Error::invalid("a signing key needs a kid", "kid");
  return ok_status();
}

}  // namespace

SigningKeys::SigningKeys() {
  auto empty = std::make_shared<Snapshot>();
  empty->jwks = JwkSet().to_json().dump();
  snapshot_.store(std::move(empty));
}

Status SigningKeys::publish(std::shared_ptr<const SigningKey> current,
                            std::vector<std::shared_ptr<const SigningKey>> previous) {
  std::vector<Jwk> keys;
  nlohmann::json published = nlohmann::json::array();
  auto add = [&](const SigningKey& k) {
    keys.push_back(k.key);
    nlohmann::json jwk = k.key.public_json();
    // Published with alg and use so that clients pick the key without guessing (RFC 7517 §4).
    jwk["alg"] = alg_name(k.key.alg());
    jwk["use"] = "sig";
    published.push_back(std::move(jwk));
  };
  if (current) add(*current);
  for (const auto& k : previous) add(*k);
  // JwkSet::of refuses repeated kids and oversized sets.
  CUSTODY_ASSIGN(JwkSet set, JwkSet::of(std::move(keys)));

  auto next = std::make_shared<Snapshot>();
  next->current = std::move(current);
  next->previous = std::move(previous);
  next->verification_keys = std::move(set);
  next->jwks = nlohmann::json{{"keys", std::move(published)}}.dump();
  snapshot_.store(std::move(next));
  return ok_status();
}

Status SigningKeys::install(SigningKey current, std::vector<SigningKey> previous) {
  CUSTODY_TRY(check_key(current));
  std::vector<std::shared_ptr<const SigningKey>> prev;
  for (SigningKey& k : previous) {
    CUSTODY_TRY(check_key(k));
    prev.push_back(std::make_shared<const SigningKey>(std::move(k)));
  }
  std::lock_guard lock(writer_);
  return publish(std::make_shared<const SigningKey>(std::move(current)), std::move(prev));
}

Status SigningKeys::rotate(SigningKey next, Micros old_not_after) {
  CUSTODY_TRY(check_key(next));
  std::lock_guard lock(writer_);
  auto now = snapshot_.load();
  std::vector<std::shared_ptr<const SigningKey>> prev;
  if (now->current) {
    auto retired = std::make_shared<SigningKey>(*now->current);
    retired->not_after = old_not_after;
    prev.push_back(std::move(retired));
  }
  prev.insert(prev.end(), now->previous.begin(), now->previous.end());
  return publish(std::make_shared<const SigningKey>(std::move(next)), std::move(prev));
}

void SigningKeys::prune(Micros now) {
  std::lock_guard lock(writer_);
  auto snap = snapshot_.load();
  std::vector<std::shared_ptr<const SigningKey>> keep;
  for (const auto& k : snap->previous) {
    if (k->not_after >= now) keep.push_back(k);
  }
  if (keep.size() == snap->previous.size()) return;
  // Removing keys cannot create a duplicate kid or exceed the size: publish cannot fail.
  (void)publish(snap->current, std::move(keep));
}

std::shared_ptr<const SigningKeys::Snapshot> SigningKeys::snapshot() const {
  return snapshot_.load();
}

std::shared_ptr<const SigningKey> SigningKeys::current() const {
  return snapshot_.load()->current;
}

std::shared_ptr<const SigningKey> SigningKeys::find(std::string_view kid) const {
  auto snap = snapshot_.load();
  if (snap->current && snap->current->key.kid() == kid) return snap->current;
  for (const auto& k : snap->previous) {
    if (k->key.kid() == kid) return k;
  }
  return nullptr;
}

std::string SigningKeys::jwks() const {
  return snapshot_.load()->jwks;
}

}  // namespace custody::crypto
