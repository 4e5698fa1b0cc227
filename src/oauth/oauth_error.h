// The errors of custody's OAuth endpoints (RFC 6749 §5.2, RFC 6750 §3, RFC 8693 §2.2.2, RFC 8707
// §2, RFC 9449 §8): the wire code ("invalid_grant"), a human description, the HTTP status, and,
// for refusals of a delegation bound, which bound failed ("depth", "scope", "audience",
// "lifetime", "may_act", "actor", "owner", "subject", "revoked", ...).
#pragma once

#include <string>

namespace custody::oauth {

struct OAuthError {
  int status = 400;
  std::string error;               // RFC 6749 error code
  std::string description;         // error_description: precise, never secret
  std::string bound;               // custody extension "bound": the delegation bound that failed
  bool basic_challenge = false;    // 401 with WWW-Authenticate: Basic (client_secret_basic used)
  bool dpop_nonce_needed = false;  // "use_dpop_nonce": answer with a fresh DPoP-Nonce
  int retry_after_seconds = 0;     // > 0: Retry-After (429 from client_auth_limiter.h)

  static OAuthError invalid_request(std::string d, std::string bound = {}) {
    return {400, "invalid_request", std::move(d), std::move(bound)};
  }
  static OAuthError invalid_client(std::string d, bool basic = false) {
    return {401, "invalid_client", std::move(d), {}, basic};
  }
  static OAuthError invalid_grant(std::string d, std::string bound = {}) {
    return {400, "invalid_grant", std::move(d), std::move(bound)};
  }
  static OAuthError unauthorized_client(std::string d, std::string bound = {}) {
    return {400, "unauthorized_client", std::move(d), std::move(bound)};
  }
  static OAuthError unsupported_grant_type(std::string d) {
    return {400, "unsupported_grant_type", std::move(d)};
  }
  static OAuthError invalid_scope(std::string d, std::string bound = "scope") {
    return {400, "invalid_scope", std::move(d), std::move(bound)};
  }
  static OAuthError invalid_target(std::string d, std::string bound = "audience") {
    return {400, "invalid_target", std::move(d), std::move(bound)};
  }
  static OAuthError invalid_dpop_proof(std::string d) {
    return {400, "invalid_dpop_proof", std::move(d)};
  }
  static OAuthError use_dpop_nonce(std::string d) {
    OAuthError e{400, "use_dpop_nonce", std::move(d)};
    e.dpop_nonce_needed = true;
    return e;
  }
  // OpenID CIBA (§11, §13): the approval is pending, was refused, expired; the hint is unknown.
  static OAuthError authorization_pending(std::string d) {
    return {400, "authorization_pending", std::move(d)};
  }
  static OAuthError access_denied(std::string d) { return {400, "access_denied", std::move(d)}; }
  static OAuthError expired_token(std::string d) { return {400, "expired_token", std::move(d)}; }
  static OAuthError unknown_user_id(std::string d) {
    return {400, "unknown_user_id", std::move(d)};
  }
  // 429: too many failed client authentications from the caller's address (client_auth_limiter.h).
  static OAuthError client_auth_locked(std::string d, int retry_after_seconds) {
    OAuthError e{429, "invalid_client", std::move(d)};
    e.retry_after_seconds = retry_after_seconds;
    return e;
  }
  static OAuthError server_error(std::string d) { return {500, "server_error", std::move(d)}; }
  static OAuthError temporarily_unavailable(std::string d) {
    return {503, "temporarily_unavailable", std::move(d)};
  }
};

}  // namespace custody::oauth
