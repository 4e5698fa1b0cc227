// What the OAuth layer needs to know of one HTTP request, without any HTTP library: the form
// parameters (in order, repeats kept), the headers it reads, and the URL the client addressed
// (for DPoP "htu"). The api layer fills it from the Beast request.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "oauth/oauth_error.h"

namespace custody::oauth {

struct OAuthRequest {
  std::string method = "POST";
  std::string url;  // issuer + path, e.g. "https://iam.example.com/oauth2/token"
  std::string authorization;
  std::vector<std::string> dpop;  // every DPoP header (more than one is refused)
  std::vector<std::pair<std::string, std::string>> params;
  std::string request_id;
  std::string remote_address;

  // The single value of `name`; nullopt when absent. A parameter sent twice is an
  // invalid_request (RFC 6749 §3.2) unless it is repeatable.
  std::optional<std::string> param(std::string_view name) const;
  // Every value of a repeatable parameter (resource, audience).
  std::vector<std::string> params_named(std::string_view name) const;
  // invalid_request naming the first parameter sent more than once that is not in `repeatable`,
  // or an empty optional. Empty values count as absent (RFC 6749 §3.1).
  std::optional<OAuthError> check_no_repeats(const std::vector<std::string>& repeatable) const;
};

}  // namespace custody::oauth
