// The OpenID Shared Signals Framework 1.0 transmitter endpoints (docs/ssf.md):
//   GET  /.well-known/ssf-configuration   transmitter metadata
//   POST|GET|PATCH|PUT|DELETE /ssf/streams  stream configuration (?stream_id= for GET/DELETE)
//   GET|POST /ssf/status                   stream status
//   POST /ssf/verify                       queue a verification event
//   POST /ssf/poll/{stream_id}             RFC 8936 poll delivery (acks, setErrs, SETs)
//
// Receivers authenticate with a bearer token: a custody access token with the ssf.scope scope
// (default custody:ssf) whose audience includes the issuer, not revoked; or an admin API token of
// the admin role. A stream belongs to whoever created it (the access token's client id, or the
// admin's actor): receivers see and change only their own streams (others are 404), admins every
// stream.
//
// Stream changes are audited ("ssf.stream.create|update|replace|delete|status|verify") in the
// change's own transaction; refusals are audited like every other API refusal. Errors are RFC
// 9457 problems, except on the poll endpoint where a malformed request gets RFC 8936's
// {"err": "invalid_request", "description"} (still audited).
#include <algorithm>

#include "api/operation.h"
#include "api/routes.h"
#include "api/scoped_caller.h"
#include "audit/events.h"
#include "common/ids.h"
#include "common/log.h"
#include "http/json_body.h"
#include "http/problem.h"
#include "oauth/service.h"
#include "ssf/set.h"
#include "ssf/streams.h"
#include "ssf/transmitter.h"

