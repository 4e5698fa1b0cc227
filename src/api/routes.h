// Registers every admin API and operations route on the router (docs/api.md is the reference).
#pragma once

#include "api/context.h"
#include "http/metrics.h"
#include "http/router.h"

namespace custody::api {

void add_identity_routes(http::Router& router, ApiContext& api);
void add_entitlement_routes(http::Router& router, ApiContext& api);
void add_credential_routes(http::Router& router, ApiContext& api);
void add_token_routes(http::Router& router, ApiContext& api);
void add_audit_routes(http::Router& router, ApiContext& api);
void add_oauth_routes(http::Router& router, ApiContext& api);
// GET/POST /oauth2/authorize: the authorization code flow's consent page (authorize_routes.cc).
void add_authorize_routes(http::Router& router, ApiContext& api);
void add_delegation_routes(http::Router& router, ApiContext& api);
void add_key_routes(http::Router& router, ApiContext& api);
void add_policy_routes(http::Router& router, ApiContext& api);
void add_authzen_routes(http::Router& router, ApiContext& api);
void add_approval_routes(http::Router& router, ApiContext& api);
void add_ssf_routes(http::Router& router, ApiContext& api);
void add_device_routes(http::Router& router, ApiContext& api);
void add_discovery_routes(http::Router& router, ApiContext& api);
void add_gateway_routes(http::Router& router, ApiContext& api);
void add_operations_routes(http::Router& router, ApiContext& api, http::Metrics& metrics);

inline void add_all_routes(http::Router& router, ApiContext& api, http::Metrics& metrics) {
  add_operations_routes(router, api, metrics);
  add_identity_routes(router, api);
  add_entitlement_routes(router, api);
  add_credential_routes(router, api);
  add_token_routes(router, api);
  add_audit_routes(router, api);
  add_oauth_routes(router, api);
  add_authorize_routes(router, api);
  add_delegation_routes(router, api);
  add_key_routes(router, api);
  add_policy_routes(router, api);
  add_authzen_routes(router, api);
  add_approval_routes(router, api);
  add_ssf_routes(router, api);
  add_device_routes(router, api);
  add_discovery_routes(router, api);
  add_gateway_routes(router, api);
}

}  // namespace custody::api
