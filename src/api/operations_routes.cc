// Unauthenticated operations endpoints: liveness, readiness, metrics.
#include "api/routes.h"
#include "http/problem.h"

namespace custody::api {

void add_operations_routes(http::Router& router, ApiContext& api, http::Metrics& metrics) {
  router.add("GET", "/healthz", [](http::Request&, http::Responder respond) {
    respond(http::json_response(200, {{"status", "ok"}}));
  });
  router.add("GET", "/readyz", [&api](http::Request& req, http::Responder respond) {
    Status s = api.store.ping();
    if (!s.ok())
      return respond(
          http::problem(req, Error::unavailable("store unreachable: " + s.error().message)));
    respond(http::json_response(200, {{"status", "ready"}, {"store", api.store.backend()}}));
  });
  router.add("GET", "/metrics", [&metrics](http::Request&, http::Responder respond) {
    http::Response r;
    r.content_type = "text/plain; version=0.0.4";
    r.body = metrics.exposition();
    respond(std::move(r));
  });
}

}  // namespace custody::api
