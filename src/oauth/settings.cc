#include "oauth/settings.h"

#include <algorithm>
#include <fstream>
#include <sstream>
#include <thread>

#include "net/url.h"

namespace custody::oauth {
namespace {

constexpr std::string_view kKey = "oauth.trusted_issuers_file";

Result<nlohmann::json> read_json_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) return Error::invalid(std::string(kKey) + ": cannot read " + path, std::string(kKey));
  std::stringstream text;
  text << in.rdbuf();
  auto doc = nlohmann::json::parse(text.str(), nullptr, false);
  if (doc.is_discarded())
    return Error::invalid(std::string(kKey) + ": " + path + " is not JSON", std::string(kKey));
  return doc;
}

Error bad_entry(const std::string& why) {
  return Error::invalid(std::string(kKey) + ": " + why, std::string(kKey));
}

// A whole number of `unit`s in [min, max] under `name`, or `fallback` when absent.
Result<std::int64_t> bounded(const nlohmann::json& item, const std::string& issuer,
                             const char* name, std::int64_t fallback, std::int64_t min,
                             std::int64_t max, const char* unit) {
  if (!item.contains(name)) return fallback;
  const auto& v = item[name];
  if (!v.is_number_integer() || v.get<std::int64_t>() < min || v.get<std::int64_t>() > max)
    return bad_entry("issuer " + issuer + ": \"" + name + "\" must be a whole number of " + unit +
                     " in " + std::to_string(min) + ".." + std::to_string(max));
  return v.get<std::int64_t>();
}

Result<std::int64_t> seconds(const nlohmann::json& item, const std::string& issuer,
                             const char* name, std::int64_t fallback, std::int64_t min,
                             std::int64_t max) {
  return bounded(item, issuer, name, fallback, min, max, "seconds");
}

