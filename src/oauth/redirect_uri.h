// Redirect URIs of the clients that may use the authorization code flow (docs/oauth.md,
// "Authorization code with PKCE"). A client registers them in the label
// `custody.dev/redirect-uris`: space-separated, compared exactly (OAuth 2.1 §2.3.1, no pattern,
// no prefix). Each must be an absolute https URL, or http on a loopback host (127.0.0.1, [::1],
// localhost: the redirect then never crosses a network, RFC 8252 §7.3), without user info or
// fragment (RFC 6749 §3.1.2). Pure functions.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/result.h"
#include "directory/model.h"

namespace custody::oauth {

inline constexpr std::string_view kRedirectUrisLabel = "custody.dev/redirect-uris";
// `true`: the client may redeem codes without authenticating (token_endpoint_auth_method none).
inline constexpr std::string_view kPublicClientLabel = "custody.dev/public-client";

// Why `uri` cannot be a redirect URI (see the file comment); empty when it can.
std::string redirect_uri_problem(std::string_view uri);

// The client's registered redirect URIs; empty when it registered none. A malformed entry makes
// the whole registration unusable (kInvalidArgument naming it): the client is misconfigured.
Result<std::vector<std::string>> registered_redirect_uris(const directory::Identity& client);

bool is_public_client(const directory::Identity& client);

// `uri` with `params` appended to its query (percent-encoded, in order).
std::string with_query(const std::string& uri,
                       const std::vector<std::pair<std::string, std::string>>& params);

// "scheme://host[:port]" of a valid redirect URI (for a CSP source expression); "" otherwise.
std::string origin_of(std::string_view uri);

}  // namespace custody::oauth
