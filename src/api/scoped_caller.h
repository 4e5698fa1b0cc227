// Callers of custody's protocol APIs (AuthZEN decisions, Shared Signals streams): an admin API
// token of the admin role, or a custody access token that carries `scope`, whose aud includes
// `audience` (empty: the issuer), and whose delegation record is not revoked.
#pragma once

#include <string>

#include "api/context.h"
#include "common/result.h"
#include "http/message.h"
#include "store/store.h"

namespace custody::api {

struct ScopedCaller {
  std::string actor;  // the admin token's actor, or the access token's client_id
  bool admin = false;
};

// kUnauthenticated for a missing, invalid, wrongly addressed or revoked token; kPermissionDenied
// for a non-admin API token or a token without the scope. `what` ends the refusal: "may ask the
// policy decision point".
Result<ScopedCaller> authenticate_scoped(ApiContext& api, store::Tx& tx, const http::Request& req,
                                         Micros now, const std::string& scope,
                                         const std::string& audience, const std::string& what);

}  // namespace custody::api
