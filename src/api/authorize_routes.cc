// GET and POST /oauth2/authorize: the authorization code flow's consent page (src/oauth/
// authorize.h has the contract). The answers are HTML pages and redirects for a browser, not JSON.
#include <cctype>

#include "api/routes.h"
#include "http/message.h"
#include "oauth/authorize.h"
#include "oauth/consent_page.h"
#include "oauth/service.h"

namespace custody::api {
namespace {

using http::Request;
using http::Responder;
using http::Response;

Response to_response(oauth::WebReply reply) {
  Response r;
  r.status = reply.status;
  r.content_type = std::move(reply.content_type);
  r.body = std::move(reply.body);
  for (auto& [k, v] : reply.headers) r.header(std::move(k), std::move(v));
  return r;
}

Response plain_page(int status, std::string_view error, std::string_view description) {
  Response r;
  r.status = status;
  r.content_type = "text/html; charset=utf-8";
  r.body = oauth::error_page(error, description);
  r.header("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'");
  r.header("X-Frame-Options", "DENY");
  r.header("Cache-Control", "no-store");
  return r;
}

oauth::OAuthRequest oauth_request(const oauth::Service& service, const Request& req,
                                  std::vector<std::pair<std::string, std::string>> params) {
  oauth::OAuthRequest out;
  out.method = std::string(req.method);
  out.url = service.settings().authorization_endpoint();
  out.params = std::move(params);
  out.request_id = req.request_id;
  out.remote_address = req.remote_address;
  return out;
}

bool is_form(const Request& req) {
  std::string_view type = req.header("Content-Type");
  std::string media(type.substr(0, type.find(';')));
  while (!media.empty() && media.back() == ' ') media.pop_back();
  for (auto& c : media) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return media == "application/x-www-form-urlencoded";
}

}  // namespace

void add_authorize_routes(http::Router& router, ApiContext& api) {
  router.add("GET", "/oauth2/authorize", [&api](Request& req, Responder respond) {
    oauth::Service* service = api.oauth.load();
    if (!service) return respond(plain_page(503, "temporarily_unavailable", "starting"));
    oauth::AuthorizeEndpoint endpoint(api.store, api.clock, api.hasher, service->settings());
    auto answer = [respond](oauth::WebReply r) { respond(to_response(std::move(r))); };
    auto params = http::parse_query(req.query);
    if (!params.ok())
      return endpoint.refuse_malformed(oauth_request(*service, req, {}), params.error().message,
                                       answer);
    endpoint.show(oauth_request(*service, req, std::move(params).value()), answer);
  });
  router.add("POST", "/oauth2/authorize", [&api](Request& req, Responder respond) {
    oauth::Service* service = api.oauth.load();
    if (!service) return respond(plain_page(503, "temporarily_unavailable", "starting"));
    oauth::AuthorizeEndpoint endpoint(api.store, api.clock, api.hasher, service->settings());
    auto answer = [respond](oauth::WebReply r) { respond(to_response(std::move(r))); };
    if (!is_form(req))
      return endpoint.refuse_malformed(oauth_request(*service, req, {}),
                                       "the body must be application/x-www-form-urlencoded",
                                       answer);
    auto params = http::parse_query(req.body());
    if (!params.ok())
      return endpoint.refuse_malformed(oauth_request(*service, req, {}), params.error().message,
                                       answer);
    endpoint.decide(oauth_request(*service, req, std::move(params).value()), answer);
  });
}

}  // namespace custody::api