// "jwks_uri" (https, or http to a loopback address), or "discovery": true (the issuer's OpenID
// configuration, under the same rule), and their timing (remote_jwks.h).
Result<std::shared_ptr<RemoteJwks>> parse_remote(const nlohmann::json& item,
                                                 const std::string& issuer) {
  const bool discovery = item.contains("discovery");
  std::string text;
  if (discovery) {
    if (item["discovery"] != true)
      return bad_entry("issuer " + issuer + ": \"discovery\" must be true");
    // OpenID Connect Discovery 1.0 §4: a terminating "/" is removed before appending.
    text = issuer;
    while (!text.empty() && text.back() == '/') text.pop_back();
    text += "/.well-known/openid-configuration";
  } else if (item["jwks_uri"].is_string()) {
    text = item["jwks_uri"].get<std::string>();
  } else {
    return bad_entry("issuer " + issuer + ": \"jwks_uri\" must be a URL");
  }
  auto url = net::parse_endpoint_url(text);
  if (!url.ok())
    return bad_entry("issuer " + issuer +
                     (discovery ? ": discovery needs an issuer URL: " : ": jwks_uri: ") +
                     url.error().message);
  if (!url->server.tls && !url->server.is_loopback())
    return bad_entry("issuer " + issuer +
                     (discovery
                          ? ": discovery needs an https issuer (http only to a loopback address)"
                          : ": jwks_uri must be https (http only to a loopback address)"));
  RemoteJwks::Options o;
  CUSTODY_ASSIGN(auto refresh, seconds(item, issuer, "jwks_refresh_seconds", 300, 1, 86'400));
  CUSTODY_ASSIGN(auto max_age, seconds(item, issuer, "jwks_max_age_seconds",
                                       std::max<std::int64_t>(3600, refresh), refresh, 604'800));
  CUSTODY_ASSIGN(auto cooldown,
                 seconds(item, issuer, "jwks_refetch_cooldown_seconds", 30, 0, 3600));
  CUSTODY_ASSIGN(auto timeout, seconds(item, issuer, "jwks_timeout_seconds", 5, 1, 60));
  CUSTODY_ASSIGN(auto max_bytes, bounded(item, issuer, "jwks_max_bytes", 1024 * 1024, 1024,
                                         16 * 1024 * 1024, "bytes"));
  o.refresh = refresh * kMicrosPerSecond;
  o.max_age = max_age * kMicrosPerSecond;
  o.cooldown = cooldown * kMicrosPerSecond;
  o.timeout = std::chrono::seconds(timeout);
  o.max_bytes = static_cast<std::size_t>(max_bytes);
  o.discovery = discovery;
  static const SystemClock clock;
  return std::make_shared<RemoteJwks>(issuer, std::move(url).value(), text, o, clock);
}

Result<TrustedIssuer> parse_issuer(const nlohmann::json& item, const std::string& default_aud) {
  if (!item.is_object() || !item.contains("issuer") || !item["issuer"].is_string())
    return bad_entry("each entry needs an \"issuer\" string");
  TrustedIssuer t;
  t.issuer = item["issuer"].get<std::string>();
  const int sources = int(item.contains("jwks")) + int(item.contains("jwks_file")) +
                      int(item.contains("jwks_uri")) + int(item.contains("discovery"));
  if (sources != 1)
    return bad_entry("issuer " + t.issuer +
                     " needs one of \"jwks\", \"jwks_file\", \"jwks_uri\" or \"discovery\"");
  if (item.contains("jwks_uri") || item.contains("discovery")) {
    CUSTODY_ASSIGN(t.remote, parse_remote(item, t.issuer));
  } else {
    nlohmann::json jwks;
    if (item.contains("jwks")) {
      jwks = item["jwks"];
    } else if (item["jwks_file"].is_string()) {
      CUSTODY_ASSIGN(jwks, read_json_file(item["jwks_file"].get<std::string>()));
    } else {
      return bad_entry("issuer " + t.issuer + ": \"jwks_file\" must be a path");
    }
    auto keys = crypto::JwkSet::parse(jwks, "jwks");
    if (!keys.ok()) return bad_entry("issuer " + t.issuer + ": " + keys.error().message);
    if (keys->empty()) return bad_entry("issuer " + t.issuer + " has no usable signing key");
    t.keys = std::move(keys).value();
  }
  t.algorithms = {crypto::Alg::kES256, crypto::Alg::kRS256, crypto::Alg::kEdDSA};
  if (item.contains("algorithms")) {
    t.algorithms.clear();
    if (!item["algorithms"].is_array()) return bad_entry("\"algorithms\" must be an array");
    for (const auto& a : item["algorithms"]) {
      auto alg = a.is_string() ? crypto::alg_from_name(a.get<std::string>()) : std::nullopt;
      if (!alg) return bad_entry("issuer " + t.issuer + ": unsupported algorithm " + a.dump());
      t.algorithms.push_back(*alg);
    }
  }
  t.audience = item.value("audience", default_aud);
  return t;
}

}  // namespace

const TrustedIssuer* Settings::trusted(std::string_view iss) const {
  for (const auto& t : trusted_issuers)
    if (t.issuer == iss) return &t;
  return nullptr;
}

void start_remote_keys(const std::vector<TrustedIssuer>& issuers) {
  std::vector<std::jthread> first_fetches;  // joined when they go out of scope
  for (const auto& t : issuers)
    if (t.remote) first_fetches.emplace_back([remote = t.remote] { remote->start(); });
}

Result<Settings> resolve_settings(const Config& config, std::string issuer) {
  Settings s;
  s.issuer = std::move(issuer);
  s.access_token_ttl = config.oauth.access_token_ttl_seconds * kMicrosPerSecond;
  s.max_depth = static_cast<int>(config.oauth.max_delegation_depth);
  s.skew = config.oauth.clock_skew_seconds * kMicrosPerSecond;
  s.assertion_max_lifetime = config.oauth.client_assertion_max_lifetime_seconds * kMicrosPerSecond;
  s.device_posture_max_age = config.device.posture_max_age_seconds * kMicrosPerSecond;
  s.deny_drifted = config.discovery_enforcement == "deny";
  s.dpop_required = config.oauth.dpop_required;
  s.dpop_nonce = config.oauth.dpop_nonce;
  s.dpop_max_age = config.oauth.dpop_proof_max_age_seconds * kMicrosPerSecond;
  s.ciba_expiry = config.pdp.approval_ttl_seconds * kMicrosPerSecond;
  s.client_auth_limits.max_failures = config.oauth.client_auth_max_failures;
  s.client_auth_limits.window = config.oauth.client_auth_failure_window_seconds * kMicrosPerSecond;
  s.client_auth_limits.max_keys = static_cast<std::size_t>(config.oauth.client_auth_max_tracked);
  if (!config.oauth.trusted_issuers_file.empty()) {
    CUSTODY_ASSIGN(auto doc, read_json_file(config.oauth.trusted_issuers_file));
    if (!doc.is_array())
      return Error::invalid(std::string(kKey) + ": expected a JSON array", std::string(kKey));
    for (const auto& item : doc) {
      CUSTODY_ASSIGN(auto t, parse_issuer(item, s.issuer));
      if (t.issuer == s.issuer)
        return Error::invalid(std::string(kKey) + ": custody's own issuer cannot be external",
                              std::string(kKey));
      s.trusted_issuers.push_back(std::move(t));
    }
  }
  return s;
}

}  // namespace custody::oauth
