// The OAuth protocol endpoints (docs/oauth.md): discovery metadata, JWKS, token, introspection,
// revocation. They answer in OAuth's own formats (RFC 6749 error JSON), not problem+json.
#include <boost/beast/core/string.hpp>

#include "api/routes.h"
#include "http/problem.h"
#include "oauth/service.h"

namespace custody::api {
namespace {

using http::Request;
using http::Responder;
using http::Response;

Response to_response(oauth::Reply reply) {
  Response r;
  r.status = reply.status;
  if (!reply.text.empty())
    r.body = std::move(reply.text);
  else if (!reply.body.is_null())
    r.body = reply.body.dump();
  for (auto& [k, v] : reply.headers) r.header(std::move(k), std::move(v));
  return r;
}

Response oauth_error(int status, std::string error, std::string description) {
  Response r;
  r.status = status;
  r.body =
      nlohmann::json{{"error", std::move(error)}, {"error_description", std::move(description)}}
          .dump();
  r.header("Cache-Control", "no-store");
  return r;
}

// Fills an OAuthRequest from a form POST; nullopt (after answering) when the body is not a form.
std::optional<oauth::OAuthRequest> form_request(const oauth::Service& service, const Request& req,
                                                const Responder& respond) {
  std::string_view type = req.header("Content-Type");
  auto semi = type.find(';');
  std::string media(type.substr(0, semi));
  while (!media.empty() && media.back() == ' ') media.pop_back();
  for (auto& c : media) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (media != "application/x-www-form-urlencoded") {
    respond(
        oauth_error(400, "invalid_request", "the body must be application/x-www-form-urlencoded"));
    return std::nullopt;
  }
  auto params = http::parse_query(req.body());
  if (!params.ok()) {
    respond(oauth_error(400, "invalid_request", params.error().message));
    return std::nullopt;
  }
  oauth::OAuthRequest out;
  out.method = std::string(req.method);
  out.url = service.settings().issuer + std::string(req.path);
  out.authorization = std::string(req.header("Authorization"));
  for (const auto& field : req.raw)
    if (boost::beast::iequals(field.name_string(), "DPoP")) out.dpop.emplace_back(field.value());
  out.params = std::move(params).value();
  out.request_id = req.request_id;
  out.remote_address = req.remote_address;
  return out;
}

using Endpoint = void (oauth::Service::*)(const oauth::OAuthRequest&, oauth::ReplyFn);

void add_form_endpoint(http::Router& router, ApiContext& api, std::string path, Endpoint endpoint) {
  router.add("POST", path, [&api, endpoint](Request& req, Responder respond) {
    oauth::Service* service = api.oauth.load();
    if (!service)
      return respond(oauth_error(503, "temporarily_unavailable", "the server is starting"));
    auto in = form_request(*service, req, respond);
    if (!in) return;
    (service->*endpoint)(*in,
                         [respond](oauth::Reply reply) { respond(to_response(std::move(reply))); });
  });
}

void add_document(http::Router& router, ApiContext& api, std::string path,
                  std::function<std::string(const oauth::Service&)> body) {
  router.add("GET", path, [&api, body](Request&, Responder respond) {
    oauth::Service* service = api.oauth.load();
    if (!service)
      return respond(oauth_error(503, "temporarily_unavailable", "the server is starting"));
    Response r;
    r.body = body(*service);
    r.header("Cache-Control", "public, max-age=60");
    respond(std::move(r));
  });
}

}  // namespace

void add_oauth_routes(http::Router& router, ApiContext& api) {
  add_document(router, api, "/.well-known/openid-configuration",
               [](const oauth::Service& s) { return s.metadata(true).dump(); });
  add_document(router, api, "/.well-known/oauth-authorization-server",
               [](const oauth::Service& s) { return s.metadata(false).dump(); });
  add_document(router, api, "/.well-known/jwks.json",
               [](const oauth::Service& s) { return s.jwks_text(); });
  add_form_endpoint(router, api, "/oauth2/token", &oauth::Service::token);
  add_form_endpoint(router, api, "/oauth2/introspect", &oauth::Service::introspect);
  add_form_endpoint(router, api, "/oauth2/revoke", &oauth::Service::revoke);
  add_form_endpoint(router, api, "/oauth2/bc-authorize", &oauth::Service::backchannel_authorize);
}

}  // namespace custody::api
