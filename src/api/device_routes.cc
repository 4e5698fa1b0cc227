// Device trust (docs/devices.md). Administration (admin or owner API tokens):
//   POST   /api/v1/devices/enrolment-tokens          {owner, device?, expires_in?}
//   GET    /api/v1/devices[?owner&trust&state&cursor&limit]
//   GET    /api/v1/devices/{id}                      the device with its allowed identities
//   POST   /api/v1/devices/{id}/revoke               {reason?}
//   PUT    /api/v1/devices/{id}/identities/{identity}  {selectors: ["uid:1000", …]}
//   DELETE /api/v1/devices/{id}/identities/{identity}
// custody-agent (bodies are JWTs the device signed, device/device_jwt.h):
//   POST   /api/v1/devices/enrol                     an enrolment proof
//   POST   /api/v1/devices/{id}/posture              a posture report
//   POST   /api/v1/devices/{id}/workloads            req "workloads": the bindings to match
//   POST   /api/v1/devices/{id}/assertions           req "assertion": a client assertion
//   POST   /api/v1/devices/{id}/events               req "event": a refusal seen on the host
#include "api/device_request.h"
#include "api/operation.h"
#include "api/query.h"
#include "api/routes.h"
#include "audit/events.h"
#include "crypto/jose_encoding.h"
#include "device/assertion.h"
#include "device/compliance.h"
#include "device/device_jwt.h"
#include "device/enrolment.h"
#include "device/trust.h"
#include "device/workloads.h"
#include "directory/access.h"
#include "http/json_body.h"
#include "http/problem.h"
#include "oauth/replay.h"
#include "oauth/service.h"
#include "policy/pdp.h"

