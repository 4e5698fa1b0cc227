#include "ssf/set.h"

#include <algorithm>

#include "crypto/jwt.h"

namespace custody::ssf {

std::string caep_uri(std::string_view name) {
  return std::string(kCaepPrefix) + std::string(name);
}

std::string ssf_uri(std::string_view name) {
  return std::string(kSsfPrefix) + std::string(name);
}

const std::vector<std::string>& caep_events() {
  static const std::vector<std::string> names = {"session-revoked", "credential-change",
                                                 "token-claims-change", "device-compliance-change"};
  return names;
}

const std::vector<std::string>& events_supported() {
  static const std::vector<std::string> uris = [] {
    std::vector<std::string> out;
    for (const auto& name : caep_events()) out.push_back(caep_uri(name));
    out.push_back(ssf_uri("verification"));
    out.push_back(ssf_uri("stream-updated"));
    return out;
  }();
  return uris;
}

bool is_control_event(std::string_view uri) {
  return uri == ssf_uri("verification") || uri == ssf_uri("stream-updated");
}

nlohmann::json caep_event_object(const CaepEvent& event) {
  nlohmann::json out = nlohmann::json::object();
  if (event.event_timestamp > 0) out["event_timestamp"] = event.event_timestamp / kMicrosPerSecond;
  if (!event.initiating_entity.empty()) out["initiating_entity"] = event.initiating_entity;
  if (!event.reason_admin.empty()) out["reason_admin"] = {{"en", event.reason_admin}};
  if (event.extra.is_object())
    for (const auto& [key, value] : event.extra.items()) out[key] = value;
  return out;
}

nlohmann::json set_claims(const SetClaims& set) {
  nlohmann::json claims = {{"iss", set.iss},       {"iat", set.iat / kMicrosPerSecond},
                           {"jti", set.jti},       {"aud", set.aud},
                           {"sub_id", set.sub_id}, {"events", {{set.event_uri, set.event}}}};
  if (!set.txn.empty()) claims["txn"] = set.txn;
  return claims;
}

Result<std::string> sign_set(const nlohmann::json& claims, const crypto::Jwk& key) {
  return crypto::jwt_sign(claims, key, "secevent+jwt");
}

}  // namespace custody::ssf