namespace custody::api {
namespace {

using http::Request;
using http::Responder;
using http::Response;
using nlohmann::json;

// Each stream costs a scan of the outbox per push pass and a copy of every event it asks for:
// a receiver gets a bounded number.
constexpr std::size_t kMaxStreamsPerOwner = 50;

struct Receiver {
  std::string owner;  // streams created are owned by this
  bool admin = false;
};

std::string issuer_of(ApiContext& api) {
  oauth::Service* service = api.oauth.load();
  return service ? service->settings().issuer : std::string();
}

Result<Receiver> authenticate_receiver(ApiContext& api, store::Tx& tx, const Request& req,
                                       Micros now) {
  CUSTODY_ASSIGN(auto who, authenticate_scoped(api, tx, req, now, api.config.ssf.scope, "",
                                               "may manage event streams"));
  return Receiver{who.actor, who.admin};
}

// The stream `id` when `who` may see it; 404 otherwise (a stream of someone else is not
// revealed).
Result<ssf::Stream> owned_stream(store::Tx& tx, const Receiver& who, const std::string& id) {
  if (id.empty()) return Error::invalid("stream_id is required", "stream_id");
  CUSTODY_ASSIGN(auto stream, ssf::find_stream(tx, id));
  if (!stream || (!who.admin && stream->owner != who.owner))
    return Error::not_found("no stream " + id);
  return std::move(*stream);
}

Result<std::string> query_stream_id(const Request& req) {
  CUSTODY_ASSIGN(auto params, http::parse_query(req.query));
  for (const auto& [k, v] : params)
    if (k == "stream_id") return v;
  return std::string();
}

Status append_audit(store::Tx& tx, const std::string& actor, const std::string& action,
                    const std::string& target, const std::string& request_id, Micros now,
                    json details) {
  audit::Event event;
  event.time = now;
  event.actor = actor;
  event.action = action;
  event.target = target;
  event.outcome = "success";
  event.request_id = request_id;
  event.details = std::move(details);
  return audit::append(tx, event);
}

using ReadBody = std::function<Result<Response>(store::Tx&, const Receiver&)>;
using WriteBody = std::function<Result<Response>(store::Tx&, const Receiver&, Micros now)>;

bool check_running(ApiContext& api, Request& req, const Responder& respond,
                   const std::string& action) {
  if (api.ssf != nullptr && api.oauth.load() != nullptr) return true;
  refuse(api, req, respond, "", action, "",
         Error::unavailable("the shared signals transmitter is not running"));
  return false;
}

// Authenticates, then answers from a read connection.
void receiver_read(ApiContext& api, Request& req, Responder respond, const std::string& action,
                   const ReadBody& body) {
  if (!check_running(api, req, respond, action)) return;
  Micros now = api.clock.now();
  std::string actor;
  Result<Response> outcome = Error::internal("no response");
  Status s = api.store.read([&](store::Tx& tx) -> Status {
    auto who = authenticate_receiver(api, tx, req, now);
    if (!who.ok()) {
      outcome = who.error();
      return ok_status();
    }
    actor = who->owner;
    outcome = body(tx, *who);
    return ok_status();
  });
  if (!s.ok()) outcome = s.error();
  if (!outcome.ok()) return refuse(api, req, respond, actor, action, "", outcome.error());
  respond(std::move(outcome).value());
}

// Audits a refusal like refuse() does, but answers in the endpoint's own error format.
void refuse_as(ApiContext& api, const Request& req, const Responder& respond,
               const std::string& actor, const std::string& action, const Error& error,
               const std::function<Response(const Request&, const Error&)>& format) {
  Response shown = format(req, error);
  audit::Event event;
  event.time = api.clock.now();
  event.actor = actor.empty() ? "anonymous" : actor;
  event.action = action;
  event.outcome = std::string(code_name(error.code));
  event.request_id = req.request_id;
  event.details = {{"method", req.method}, {"path", req.path}, {"reason", error.message}};
  auto shared = std::make_shared<Response>(std::move(shown));
  api.store.write([event](store::Tx& tx) mutable { return audit::append(tx, event); },
                  [respond, shared](Status) { respond(std::move(*shared)); });
}

// Authenticates on a read connection, then runs `body` as one group-commit work and answers once
// it is durable.
void receiver_write(ApiContext& api, Request& req, Responder respond, const std::string& action,
                    WriteBody body) {
  if (!check_running(api, req, respond, action)) return;
  Micros now = api.clock.now();
  Result<Receiver> who = Error::unauthenticated("not authenticated");
  Status s = api.store.read([&](store::Tx& tx) -> Status {
    who = authenticate_receiver(api, tx, req, now);
    return ok_status();
  });
  if (!s.ok()) who = s.error();
  if (!who.ok()) return refuse(api, req, respond, "", action, "", who.error());

  auto receiver = std::make_shared<Receiver>(*who);
  auto result = std::make_shared<std::optional<Response>>();
  std::string method(req.method), path(req.path), request_id = req.request_id,
                                                  remote = req.remote_address;
  api.store.write(
      [receiver, result, now, body = std::move(body)](store::Tx& tx) -> Status {
        CUSTODY_ASSIGN(auto response, body(tx, *receiver, now));
        *result = std::move(response);
        return ok_status();
      },
      [&api, respond, result, receiver, action, method, path, request_id, remote](Status st) {
        if (st.ok()) {
          if (api.ssf) api.ssf->wake();
          return respond(std::move(**result));
        }
        static const http::BeastRequest kEmpty;
        Request echo{kEmpty, method, path, {}, request_id, remote, {}, 0};
        refuse(api, echo, respond, receiver->owner, action, "", st.error());
      });
}

Result<json> body_of(ApiContext& api, const Request& req) {
  return json_body(api, req);
}

// ----- streams -----

void create_stream(ApiContext& api, Request& req, Responder respond) {
  auto body = body_of(api, req);
  std::string issuer = issuer_of(api);
  receiver_write(api, req, respond, "ssf.stream.create",
                 [body, issuer, rid = req.request_id](store::Tx& tx, const Receiver& who,
                                                      Micros now) -> Result<Response> {
                   if (!body.ok()) return body.error();
                   CUSTODY_ASSIGN(auto existing, ssf::list_streams(tx, who.owner));
                   if (existing.size() >= kMaxStreamsPerOwner)
                     return Error::conflict("at most " + std::to_string(kMaxStreamsPerOwner) +
                                            " streams per receiver; delete one first");
                   ssf::Stream stream;
                   stream.id = new_id("ssf", now);
                   stream.owner = who.owner;
                   stream.iss = issuer;
                   stream.aud = who.owner;
                   stream.created_at = stream.updated_at = now;
                   CUSTODY_TRY(ssf::apply_stream_request(stream, *body, ssf::Change::kCreate));
                   if (stream.method == ssf::kPollMethod)
                     stream.endpoint_url = issuer + "/ssf/poll/" + stream.id;
                   CUSTODY_TRY(ssf::insert_stream(tx, stream));
                   json config = ssf::stream_json(stream);
                   CUSTODY_TRY(append_audit(tx, who.owner, "ssf.stream.create", stream.id, rid, now,
                                            {{"stream", config}}));
                   return http::json_response(201, config);
                 });
}

void get_streams(ApiContext& api, Request& req, Responder respond) {
  auto id = query_stream_id(req);
  receiver_read(api, req, respond, "ssf.stream.read",
                [&](store::Tx& tx, const Receiver& who) -> Result<Response> {
                  if (!id.ok()) return id.error();
                  if (!id->empty()) {
                    CUSTODY_ASSIGN(auto stream, owned_stream(tx, who, *id));
                    return http::json_response(200, ssf::stream_json(stream));
                  }
                  CUSTODY_ASSIGN(
                      auto streams,
                      ssf::list_streams(tx, who.admin ? std::nullopt : std::optional(who.owner)));
                  json list = json::array();
                  for (const auto& s : streams) list.push_back(ssf::stream_json(s));
                  return http::json_response(200, list);
                });
}

void change_stream(ApiContext& api, Request& req, Responder respond, ssf::Change change) {
  auto body = body_of(api, req);
  std::string issuer = issuer_of(api);
  std::string action = change == ssf::Change::kReplace ? "ssf.stream.replace" : "ssf.stream.update";
  receiver_write(
      api, req, respond, action,
      [body, issuer, action, change, rid = req.request_id](store::Tx& tx, const Receiver& who,
                                                           Micros now) -> Result<Response> {
        if (!body.ok()) return body.error();
        CUSTODY_ASSIGN(auto id, http::req_string(*body, "stream_id"));
        CUSTODY_ASSIGN(auto stream, owned_stream(tx, who, id));
        CUSTODY_TRY(ssf::apply_stream_request(stream, *body, change));
        if (stream.method == ssf::kPollMethod)
          stream.endpoint_url = issuer + "/ssf/poll/" + stream.id;
        stream.updated_at = now;
        CUSTODY_TRY(ssf::update_stream(tx, stream));
        json config = ssf::stream_json(stream);
        CUSTODY_TRY(append_audit(tx, who.owner, action, stream.id, rid, now, {{"stream", config}}));
        return http::json_response(200, config);
      });
}

void delete_stream(ApiContext& api, Request& req, Responder respond) {
  auto id = query_stream_id(req);
  receiver_write(api, req, respond, "ssf.stream.delete",
                 [id, rid = req.request_id](store::Tx& tx, const Receiver& who,
                                            Micros now) -> Result<Response> {
                   if (!id.ok()) return id.error();
                   CUSTODY_ASSIGN(auto stream, owned_stream(tx, who, *id));
                   CUSTODY_TRY(ssf::delete_stream(tx, stream.id));
                   CUSTODY_TRY(append_audit(tx, who.owner, "ssf.stream.delete", stream.id, rid, now,
                                            json::object()));
                   Response r;
                   r.status = 204;
                   r.content_type.clear();
                   return r;
                 });
}

// ----- status and verification -----

json status_json(const ssf::Stream& stream) {
  json out = {{"stream_id", stream.id}, {"status", stream.status}};
  if (!stream.status_reason.empty()) out["reason"] = stream.status_reason;
  return out;
}

void get_status(ApiContext& api, Request& req, Responder respond) {
  auto id = query_stream_id(req);
  receiver_read(api, req, respond, "ssf.stream.status.read",
                [&](store::Tx& tx, const Receiver& who) -> Result<Response> {
                  if (!id.ok()) return id.error();
                  CUSTODY_ASSIGN(auto stream, owned_stream(tx, who, *id));
                  return http::json_response(200, status_json(stream));
                });
}

void update_status(ApiContext& api, Request& req, Responder respond) {
  auto body = body_of(api, req);
  receiver_write(
      api, req, respond, "ssf.stream.status",
      [body, rid = req.request_id](store::Tx& tx, const Receiver& who,
                                   Micros now) -> Result<Response> {
        if (!body.ok()) return body.error();
        CUSTODY_TRY(http::check_members(*body, {"stream_id", "status", "reason"}));
        CUSTODY_ASSIGN(auto id, http::req_string(*body, "stream_id"));
        CUSTODY_ASSIGN(auto status, http::req_string(*body, "status"));
        CUSTODY_ASSIGN(auto reason, http::opt_string(*body, "reason"));
        CUSTODY_ASSIGN(auto stream, owned_stream(tx, who, id));
        std::string before = stream.status;
        CUSTODY_TRY(ssf::set_stream_status(tx, stream, status, reason.value_or(""), now));
        CUSTODY_TRY(append_audit(tx, who.owner, "ssf.stream.status", stream.id, rid, now,
                                 {{"from", before}, {"to", status}}));
        return http::json_response(200, status_json(stream));
      });
}

void verify(ApiContext& api, Request& req, Responder respond) {
  auto body = body_of(api, req);
  receiver_write(api, req, respond, "ssf.stream.verify",
                 [body, rid = req.request_id](store::Tx& tx, const Receiver& who,
                                              Micros now) -> Result<Response> {
                   if (!body.ok()) return body.error();
                   CUSTODY_TRY(http::check_members(*body, {"stream_id", "state"}));
                   CUSTODY_ASSIGN(auto id, http::req_string(*body, "stream_id"));
                   CUSTODY_ASSIGN(auto state, http::opt_string(*body, "state"));
                   CUSTODY_ASSIGN(auto stream, owned_stream(tx, who, id));
                   if (stream.status == "disabled")
                     return Error::conflict("the stream is disabled", "stream_id");
                   CUSTODY_TRY(ssf::queue_verification(tx, stream, state, now));
                   CUSTODY_TRY(append_audit(tx, who.owner, "ssf.stream.verify", stream.id, rid, now,
                                            json::object()));
                   Response r;
                   r.status = 204;
                   r.content_type.clear();
                   return r;
                 });
}

// ----- poll (RFC 8936) -----

struct PollRequest {
  std::int64_t max_events = 0;
  std::vector<std::string> acks;
  std::vector<std::pair<std::string, std::string>> errors;  // jti → "err: description"
};

Result<PollRequest> parse_poll(const json& body, std::int64_t max) {
  CUSTODY_TRY(http::check_members(body, {"maxEvents", "returnImmediately", "ack", "setErrs"}));
  PollRequest out;
  CUSTODY_ASSIGN(auto max_events, http::opt_int(body, "maxEvents"));
  if (max_events && *max_events < 0)
    return Error::invalid("maxEvents must not be negative", "maxEvents");
  out.max_events = std::min(max_events.value_or(max), max);
  if (body.contains("returnImmediately") && !body["returnImmediately"].is_boolean())
    return Error::invalid("returnImmediately must be a boolean", "returnImmediately");
  CUSTODY_ASSIGN(auto acks, http::opt_string_list(body, "ack"));
  if (acks) out.acks = *acks;
  if (body.contains("setErrs")) {
    const json& errs = body["setErrs"];
    if (!errs.is_object()) return Error::invalid("setErrs must be an object", "setErrs");
    for (const auto& [jti, e] : errs.items()) {
      if (!e.is_object() || !e.contains("err") || !e["err"].is_string())
        return Error::invalid("setErrs." + jti + " must be an object with err", "setErrs");
      std::string text = e["err"].get<std::string>();
      if (e.contains("description") && e["description"].is_string())
        text += ": " + e["description"].get<std::string>();
      out.errors.emplace_back(jti, text);
    }
  }
  return out;
}

Response poll_error(const Request& req, const Error& error) {
  if (error.code != Code::kInvalidArgument) return http::problem(req, error);
  Response r =
      http::json_response(400, {{"err", "invalid_request"}, {"description", error.message}});
  r.header("Cache-Control", "no-store");
  return r;
}

void poll(ApiContext& api, Request& req, Responder respond) {
  const std::string action = "ssf.poll";
  if (!check_running(api, req, respond, action)) return;
  Micros now = api.clock.now();
  std::string id(req.param("stream_id"));
  std::string actor;
  std::optional<Error> unauthenticated;
  PollRequest request;
  std::vector<ssf::QueuedSet> pending;
  bool more = false;
  // The next SETs are read (skipping the ones this request settles) and signed before the acks
  // are written, so that neither the read nor the signing runs on the writer. A SET that a
  // concurrent poll settles meanwhile may still be handed out once more, which RFC 8936 allows
  // (receivers deduplicate by jti).
  Status outcome = ok_status();
  Status s = api.store.read([&](store::Tx& tx) -> Status {
    auto who = authenticate_receiver(api, tx, req, now);
    if (!who.ok()) {
      unauthenticated = who.error();
      return ok_status();
    }
    actor = who->owner;
    outcome = [&]() -> Status {
      CUSTODY_ASSIGN(auto body, body_of(api, req));
      CUSTODY_ASSIGN(request, parse_poll(body, api.config.ssf.max_poll_events));
      CUSTODY_ASSIGN(auto stream, owned_stream(tx, *who, id));
      if (stream.method != ssf::kPollMethod)
        return Error::conflict("stream " + id + " uses push delivery");
      // A paused stream holds its SETs; a disabled one has none.
      if (stream.status != "enabled" || request.max_events == 0) return ok_status();
      std::vector<std::string> settled = request.acks;
      for (const auto& [jti, text] : request.errors) settled.push_back(jti);
      CUSTODY_ASSIGN(pending, ssf::pending_sets(tx, id, request.max_events + 1, settled));
      more = static_cast<std::int64_t>(pending.size()) > request.max_events;
      if (more) pending.pop_back();
      return ok_status();
    }();
    return ok_status();
  });
  if (!s.ok()) unauthenticated = s.error();
  if (unauthenticated) return refuse(api, req, respond, actor, action, "", *unauthenticated);
  if (!outcome.ok())
    return refuse_as(api, req, respond, actor, action, outcome.error(), poll_error);

  json sets = json::object();
  for (const auto& set : pending) {
    auto jwt = api.ssf->sign(set.claims);
    if (!jwt.ok()) return refuse(api, req, respond, actor, action, id, jwt.error());
    sets[set.jti] = *jwt;
  }
  Response response = http::json_response(200, {{"sets", sets}, {"moreAvailable", more}});
  response.header("Cache-Control", "no-store");
  if (request.acks.empty() && request.errors.empty()) return respond(std::move(response));

  auto shared = std::make_shared<Response>(std::move(response));
  std::string method(req.method), path(req.path), request_id = req.request_id,
                                                  remote = req.remote_address;
  api.store.write(
      [id, request, now](store::Tx& tx) -> Status {
        for (const auto& jti : request.acks) CUSTODY_TRY(ssf::mark_delivered(tx, id, jti, now));
        for (const auto& [jti, text] : request.errors)
          CUSTODY_TRY(ssf::mark_failed(tx, id, jti, text, now));
        return ok_status();
      },
      [&api, respond, shared, actor, action, method, path, request_id, remote](Status st) {
        if (st.ok()) return respond(std::move(*shared));
        static const http::BeastRequest kEmpty;
        Request echo{kEmpty, method, path, {}, request_id, remote, {}, 0};
        refuse(api, echo, respond, actor, action, "", st.error());
      });
}

json configuration(const std::string& issuer) {
  return {{"spec_version", "1_0"},
          {"issuer", issuer},
          {"jwks_uri", issuer + "/.well-known/jwks.json"},
          {"delivery_methods_supported", {ssf::kPushMethod, ssf::kPollMethod}},
          {"configuration_endpoint", issuer + "/ssf/streams"},
          {"status_endpoint", issuer + "/ssf/status"},
          {"verification_endpoint", issuer + "/ssf/verify"},
          {"authorization_schemes",
           {{{"spec_urn", "urn:ietf:rfc:6749"}}, {{"spec_urn", "urn:ietf:rfc:6750"}}}},
          {"default_subjects", "ALL"}};
}

}  // namespace

void add_ssf_routes(http::Router& router, ApiContext& api) {
  router.add("GET", "/.well-known/ssf-configuration", [&api](Request&, Responder respond) {
    std::string issuer = issuer_of(api);
    if (issuer.empty())
      return respond(http::json_response(503, {{"error", "the server is starting"}}));
    Response r = http::json_response(200, configuration(issuer));
    r.header("Cache-Control", "public, max-age=60");
    respond(std::move(r));
  });
  router.add("POST", "/ssf/streams",
             [&api](Request& req, Responder respond) { create_stream(api, req, respond); });
  router.add("GET", "/ssf/streams",
             [&api](Request& req, Responder respond) { get_streams(api, req, respond); });
  router.add("PATCH", "/ssf/streams", [&api](Request& req, Responder respond) {
    change_stream(api, req, respond, ssf::Change::kUpdate);
  });
  router.add("PUT", "/ssf/streams", [&api](Request& req, Responder respond) {
    change_stream(api, req, respond, ssf::Change::kReplace);
  });
  router.add("DELETE", "/ssf/streams",
             [&api](Request& req, Responder respond) { delete_stream(api, req, respond); });
  router.add("GET", "/ssf/status",
             [&api](Request& req, Responder respond) { get_status(api, req, respond); });
  router.add("POST", "/ssf/status",
             [&api](Request& req, Responder respond) { update_status(api, req, respond); });
  router.add("POST", "/ssf/verify",
             [&api](Request& req, Responder respond) { verify(api, req, respond); });
  router.add("POST", "/ssf/poll/{stream_id}",
             [&api](Request& req, Responder respond) { poll(api, req, respond); });
}

}  // namespace custody::api
