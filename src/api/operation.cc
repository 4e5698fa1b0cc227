#include "api/operation.h"

#include <memory>

#include "audit/events.h"
#include "common/log.h"
#include "directory/admin_tokens.h"
#include "http/json_body.h"
#include "http/problem.h"

namespace custody::api {

std::string_view bearer_token(const http::Request& request) {
  std::string_view h = request.header("Authorization");
  if (h.size() < 7) return {};
  std::string scheme(h.substr(0, 7));
  for (auto& c : scheme) c = static_cast<char>(std::tolower(c));
  if (scheme != "bearer ") return {};
  h.remove_prefix(7);
  while (!h.empty() && h.front() == ' ') h.remove_prefix(1);
  return h;
}

namespace {

Result<directory::Principal> authenticate(ApiContext& api, store::Tx& tx,
                                          const http::Request& request, Micros now) {
  std::string_view token = bearer_token(request);
  if (token.empty()) return Error::unauthenticated("missing bearer token");
  return directory::authenticate_admin_token(tx, token, api.hasher, now);
}

// An owning copy of the parts of a Request that refusals read.
class RequestEcho {
 public:
  explicit RequestEcho(const http::Request& r)
      : method_(r.method), path_(r.path), request_id_(r.request_id), remote_(r.remote_address) {}
  http::Request request() const {
    static const http::BeastRequest kEmpty;
    return http::Request{kEmpty, method_, path_, {}, request_id_, remote_, {}, 0};
  }

