// The authorization endpoint (RFC 6749 §4.1.1 as OAuth 2.1 has it; docs/oauth.md, "Authorization
// code with PKCE"), independent of HTTP (src/api/authorize_routes.cc adapts it).
//
// GET /oauth2/authorize checks the request: client_id (an active non-human with an active owner
// and registered redirect URIs, redirect_uri.h), redirect_uri (required, exact match), then
// response_type=code, code_challenge + code_challenge_method=S256 (required; plain refused),
// scope, state, resource (RFC 8707, repeatable). A refusal before the redirect URI is validated
// is an HTML error page; after, a 303 to the redirect URI with error, error_description, state
// and iss (RFC 9207). A valid request gets the consent page (consent_page.h), whose form carries
// the request's parameters, an expiry (10 minutes) and a binding: HMAC-SHA-256 under the server
// secret over all of them, so a POST with any other parameters (or a late one) is refused.
//
// POST /oauth2/authorize (the form) verifies the binding and checks the request again (the client
// may have been suspended since). "deny" redirects access_denied. "approve" needs the human's
// owner-role API token (directory/admin_tokens.h) whose human is active: a bad token, or an admin
// or auditor token (which act for no human), gets the consent page again with the reason (401 or
// 403). The human's entitlements in force must cover the requested scopes at the requested
// resources (grants.h, the pairwise rule; invalid_scope/invalid_target to the client otherwise).
// Then a one-time code is created (authorization_code.h) together with the audit event, durably,
// and the answer is a 303 to redirect_uri with code, state and iss.
//
// Every refusal is audited (action oauth.authorize, outcome the error code) before the answer;
// so is every approval. Every HTML answer has Content-Security-Policy default-src 'none' (the form
// may post to this server and, for its redirect, to the client's redirect origin),
// X-Frame-Options DENY, Cache-Control no-store and Referrer-Policy no-referrer.
//
// Thread safety: const methods, callable from any io thread at once.
#pragma once

#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "common/clock.h"
#include "crypto/keyed_hash.h"
#include "oauth/request.h"
#include "oauth/settings.h"
#include "store/store.h"

namespace custody::oauth {

struct WebReply {
  int status = 200;
  std::string content_type = "text/html; charset=utf-8";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
};
using WebReplyFn = std::function<void(WebReply)>;

class AuthorizeEndpoint {
 public:
  AuthorizeEndpoint(store::Store& store, const Clock& clock, const crypto::SecretHasher& hasher,
                    const Settings& settings)
      : store_(store), clock_(clock), hasher_(hasher), settings_(settings) {}

  // GET: `query` holds the query parameters.
  void show(const OAuthRequest& query, WebReplyFn reply) const;
  // POST: `form` holds the form parameters.
  void decide(const OAuthRequest& form, WebReplyFn reply) const;
  // A request whose parameters could not be read at all (malformed query or body): audited, and
  // answered with the error page.
  void refuse_malformed(const OAuthRequest& request, const std::string& description,
                        WebReplyFn reply) const;

 private:
  store::Store& store_;
  const Clock& clock_;
  const crypto::SecretHasher& hasher_;
  const Settings& settings_;
};

}  // namespace custody::oauth
