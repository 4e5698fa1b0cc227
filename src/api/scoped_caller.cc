#include "api/scoped_caller.h"

#include <algorithm>

#include "api/operation.h"
#include "delegation/record.h"
#include "directory/admin_tokens.h"
#include "oauth/access_token.h"
#include "oauth/service.h"

namespace custody::api {

Result<ScopedCaller> authenticate_scoped(ApiContext& api, store::Tx& tx, const http::Request& req,
                                         Micros now, const std::string& scope,
                                         const std::string& audience, const std::string& what) {
  std::string_view token = bearer_token(req);
  if (token.empty()) return Error::unauthenticated("missing bearer token");
  // Admin API tokens are opaque; access tokens are JWS (three dot-separated parts).
  if (token.find('.') == std::string_view::npos) {
    CUSTODY_ASSIGN(auto who, directory::authenticate_admin_token(tx, token, api.hasher, now));
    if (who.role != directory::Role::kAdmin)
      return Error::denied("only admin API tokens (or access tokens with the " + scope +
                           " scope) " + what);
    return ScopedCaller{who.actor(), true};
  }
  oauth::Service* service = api.oauth.load();
  if (service == nullptr) return Error::unavailable("the authorization server is starting");
  auto presented = service->verify_own(token, false);
  if (!presented.ok())
    return Error::unauthenticated("invalid access token: " + presented.error().message);
  const std::string& aud = audience.empty() ? service->settings().issuer : audience;
  if (std::find(presented->audience.begin(), presented->audience.end(), aud) ==
      presented->audience.end())
    return Error::unauthenticated("the access token's audience does not include " + aud);
  if (std::find(presented->scopes.begin(), presented->scopes.end(), scope) ==
      presented->scopes.end())
    return Error::denied("the access token lacks the " + scope + " scope");
  CUSTODY_ASSIGN(bool live, delegation::is_live(tx, presented->jti));
  if (!live) return Error::unauthenticated("the access token has been revoked");
  return ScopedCaller{presented->client_id, false};
}

}  // namespace custody::api