 private:
  std::string method_, path_, request_id_, remote_;
};

}  // namespace

void refuse(ApiContext& api, const http::Request& request, http::Responder respond,
            const std::string& actor, const std::string& action, const std::string& target,
            const Error& error) {
  audit::Event event;
  event.time = api.clock.now();
  event.actor = actor.empty() ? "anonymous" : actor;
  event.action = action;
  event.target = target;
  event.outcome = std::string(code_name(error.code));
  event.request_id = request.request_id;
  event.details = {{"method", request.method}, {"path", request.path}, {"reason", error.message}};
  if (!error.field.empty()) event.details["field"] = error.field;
  if (!request.remote_address.empty()) event.details["remote"] = request.remote_address;
  Error shown = error;
  if (error.code == Code::kInternal) {
    // Backend messages can name tables and statements: they go to the log, not to the client.
    log::error("internal error", {{"request_id", request.request_id}, {"error", error.message}});
    shown = Error::internal("internal error; the log has details under request id " +
                            request.request_id);
  }
  http::Response response = http::problem(request, shown);
  auto shared = std::make_shared<http::Response>(std::move(response));
  api.store.write([event](store::Tx& tx) mutable { return audit::append(tx, event); },
                  [respond, shared, rid = request.request_id](Status s) {
                    if (!s.ok())
                      log::error("could not audit a refused request",
                                 {{"request_id", rid}, {"error", s.error().message}});
                    respond(std::move(*shared));
                  });
}

void read_operation(ApiContext& api, http::Request& request, http::Responder respond,
                    std::string action, std::string target, Validate validate, OperationBody body) {
  Micros now = api.clock.now();
  std::string actor;
  Result<http::Response> outcome = Error::internal("the operation produced no response");
  Status s = api.store.read([&](store::Tx& tx) -> Status {
    auto who = authenticate(api, tx, request, now);
    if (!who.ok()) {
      outcome = who.error();
      return ok_status();
    }
    actor = who->actor();
    if (validate) {
      if (Status v = validate(); !v.ok()) {
        outcome = v.error();
        return ok_status();
      }
    }
    outcome = body(tx, directory::OpContext{*who, request.request_id, now});
    return ok_status();
  });
  if (!s.ok()) outcome = s.error();
  if (!outcome.ok()) return refuse(api, request, respond, actor, action, target, outcome.error());
  respond(std::move(outcome).value());
}

void write_operation(ApiContext& api, http::Request& request, http::Responder respond,
                     std::string action, std::string target, Validate validate,
                     OperationBody body) {
  Micros now = api.clock.now();
  // Authenticate on a read connection first so that refusals never wait behind the writer.
  Result<directory::Principal> principal = Error::unauthenticated("not authenticated");
  Status s = api.store.read([&](store::Tx& tx) -> Status {
    principal = authenticate(api, tx, request, now);
    return ok_status();
  });
  if (!s.ok()) principal = s.error();
  if (!principal.ok()) return refuse(api, request, respond, "", action, target, principal.error());
  if (!principal->can_write())
    return refuse(api, request, respond, principal->actor(), action, target,
                  Error::denied("auditor tokens are read-only"));
  if (validate) {
    if (Status v = validate(); !v.ok())
      return refuse(api, request, respond, principal->actor(), action, target, v.error());
  }

  auto result = std::make_shared<std::optional<http::Response>>();
  auto who = std::make_shared<directory::Principal>(*principal);
  std::string request_id = request.request_id;
  // What a refusal needs of the request, copied: if the server gives up draining at shutdown, the
  // connection (and its Request) may be gone before the store calls back.
  auto echo = std::make_shared<RequestEcho>(request);
  api.store.write(
      [result, who, request_id, now, body](store::Tx& tx) -> Status {
        directory::OpContext ctx{*who, request_id, now};
        auto r = body(tx, ctx);
        if (!r.ok()) return r.error();
        *result = std::move(r).value();
        return ok_status();
      },
      [&api, echo, respond, result, who, action, target](Status st) {
        if (!st.ok())
          return refuse(api, echo->request(), respond, who->actor(), action, target, st.error());
        respond(std::move(**result));
      });
}

void signed_write(ApiContext& api, http::Request& request, http::Responder respond,
                  std::string actor, std::string action, std::string target, SignedBody body) {
  Micros now = api.clock.now();
  auto result = std::make_shared<std::optional<http::Response>>();
  auto echo = std::make_shared<RequestEcho>(request);
  std::string request_id = request.request_id;
  api.store.write(
      [result, request_id, now, body](store::Tx& tx) -> Status {
        auto r = body(tx, request_id, now);
        if (!r.ok()) return r.error();
        *result = std::move(r).value();
        return ok_status();
      },
      [&api, echo, respond, result, actor, action, target](Status st) {
        if (!st.ok())
          return refuse(api, echo->request(), respond, actor, action, target, st.error());
        respond(std::move(**result));
      });
}

Result<nlohmann::json> json_body(const ApiContext& api, const http::Request& request) {
  return http::parse_json_object(request, static_cast<int>(api.config.limits.max_json_depth));
}

Result<std::string> optional_reason(const ApiContext& api, const http::Request& request,
                                    std::string fallback, EmptyReason empty) {
  constexpr std::size_t kMaxReason = 2000;
  if (request.body().empty()) return fallback;
  CUSTODY_ASSIGN(auto body, json_body(api, request));
  CUSTODY_TRY(http::check_members(body, {"reason"}));
  CUSTODY_ASSIGN(auto reason, http::opt_string(body, "reason"));
  if (!reason) return fallback;
  if (empty == EmptyReason::kAccepted && reason->size() > kMaxReason)
    return Error::invalid("reason is at most 2000 characters", "reason");
  if (empty == EmptyReason::kRefused && (reason->empty() || reason->size() > kMaxReason))
    return Error::invalid("reason must be 1..2000 characters", "reason");
  return std::move(*reason);
}

Validate validate_reason(const ApiContext& api, const http::Request& request,
                         std::shared_ptr<std::string> reason, std::string fallback,
                         EmptyReason empty) {
  return [&api, &request, reason = std::move(reason), fallback = std::move(fallback),
          empty]() -> Status {
    CUSTODY_ASSIGN(*reason, optional_reason(api, request, fallback, empty));
    return ok_status();
  };
}

Result<std::optional<std::int64_t>> if_match_version(const http::Request& request) {
  std::string_view v = request.header("If-Match");
  if (v.empty()) return std::optional<std::int64_t>();
  if (v.substr(0, 2) == "W/") v.remove_prefix(2);
  if (v.size() >= 2 && v.front() == '"' && v.back() == '"') v = v.substr(1, v.size() - 2);
  std::int64_t n = 0;
  if (v.empty() || v.size() > 18) return Error::invalid("If-Match must be an ETag", "If-Match");
  for (char c : v) {
    if (c < '0' || c > '9') return Error::invalid("If-Match must be an ETag", "If-Match");
    n = n * 10 + (c - '0');
  }
  return std::optional<std::int64_t>(n);
}

}  // namespace custody::api
