// The HTML of /oauth2/authorize (authorize.h): the consent page where a human signs in with an
// owner-role API token and approves or denies, and the error page shown when custody must not
// redirect. Self-contained documents: no scripts, styles or external assets, so that they work
// under `Content-Security-Policy: default-src 'none'`; every value is HTML-escaped (client names,
// scopes and URIs are chosen by others). Pure functions.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace custody::oauth {

// & < > " ' escaped; safe in element content and in double-quoted attribute values.
std::string html_escape(std::string_view text);

struct ConsentView {
  std::string client_id;
  std::string client_name;
  std::string client_owner;  // the human who registered the client
  std::string redirect_uri;
  std::optional<std::vector<std::string>> scopes;  // nullopt: every scope the human is entitled to
  std::vector<std::string> resources;              // empty: where the human is entitled
  // Carried by the form and bound by its HMAC (authorize.h), in order; repeats allowed.
  std::vector<std::pair<std::string, std::string>> hidden;
  std::string message;  // a refusal of the previous attempt (bad token), shown above the form
};
std::string consent_page(const ConsentView& view);

// The page for an error custody cannot send to the client (RFC 6749 §4.1.2.1: never redirect to
// an unvalidated URI): the OAuth error code and its description.
std::string error_page(std::string_view error, std::string_view description);

}  // namespace custody::oauth