namespace custody::api {
namespace {

using http::Request;
using http::Responder;
using http::Response;

device::DeviceJwtPolicy jwt_policy(const ApiContext& api) {
  return device_jwt_policy(api);
}

Micros posture_max_age(const ApiContext& api) {
  return api.config.device.posture_max_age_seconds * kMicrosPerSecond;
}

// What the audit log keeps of a process: everything but its arguments (they may hold secrets).
nlohmann::json audited_process(const device::ProcessEvidence& e) {
  nlohmann::json j = device::to_json(e);
  j.erase("cmdline");
  j["args"] = e.cmdline.size();
  return j;
}

// Verifies a device JWT and spends its jti, in the caller's write.
Result<device::VerifiedDeviceJwt> verified(ApiContext& api, store::Tx& tx, const std::string& jwt,
                                           std::string_view typ, const std::string& device_id,
                                           std::string_view req, Micros now) {
  return verified_device_request(tx, jwt, typ, device_id, req, jwt_policy(api), now);
}

void add_enrol(http::Router& router, ApiContext& api) {
  router.add("POST", "/api/v1/devices/enrol", [&api](Request& req, Responder respond) {
    signed_write(
        api, req, respond, "", "device.enrol", "",
        [&api, body = std::string(req.body())](store::Tx& tx, const std::string& rid,
                                               Micros now) -> Result<Response> {
          std::string jwt = body;
          while (!jwt.empty() && (jwt.back() == '\n' || jwt.back() == '\r')) jwt.pop_back();
          CUSTODY_ASSIGN(auto proof, device::verify_enrolment_proof(jwt, jwt_policy(api), now));
          CUSTODY_ASSIGN(bool fresh,
                         oauth::record_once(tx, "device-enrol", proof.jti, proof.expires_at, now));
          if (!fresh) return Error::unauthenticated("this enrolment proof was already used");
          CUSTODY_ASSIGN(auto enrolled, device::enrol(tx, proof, api.hasher, rid, now));
          nlohmann::json out = device::to_json(enrolled.device, now);
          out["device_id"] = enrolled.device.id;
          out["reenrolled"] = enrolled.reenrolled;
          out["posture_max_age_seconds"] = api.config.device.posture_max_age_seconds;
          return http::json_response(enrolled.reenrolled ? 200 : 201, out);
        });
  });
}

void add_posture(http::Router& router, ApiContext& api) {
  router.add("POST", "/api/v1/devices/{id}/posture", [&api](Request& req, Responder respond) {
    std::string id(req.param("id"));
    auto jwt = signed_body(req);
    if (!jwt.ok()) return refuse(api, req, respond, id, "device.posture", id, jwt.error());
    if (!api.pdp)
      return refuse(api, req, respond, id, "device.posture", id,
                    Error::unavailable("the policy decision point is not running"));
    signed_write(
        api, req, respond, id, "device.posture", id,
        [&api, id, jwt = *jwt](store::Tx& tx, const std::string& rid,
                               Micros now) -> Result<Response> {
          CUSTODY_ASSIGN(auto v, verified(api, tx, jwt, device::kPostureType, id, "", now));
          if (!v.claims.contains("posture"))
            return Error::invalid("the report has no posture claim", "posture");
          CUSTODY_ASSIGN(auto attrs, device::posture_attributes(v.claims["posture"]));
          if (attrs.collected_at > now + jwt_policy(api).skew)
            return Error::invalid("posture.collected_at is in the future", "posture.collected_at");
          device::Verdict verdict = device::assess(
              tx, *api.pdp,
              {v.device, attrs.attributes, attrs.collected_at, now, posture_max_age(api), now});
          CUSTODY_ASSIGN(auto applied,
                         device::apply_verdict(tx, v.device, verdict, v.claims["posture"],
                                               attrs.collected_at, {id, rid, "posture"}, now));
          audit::Event event;
          event.time = now;
          event.actor = id;
          event.action = "device.posture";
          event.target = id;
          event.outcome = "success";
          event.request_id = rid;
          event.details = {{"trust", device::trust_name(verdict.trust)},
                           {"reasons", verdict.reasons},
                           {"policy_version", verdict.policy_version},
                           {"jti", v.jti}};
          CUSTODY_TRY(audit::append(tx, event));
          return http::json_response(200, {{"device_id", id},
                                           {"trust", device::trust_name(verdict.trust)},
                                           {"previous_trust", device::trust_name(applied.before)},
                                           {"reasons", verdict.reasons},
                                           {"policy_version", verdict.policy_version},
                                           {"revoked_tokens", applied.revoked.size()}});
        });
  });
}

void add_workloads(http::Router& router, ApiContext& api) {
  router.add("POST", "/api/v1/devices/{id}/workloads", [&api](Request& req, Responder respond) {
    std::string id(req.param("id"));
    auto jwt = signed_body(req);
    if (!jwt.ok()) return refuse(api, req, respond, id, "device.workloads", id, jwt.error());
    signed_write(
        api, req, respond, id, "device.workloads", id,
        [&api, id, jwt = *jwt](store::Tx& tx, const std::string&, Micros now) -> Result<Response> {
          CUSTODY_ASSIGN(auto v,
                         verified(api, tx, jwt, device::kRequestType, id, "workloads", now));
          CUSTODY_ASSIGN(auto bindings, device::bindings_of_device(tx, id));
          nlohmann::json items = nlohmann::json::array();
          for (const auto& b : bindings) {
            auto j = device::to_json(b);
            j["client_id"] = b.identity_id;
            items.push_back(std::move(j));
          }
          return http::json_response(200, {{"device_id", id},
                                           {"trust", device::trust_name(v.device.trust)},
                                           {"bindings", items}});
        });
  });
}

void add_assertions(http::Router& router, ApiContext& api) {
  router.add("POST", "/api/v1/devices/{id}/assertions", [&api](Request& req, Responder respond) {
    std::string id(req.param("id"));
    auto jwt = signed_body(req);
    if (!jwt.ok()) return refuse(api, req, respond, id, "device.assertion", id, jwt.error());
    auto* oauth = api.oauth.load();
    auto key = api.keys ? api.keys->keys().current() : nullptr;
    if (!oauth || !key)
      return refuse(api, req, respond, id, "device.assertion", id,
                    Error::unavailable("the authorization server is not running"));
    signed_write(
        api, req, respond, id, "device.assertion", id,
        [&api, id, jwt = *jwt, key, endpoint = oauth->settings().token_endpoint()](
            store::Tx& tx, const std::string& rid, Micros now) -> Result<Response> {
          CUSTODY_ASSIGN(auto v,
                         verified(api, tx, jwt, device::kRequestType, id, "assertion", now));
          device::AssertionRequest ar;
          if (!v.claims.contains("identity") || !v.claims["identity"].is_string())
            return Error::invalid("identity is required", "identity");
          ar.identity = v.claims["identity"].get<std::string>();
          if (!v.claims.contains("process"))
            return Error::invalid("process (the attested evidence) is required", "process");
          CUSTODY_ASSIGN(ar.process, device::evidence_from_json(v.claims["process"]));
          if (v.claims.contains("dpop_jkt")) {
            if (!v.claims["dpop_jkt"].is_string() ||
                v.claims["dpop_jkt"].get<std::string>().size() != 43)
              return Error::invalid("dpop_jkt must be an RFC 7638 thumbprint", "dpop_jkt");
            ar.dpop_jkt = v.claims["dpop_jkt"].get<std::string>();
          }
          CUSTODY_ASSIGN(
              auto minted,
              device::mint_assertion(tx, v.device, ar, *key, endpoint,
                                     api.config.device.assertion_ttl_seconds * kMicrosPerSecond,
                                     posture_max_age(api), now));
          audit::Event event;
          event.time = now;
          event.actor = id;
          event.action = "device.assertion";
          event.target = ar.identity;
          event.outcome = "success";
          event.request_id = rid;
          event.details = {{"device", id},
                           {"assertion_jti", minted.jti},
                           {"process", audited_process(ar.process)},
                           {"expires_at", format_rfc3339(minted.expires_at)}};
          if (ar.dpop_jkt) event.details["dpop_jkt"] = *ar.dpop_jkt;
          CUSTODY_TRY(audit::append(tx, event));
          return http::json_response(
              200,
              {{"assertion", minted.assertion},
               {"client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"},
               {"client_id", minted.client_id},
               {"identity", ar.identity},
               {"token_endpoint", endpoint},
               {"expires_at", minted.expires_at / kMicrosPerSecond}});
        });
  });
}

void add_events(http::Router& router, ApiContext& api) {
  router.add("POST", "/api/v1/devices/{id}/events", [&api](Request& req, Responder respond) {
    std::string id(req.param("id"));
    auto jwt = signed_body(req);
    if (!jwt.ok()) return refuse(api, req, respond, id, "device.event", id, jwt.error());
    signed_write(
        api, req, respond, id, "device.event", id,
        [&api, id, jwt = *jwt](store::Tx& tx, const std::string& rid,
                               Micros now) -> Result<Response> {
          CUSTODY_ASSIGN(auto v, verified(api, tx, jwt, device::kRequestType, id, "event", now));
          const auto& c = v.claims;
          if (!c.contains("event") || !c["event"].is_string() ||
              c["event"].get<std::string>().rfind("workload.", 0) != 0 ||
              c["event"].get<std::string>().size() > 64)
            return Error::invalid("event must name a workload.* event", "event");
          audit::Event event;
          event.time = now;
          event.actor = id;
          event.action = "device." + c["event"].get<std::string>();
          event.target = c.contains("identity") && c["identity"].is_string()
                             ? c["identity"].get<std::string>().substr(0, 64)
                             : id;
          event.outcome = c.contains("outcome") && c["outcome"].is_string()
                              ? c["outcome"].get<std::string>().substr(0, 32)
                              : "refused";
          event.request_id = rid;
          event.details = {{"device", id}, {"reported_by", "custody-agent"}};
          // Bounded and typed: the device's words go into the append-only log, and a
          // process's arguments (which may hold secrets) never do.
          if (c.contains("reason")) {
            if (!c["reason"].is_string() || c["reason"].get<std::string>().size() > 2000)
              return Error::invalid("reason must be a string of at most 2000 bytes", "reason");
            event.details["reason"] = c["reason"];
          }
          if (c.contains("process")) {
            CUSTODY_ASSIGN(auto process, device::evidence_from_json(c["process"]));
            event.details["process"] = audited_process(process);
          }
          CUSTODY_TRY(audit::append(tx, event));
          return http::json_response(202, {{"recorded", event.id}});
        });
  });
}

Result<device::Trust> trust_param(const std::string& value) {
  auto t = device::parse_trust(value);
  if (!t) return Error::invalid("trust must be trusted, degraded, untrusted or unknown", "trust");
  return *t;
}

void add_admin(http::Router& router, ApiContext& api) {
  router.add("POST", "/api/v1/devices/enrolment-tokens", [&api](Request& req, Responder respond) {
    auto in = std::make_shared<device::NewEnrolmentToken>();
    in->ttl = api.config.device.enrolment_token_ttl_seconds * kMicrosPerSecond;
    auto validate = [&api, &req, in]() -> Status {
      CUSTODY_ASSIGN(auto body, json_body(api, req));
      CUSTODY_TRY(http::check_members(body, {"owner", "device", "expires_in"}));
      CUSTODY_ASSIGN(in->owner, http::req_string(body, "owner"));
      CUSTODY_ASSIGN(in->device_id, http::opt_string(body, "device"));
      CUSTODY_ASSIGN(auto ttl, http::opt_int(body, "expires_in"));
      if (ttl) {
        if (*ttl < 10 || *ttl > 30LL * 24 * 3600)
          return Error::invalid("expires_in must be 10..2592000 seconds", "expires_in");
        in->ttl = *ttl * kMicrosPerSecond;
      }
      return ok_status();
    };
    write_operation(api, req, respond, "device.enrolment_token.create", "", validate,
                    [&api, in](store::Tx& tx, const directory::OpContext& ctx) -> Result<Response> {
                      CUSTODY_ASSIGN(auto t,
                                     device::create_enrolment_token(tx, ctx, *in, api.hasher));
                      nlohmann::json out = {{"id", t.id},
                                            {"token", t.value},
                                            {"owner", t.owner},
                                            {"expires_at", format_rfc3339(t.expires_at)}};
                      if (t.device_id) out["device"] = *t.device_id;
                      return http::json_response(201, out);
                    });
  });

  router.add("GET", "/api/v1/devices", [&api](Request& req, Responder respond) {
    auto filter = std::make_shared<device::DeviceFilter>();
    auto validate = [&api, &req, filter]() -> Status {
      CUSTODY_ASSIGN(auto query, http::parse_query(req.query));
      for (const auto& [name, value] : query) {
        if (name == "owner") {
          filter->owner = value;
        } else if (name == "trust") {
          CUSTODY_ASSIGN(filter->trust, trust_param(value));
        } else if (name == "state") {
          if (value != "active" && value != "revoked")
            return Error::invalid("state must be active or revoked", "state");
          filter->revoked = value == "revoked";
        } else if (name == "cursor") {
          filter->after_id = value;
        } else if (name == "limit") {
          CUSTODY_ASSIGN(filter->limit, parse_limit(value, api.config));
        } else {
          return Error::invalid("unknown query parameter \"" + name + "\"", name);
        }
      }
      return ok_status();
    };
    read_operation(api, req, respond, "device.list", "", validate,
                   [filter](store::Tx& tx, const directory::OpContext& ctx) -> Result<Response> {
                     device::DeviceFilter f = *filter;
                     // An owner token sees the devices of its own human.
                     if (ctx.who.role == directory::Role::kOwner) f.owner = ctx.who.human_id;
                     f.limit += 1;
                     CUSTODY_ASSIGN(auto list, device::list_devices(tx, f));
                     nlohmann::json items = nlohmann::json::array();
                     std::size_t shown = std::min<std::size_t>(list.size(), filter->limit);
                     for (std::size_t i = 0; i < shown; ++i)
                       items.push_back(device::to_json(list[i], ctx.now));
                     nlohmann::json body = {{"items", items}};
                     if (list.size() > shown) body["next_cursor"] = list[shown - 1].id;
                     return http::json_response(200, body);
                   });
  });

  router.add("GET", "/api/v1/devices/{id}", [&api](Request& req, Responder respond) {
    std::string id(req.param("id"));
    read_operation(
        api, req, respond, "device.read", id, nullptr,
        [id](store::Tx& tx, const directory::OpContext& ctx) -> Result<Response> {
          CUSTODY_ASSIGN(auto d, device::find_device(tx, id));
          if (!d || (ctx.who.role == directory::Role::kOwner && ctx.who.human_id != d->owner_id))
            return directory::access::not_found("device", id);
          nlohmann::json out = device::to_json(*d, ctx.now);
          CUSTODY_ASSIGN(auto bindings, device::bindings_of_device(tx, id));
          out["identities"] = nlohmann::json::array();
          for (const auto& b : bindings) out["identities"].push_back(device::to_json(b));
          return http::json_response(200, out);
        });
  });

  router.add("POST", "/api/v1/devices/{id}/revoke", [&api](Request& req, Responder respond) {
    std::string id(req.param("id"));
    auto reason = std::make_shared<std::string>();
    write_operation(
        api, req, respond, "device.revoke", id,
        validate_reason(api, req, reason, "revoked by an administrator"),
        [id, reason](store::Tx& tx, const directory::OpContext& ctx) -> Result<Response> {
          CUSTODY_ASSIGN(auto d, device::find_device(tx, id));
          if (!d || (ctx.who.role == directory::Role::kOwner && ctx.who.human_id != d->owner_id))
            return directory::access::not_found("device", id);
          CUSTODY_ASSIGN(auto applied, device::revoke_device(
                                           tx, *d, *reason,
                                           {ctx.who.actor(), ctx.request_id, "revoked"}, ctx.now));
          CUSTODY_ASSIGN(auto fresh, device::find_device(tx, id));
          nlohmann::json out = device::to_json(*fresh, ctx.now);
          out["revoked_tokens"] = applied.revoked;
          return http::json_response(200, out);
        });
  });

  router.add(
      "PUT", "/api/v1/devices/{id}/identities/{identity}", [&api](Request& req, Responder respond) {
        std::string id(req.param("id"));
        std::string identity(req.param("identity"));
        auto selectors = std::make_shared<std::vector<device::Selector>>();
        auto validate = [&api, &req, selectors]() -> Status {
          CUSTODY_ASSIGN(auto body, json_body(api, req));
          CUSTODY_TRY(http::check_members(body, {"selectors"}));
          CUSTODY_ASSIGN(auto list, http::opt_string_list(body, "selectors"));
          if (!list) return Error::invalid("selectors is required", "selectors");
          for (const auto& text : *list) {
            CUSTODY_ASSIGN(auto s, device::parse_selector(text));
            selectors->push_back(std::move(s));
          }
          return ok_status();
        };
        write_operation(api, req, respond, "device.allow", id, validate,
                        [id, identity, selectors](
                            store::Tx& tx, const directory::OpContext& ctx) -> Result<Response> {
                          CUSTODY_ASSIGN(auto b, device::allow(tx, ctx, id, identity, *selectors));
                          return http::json_response(200, device::to_json(b));
                        });
      });

  router.add("DELETE", "/api/v1/devices/{id}/identities/{identity}",
             [&api](Request& req, Responder respond) {
               std::string id(req.param("id"));
               std::string identity(req.param("identity"));
               write_operation(api, req, respond, "device.disallow", id, nullptr,
                               [id, identity](store::Tx& tx,
                                              const directory::OpContext& ctx) -> Result<Response> {
                                 CUSTODY_TRY(device::disallow(tx, ctx, id, identity));
                                 Response r;
                                 r.status = 204;
                                 r.content_type.clear();
                                 return r;
                               });
             });
}

}  // namespace

void add_device_routes(http::Router& router, ApiContext& api) {
  add_enrol(router, api);
  add_posture(router, api);
  add_workloads(router, api);
  add_assertions(router, api);
  add_events(router, api);
  add_admin(router, api);
}

}  // namespace custody::api
