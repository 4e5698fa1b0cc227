// The authorization server's resolved settings: config keys (common/config.h, docs/oauth.md)
// turned into the values the endpoints use, plus the trusted external issuers.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/config.h"
#include "common/result.h"
#include "crypto/jwk.h"
#include "oauth/client_auth_limiter.h"
#include "oauth/remote_jwks.h"

namespace custody::oauth {

// An external issuer whose JWTs custody accepts as subject or actor tokens in a token exchange.
struct TrustedIssuer {
  std::string issuer;                   // exact "iss"
  crypto::JwkSet keys;                  // its signing keys, as configured ("jwks", "jwks_file")
  std::shared_ptr<RemoteJwks> remote;   // or as fetched ("jwks_uri", "discovery"; see below)
  std::vector<crypto::Alg> algorithms;  // accepted algorithms (default ES256, RS256, EdDSA)
  std::string audience;                 // required "aud" (default: custody's issuer)
};

struct Settings {
  std::string issuer;  // no trailing slash
  Micros access_token_ttl = 600 * kMicrosPerSecond;
  int max_depth = 5;
  Micros skew = 60 * kMicrosPerSecond;
  Micros assertion_max_lifetime = 300 * kMicrosPerSecond;
  // A device-attested assertion is accepted only while its device's last posture report is
  // younger than this (device.posture_max_age_seconds).
  Micros device_posture_max_age = 900 * kMicrosPerSecond;
  // discovery.enforcement: a drifted discovered client gets no token (true), or gets one with
  // a "discovery_alert" in the audit event (false, "alert").
  bool deny_drifted = true;
  bool dpop_required = false;
  bool dpop_nonce = false;
  Micros dpop_max_age = 300 * kMicrosPerSecond;
  Micros ciba_expiry = 3600 * kMicrosPerSecond;  // a CIBA request's default life (pdp.approval_ttl)
  std::vector<TrustedIssuer> trusted_issuers;
  ClientAuthLimiter::Options client_auth_limits;  // oauth.client_auth_*

  std::string token_endpoint() const { return issuer + "/oauth2/token"; }
  std::string authorization_endpoint() const { return issuer + "/oauth2/authorize"; }
  std::string introspection_endpoint() const { return issuer + "/oauth2/introspect"; }
  std::string revocation_endpoint() const { return issuer + "/oauth2/revoke"; }
  std::string jwks_uri() const { return issuer + "/.well-known/jwks.json"; }
  std::string backchannel_endpoint() const { return issuer + "/oauth2/bc-authorize"; }
  const TrustedIssuer* trusted(std::string_view iss) const;
};

// `issuer` is the resolved issuer (config oauth.issuer, or the listen address). Reads
// oauth.trusted_issuers_file when set: a JSON array of {"issuer", one of "jwks" (a JWK Set
// object), "jwks_file" (a path), "jwks_uri" or "discovery": true (both with
// "jwks_refresh_seconds"?, "jwks_max_age_seconds"?, "jwks_refetch_cooldown_seconds"?,
// "jwks_timeout_seconds"?, "jwks_max_bytes"?), "algorithms"?, "audience"?}. kInvalidArgument naming
// the key on bad input. Remote key sets are returned unstarted: the caller starts them
// (start_remote_keys).
Result<Settings> resolve_settings(const Config& config, std::string issuer);

// Starts the remote key set of every issuer configured by jwks_uri or discovery
// (RemoteJwks::start), their first fetches side by side: returns when all have ended, so start-up
// waits for the slowest provider, not for the sum of them.
void start_remote_keys(const std::vector<TrustedIssuer>& issuers);

}  // namespace custody::oauth
