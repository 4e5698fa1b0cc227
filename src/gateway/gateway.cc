#include "gateway/gateway.h"

#include <algorithm>
#include <chrono>

#include "audit/events.h"
#include "common/encoding.h"
#include "common/log.h"
#include "crypto/keyed_hash.h"
#include "delegation/record.h"
#include "gateway/authorize.h"
#include "gateway/inventory.h"
#include "gateway/jsonrpc.h"
#include "gateway/route.h"
#include "http/problem.h"
#include "policy/approvals.h"

namespace custody::gateway {
namespace {

using http::Response;

constexpr Micros kTokenMargin = 10 * kMicrosPerSecond;
constexpr const char* kTokenExchange = "urn:ietf:params:oauth:grant-type:token-exchange";
constexpr const char* kAccessTokenType = "urn:ietf:params:oauth:token-type:access_token";

// Methods forwarded after authentication without a per-call decision (docs/mcp-gateway.md).
bool forwarded_method(std::string_view m) {
  static const char* const kMethods[] = {"initialize",
                                         "ping",
                                         "tools/list",
                                         "resources/list",
                                         "resources/templates/list",
                                         "prompts/list",
                                         "completion/complete",
                                         "logging/setLevel",
                                         "resources/subscribe",
                                         "resources/unsubscribe"};
  for (const char* k : kMethods)
    if (m == k) return true;
  return m.starts_with("notifications/");
}

Response rpc_error(int status, const nlohmann::json& id, int code, std::string_view message,
                   const nlohmann::json& data = nullptr) {
  return http::json_response(status, error_message(id, code, message, data));
}

bool lists(std::string_view header, std::string_view type) {
  // Accept lists media types; a wildcard counts.
  return header.find(type) != std::string_view::npos ||
         header.find("*/*") != std::string_view::npos;
}

std::string origin_of(std::string_view url) {
  std::size_t scheme = url.find("://");
  if (scheme == std::string_view::npos) return std::string(url);
  std::size_t path = url.find('/', scheme + 3);
  return std::string(path == std::string_view::npos ? url : url.substr(0, path));
}

bool origin_allowed(std::string_view origin, std::string_view issuer, const std::string& list) {
  if (origin.empty()) return true;  // not a browser
  if (origin == origin_of(issuer)) return true;
  std::size_t start = 0;
  while (start <= list.size()) {
    std::size_t comma = list.find(',', start);
    std::string_view item = std::string_view(list).substr(
        start, comma == std::string::npos ? std::string::npos : comma - start);
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
    if (!item.empty() && (item == "*" || item == origin)) return true;
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return false;
}

// Session ids are visible ASCII (MCP); anything else is not one the upstream issued.
bool sane_session_id(std::string_view id) {
  if (id.empty() || id.size() > 256) return false;
  return std::all_of(id.begin(), id.end(), [](char c) { return c >= 0x21 && c <= 0x7e; });
}

}  // namespace

// One request through the gateway, from the handler to the last byte relayed.
struct Gateway::Exchange : std::enable_shared_from_this<Gateway::Exchange> {
  Exchange(Gateway& g, http::Responder r) : gw(g), respond(std::move(r)) {}

  Gateway& gw;
  http::Responder respond;
  // Copies of the request: the exchange outlives the handler.
  std::string http_method, route_name, request_id, remote, body, session_id, protocol_version,
      last_event_id, accept, content_type, origin, authorization;
  std::vector<std::string> dpop;
  Micros now = 0;
  std::chrono::steady_clock::time_point started;
  std::string issuer;
  std::string gateway_id;  // the gateway's own identity (route.h)

  std::optional<Route> route;
  std::optional<Caller> caller;
  std::optional<Message> message;
  std::optional<CallTarget> target;
  std::optional<CallDecision> decision;

  // The answer is held until the decision's audit event is durable (see gateway.h).
  std::mutex mu;
  bool gate_open = true;
  bool gate_failed = false;
  std::optional<Response> held;
  std::shared_ptr<UpstreamCall> call;
  bool call_ended = false;
  std::shared_ptr<http::BodyStream> stream;
  // For gateway.call.result.
  int upstream_status = 0;
  std::optional<int> rpc_error_code;
  std::optional<bool> is_error;
  bool tools_list = false;
  // gateway.call's common part, once built (call_event); the decision is final by then.
  mutable std::optional<audit::Event> call_base;
  bool saw_response = false;  // the upstream answered our request
  bool garbage = false;       // the upstream's stream carried something that is not JSON-RPC

  bool is_request() const { return message && message->kind == MessageKind::kRequest; }
  nlohmann::json rpc_id() const { return message ? message->id : nlohmann::json(nullptr); }

  // --- answering -------------------------------------------------------------------------

  // Every answer goes through here. Once the call waited for an approval, the caller's event
  // stream is open (wait_for_decision): the answer, a JSON-RPC message, becomes its last event.
  void reply(Response r) {
    if (!wait_stream) return respond(std::move(r));
    auto j = nlohmann::json::parse(r.body, nullptr, false);
    SseEvent e;
    e.has_data = true;
    if (j.is_object() && j.contains("jsonrpc")) {
      e.data = std::move(r.body);
    } else {
      // Not a JSON-RPC message (an upstream's HTTP error or empty answer): say what it was.
      rpc_error_code = rpc::kUpstreamError;
      e.data = error_message(rpc_id(), rpc::kUpstreamError,
                             "upstream " + route->name + " answered HTTP " +
                                 std::to_string(r.status) + " without a JSON-RPC response",
                             {{"custody", {{"reason", "upstream_http_error"}}}})
                   .dump();
    }
    wait_stream->write(format_sse_event(e));
    wait_stream->close();
  }

  void send(Response r) {
    {
      std::lock_guard lock(mu);
      if (!gate_open) {
        held = std::move(r);
        return;
      }
    }
    reply(std::move(r));
  }

  void open_gate(const Status& audited) {
    std::optional<Response> r;
    {
      std::lock_guard lock(mu);
      gate_open = true;
      gate_failed = !audited.ok();
      r = std::move(held);
      held.reset();
    }
    if (!audited.ok()) {
      // The decision could not be recorded: fail closed, whatever the upstream answers.
      log::error("could not audit a gateway call",
                 {{"request_id", request_id}, {"error", audited.error().message}});
      if (call) call->cancel();
      if (stream) stream->cancel();
      return reply(rpc_error(503, rpc_id(), rpc::kInternalError,
                             "custody could not record this call; it was not answered"));
    }
    if (r) reply(std::move(*r));
  }

  audit::Event event(std::string action, std::string outcome) const {
    audit::Event e;
    e.time = now;
    e.action = std::move(action);
    e.outcome = std::move(outcome);
    e.request_id = request_id;
    e.actor = caller ? caller->principal : "anonymous";
    e.target = route ? route->server.id : route_name;
    if (caller) {
      e.chain_root = caller->presented.subject;
      e.delegation_id = caller->presented.jti;
    }
    e.details = {{"route", route_name}};
    if (!remote.empty()) e.details["remote"] = remote;
    if (caller) {
      e.details["chain"] = caller->chain;
      e.details["client_id"] = caller->presented.client_id;
      if (caller->device_id) e.details["device_id"] = *caller->device_id;
    }
    if (message && !message->method.empty()) e.details["method"] = message->method;
    return e;
  }

  // Audits a refusal durably, then answers.
  void refuse(Response r, const std::string& reason, const std::string& outcome) {
    audit::Event e = event("gateway.refused", outcome);
    e.details["reason"] = reason;
    e.details["status"] = r.status;
    auto self = shared_from_this();
    auto answer = std::make_shared<Response>(std::move(r));
    gw.store_.write(audit::append_work(std::move(e)), [self, answer](Status s) {
      if (!s.ok()) log::error("could not audit a gateway refusal", {{"error", s.error().message}});
      self->reply(std::move(*answer));
    });
  }

  void refuse_rpc(int status, int code, const std::string& message_text, const std::string& outcome,
                  const nlohmann::json& data = nullptr) {
    refuse(rpc_error(status, rpc_id(), code, message_text, data), message_text, outcome);
  }

  void refuse_auth(const AuthRefusal& a) {
    // RFC 6750 §3.1: no error code when the request carried no credentials.
    nlohmann::json body = {{"error_description", a.description}};
    if (!a.error.empty()) body["error"] = a.error;
    Response r = http::json_response(a.status, body);
    if (route && (a.status == 401 || a.status == 403))
      r.header("WWW-Authenticate", challenge(a, *route, issuer));
    refuse(std::move(r), a.description, a.error.empty() ? "unauthenticated" : a.error);
  }

  Response not_found() const {
    Response r =
        http::json_response(404, {{"type", "https://custody.dev/problems/not_found"},
                                  {"title", "Not Found"},
                                  {"status", 404},
                                  {"detail", "no MCP server is routed at /mcp/" + route_name},
                                  {"request_id", request_id}});
    r.content_type = "application/problem+json";
    return r;
  }

  // --- the request -------------------------------------------------------------------------

  // What stands in the way of `target` (inside the request's read): the tool inventory's verdict
  // for tools/call, then the PDP's decision (kept in `decision`).
  struct Verdict {
    std::optional<Error> failure;            // the store or the PDP failed: the call is denied
    std::optional<std::string> denied_tool;  // the inventory's refusal text
    std::string denied_reason;
  };
  Status check_target(store::Tx& tx, Verdict& verdict) {
    if (target->method == "tools/call") {
      auto tool = find_tool_status(tx, route->server.id, target->name);
      if (!tool.ok()) return tool.error();
      if (!*tool) {
        verdict.denied_reason = "tool_unknown";
        verdict.denied_tool = "tool \"" + target->name +
                              "\" is not in the gateway's inventory of " + route->name +
                              " (list the server's tools first)";
        return ok_status();
      }
      if (**tool != ToolStatus::kApproved) {
        bool pending = **tool == ToolStatus::kPending;
        verdict.denied_reason = pending ? "tool_pending" : "tool_changed";
        verdict.denied_tool = pending ? "tool \"" + target->name + "\" (" + verdict.denied_reason +
                                            ") appeared after " + route->name +
                                            " was registered and awaits an owner's approval"
                                      : "tool \"" + target->name + "\" (" + verdict.denied_reason +
                                            ") changed its definition since it was approved and "
                                            "awaits an owner's approval";
        return ok_status();
      }
    }
    DecideOptions options{gw.config_.device.posture_max_age_seconds * kMicrosPerSecond,
                          static_cast<int>(gw.config_.gateway.max_argument_depth)};
    auto d = decide_call(tx, gw.pdp_, *route, *caller, *target, now, options);
    if (!d.ok()) {
      // A question the policies cannot take (e.g. arguments Cedar refuses) is a deny.
      verdict.failure = d.error();
      return ok_status();
    }
    decision = std::move(d).value();
    return ok_status();
  }

  void start() {
    oauth::Service* oauth = gw.oauth_.load();
    if (oauth == nullptr)
      return respond(http::json_response(503, {{"error", "the server is starting"}}));
    issuer = oauth->settings().issuer;

    std::optional<AuthRefusal> auth_refusal;
    Verdict verdict;
    std::optional<Error>& failure = verdict.failure;
    bool no_identity = false;
    std::optional<RpcRefusal> rpc_refusal;
    Status read = gw.store_.read([&](store::Tx& tx) -> Status {
      // The route, its server and the gateway's identity in one statement.
      auto found = find_gateway_route(tx, issuer, route_name, gw.config_.gateway.identity);
      if (!found.ok()) {
        failure = found.error();
        return ok_status();
      }
      if (!found->route) return ok_status();
      route = std::move(found->route);
      if (found->gateway_error) {
        failure = std::move(found->gateway_error);
        return ok_status();
      }
      if (!found->gateway_id) {
        no_identity = true;
        return ok_status();
      }
      gateway_id = std::move(*found->gateway_id);
      CallerRequest cr{authorization, dpop, http_method, remote};
      auto who = authenticate_caller(tx, *oauth, *route, cr, gw.replay_, now);
      if (auto* refusal = std::get_if<AuthRefusal>(&who)) {
        auth_refusal = *refusal;
        return ok_status();
      }
      caller = std::get<Caller>(std::move(who));
      if (http_method != "POST") return ok_status();
      auto parsed = parse_message(body, static_cast<int>(gw.config_.limits.max_json_depth));
      if (!parsed.ok) {
        rpc_refusal = parsed.refusal;
        return ok_status();
      }
      message = std::move(parsed.message);
      if (message->kind == MessageKind::kResponse) return ok_status();
      auto t = call_target(*message);
      if (t.refusal) {
        rpc_refusal = t.refusal;
        return ok_status();
      }
      if (!t.target) return ok_status();
      target = std::move(t.target);
      return check_target(tx, verdict);
    });
    if (!read.ok()) failure = read.error();

    if (!route && !failure) return refuse(not_found(), "no route " + route_name, "not_found");
    if (!route || (failure && gateway_id.empty()))
      return refuse(http::json_response(502, {{"error", failure->message}}), failure->message,
                    "unavailable");
    if (no_identity)
      return refuse(http::json_response(
                        503, {{"error", "temporarily_unavailable"},
                              {"error_description",
                               "the MCP gateway has no active identity: label an active service "
                               "identity custody.dev/role=mcp-gateway, or set gateway.identity "
                               "(CUSTODY_GATEWAY_IDENTITY) to one"}}),
                    "the gateway has no identity", "unavailable");
    if (auth_refusal) return refuse_auth(*auth_refusal);
    if (!origin_allowed(origin, issuer, gw.config_.gateway.allowed_origins))
      return refuse_rpc(403, rpc::kUpstreamError, "Origin " + origin + " is not allowed",
                        "permission_denied");
    if (http_method == "POST") return post(rpc_refusal, verdict);
    if (http_method == "GET" && !lists(accept, "text/event-stream"))
      return refuse_rpc(406, rpc::kUpstreamError,
                        "Not Acceptable: a GET stream needs Accept: text/event-stream",
                        "invalid_argument");
    if (!check_session()) return;
    forward();
  }

  // The session id's owner must be this caller; no id passes (the upstream decides).
  bool check_session() {
    if (session_id.empty()) return true;
    auto c = sane_session_id(session_id)
                 ? gw.sessions_.check(route->name, session_id, caller->session_owner, now)
                 : SessionTable::Check::kUnknown;
    if (c == SessionTable::Check::kOk) return true;
    refuse_rpc(404, rpc::kSessionNotFound, "Session not found",
               c == SessionTable::Check::kForeign ? "permission_denied" : "not_found");
    return false;
  }

  void post(const std::optional<RpcRefusal>& rpc_refusal, const Verdict& verdict) {
    if (!lists(accept, "application/json") || !lists(accept, "text/event-stream"))
      return refuse_rpc(406, rpc::kUpstreamError,
                        "Not Acceptable: Accept must list application/json and text/event-stream",
                        "invalid_argument");
    if (content_type.find("application/json") == std::string::npos)
      return refuse_rpc(415, rpc::kUpstreamError,
                        "Unsupported Media Type: Content-Type must be application/json",
                        "unsupported_media_type");
    if (rpc_refusal)
      return refuse_rpc(rpc_refusal->code == rpc::kInvalidParams ? 200 : 400, rpc_refusal->code,
                        rpc_refusal->message, "invalid_argument");
    if (message->kind != MessageKind::kResponse && !target && !forwarded_method(message->method))
      return refuse_rpc(
          200, rpc::kMethodNotFound,
          "method " + message->method.substr(0, 100) + " is not forwarded by the custody gateway",
          "invalid_argument");
    if (message->method != "initialize" && !check_session()) return;
    if (!target && verdict.failure)
      return refuse_rpc(200, rpc::kInternalError, verdict.failure->message, "internal");
    if (!target) return forward();
    act_on(verdict);
  }

  // The call's verdict: denied, held for approval, or permitted and forwarded.
  void act_on(const Verdict& verdict) {
    if (verdict.denied_tool) return deny_call(verdict.denied_reason, *verdict.denied_tool, {});
    if (verdict.failure)
      return deny_call(
          "policy_error",
          "the policy decision point refused the question: " + verdict.failure->message, {});
    if (decision->outcome == "deny") {
      std::string why = decision->reasons.empty() ? std::string("no policy permits it")
                                                  : "forbidden by " + join(decision->reasons, ", ");
      if (!decision->errors.empty())
        why += " (policy errors: " + join(decision->errors, "; ") + ")";
      return deny_call("policy", why, decision->reasons);
    }
    if (decision->outcome == "approval_required") return hold_for_approval();
    permit();
  }

  static std::string join(const std::vector<std::string>& items, const std::string& sep) {
    std::string out;
    for (const auto& i : items) out += (out.empty() ? "" : sep) + i;
    return out;
  }

  std::string what() const { return target->method + " \"" + target->name + "\""; }

  // The call's decision event (gateway.call). The decision and the result event share all but
  // the outcome (and what each adds): built once, copied for each but the last.
  audit::Event call_event(const std::string& outcome) const {
    build_call_base();
    audit::Event e = *call_base;
    e.outcome = outcome;
    return e;
  }

  // For the exchange's last event (gateway.call.result): the base itself, not a copy.
  audit::Event take_call_event(const std::string& outcome) {
    build_call_base();
    audit::Event e = std::move(*call_base);
    call_base.reset();
    e.outcome = outcome;
    return e;
  }

  void build_call_base() const {
    if (!call_base) {
      audit::Event e = event("gateway.call", "");
      e.target = route->server.id;
      e.details["name"] = target->name;
      e.details["arguments_sha256"] = hex_encode(crypto::sha256(target->arguments.dump()));
      if (gw.config_.gateway.audit_arguments) e.details["arguments"] = target->arguments;
      if (decision) {
        e.details["policies"] = decision->reasons;
        e.details["policy_version"] = decision->policy_version;
        if (!decision->errors.empty()) e.details["policy_errors"] = decision->errors;
        if (!decision->device_trust.empty()) e.details["device_trust"] = decision->device_trust;
      }
      call_base = std::move(e);
    }
  }

  void deny_call(const std::string& reason, const std::string& why,
                 const std::vector<std::string>& policies) {
    audit::Event e = call_event("deny");
    e.details["reason"] = reason;
    e.details["detail"] = why;
    std::string text = "custody denied " + what() + ": " + why;
    nlohmann::json data = {{"custody",
                            {{"decision", "deny"},
                             {"reason", reason},
                             {"reasons", policies},
                             {"request_id", request_id}}}};
    auto self = shared_from_this();
    gw.store_.write(audit::append_work(std::move(e)), [self, text, data](Status s) {
      if (!s.ok()) log::error("could not audit a gateway deny", {{"error", s.error().message}});
      self->reply(rpc_error(200, self->rpc_id(), rpc::kDenied, text, data));
    });
  }

  void hold_for_approval() {
    audit::Event e = call_event("approval_required");
    auto self = shared_from_this();
    auto approval = std::make_shared<policy::Approval>();
    Micros ttl = gw.config_.pdp.approval_ttl_seconds * kMicrosPerSecond;
    gw.store_.write(
        [self, e, approval, ttl](store::Tx& tx) mutable -> Status {
          CUSTODY_ASSIGN(*approval,
                         policy::request_approval(tx, self->decision->question,
                                                  self->decision->approval_labels,
                                                  self->caller->principal, self->now, ttl));
          e.details["approval"] = approval->id;
          e.details["approval_labels"] = self->decision->approval_labels;
          return audit::append(tx, e);
        },
        [self, approval](Status s) {
          if (!s.ok()) {
            log::error("could not request an approval", {{"error", s.error().message}});
            return self->reply(rpc_error(200, self->rpc_id(), rpc::kInternalError,
                                         "custody could not record the approval request"));
          }
          if (self->may_wait()) return self->wait_for_decision(*approval);
          self->reply(self->approval_error(
              *approval, self->what() + " needs a human's approval (" + approval->id +
                             ", approver " + approval->approver +
                             "); call again with the same arguments once it is approved"));
        });
  }

  Response approval_error(const policy::Approval& approval, const std::string& text) const {
    nlohmann::json data = {{"custody",
                            {{"decision", "approval_required"},
                             {"approval",
                              {{"id", approval.id},
                               {"approver", approval.approver},
                               {"expires_at", format_rfc3339(approval.expires_at)},
                               {"labels", decision->approval_labels}}},
                             {"request_id", request_id}}}};
    return rpc_error(200, rpc_id(), rpc::kApprovalRequired, text, data);
  }

  // --- waiting for the approver (docs/mcp-gateway.md, "Waiting for the approver") ---------------

  std::shared_ptr<http::BodyStream> wait_stream;  // the caller's open event stream while it waits
  ApprovalWaits::Id wait_id = 0;
  bool waited = false;  // a call waits once; held again after its wait, it is answered at once
  std::optional<policy::Approval> waited_for;
  std::chrono::steady_clock::time_point wait_started;
  std::int64_t progress_sent = 0;

  // The caller asked for progress notifications (params._meta.progressToken, MCP's way to say
  // it keeps the stream open for a long-running request); null when it did not.
  nlohmann::json progress_token() const {
    if (!message || !message->params.is_object()) return nullptr;
    auto meta = message->params.find("_meta");
    if (meta == message->params.end() || !meta->is_object()) return nullptr;
    auto token = meta->find("progressToken");
    if (token == meta->end() || !(token->is_string() || token->is_number_integer())) return nullptr;
    return *token;
  }

  bool may_wait() const {
    return !waited && gw.config_.gateway.approval_wait_seconds > 0 && !progress_token().is_null();
  }

  double waited_ms() const {
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() -
                                                     wait_started)
        .count();
  }

  // Answers with an event stream at once and keeps it open until the approval is decided, the
  // approval expires or the wait times out (gateway.approval_wait_seconds); progress
  // notifications say what the call waits for.
  void wait_for_decision(const policy::Approval& approval) {
    waited = true;
    waited_for = approval;
    wait_started = std::chrono::steady_clock::now();
    auto stream = std::make_shared<http::BodyStream>(
        4 * static_cast<std::size_t>(gw.config_.gateway.max_message_bytes));
    Response head;
    head.status = 200;
    head.content_type = "text/event-stream";
    head.stream = stream;
    head.header("Cache-Control", "no-cache");
    head.watch_peer = true;  // a caller that gives up is noticed while nothing is written
    wait_stream = stream;
    respond(std::move(head));
    std::int64_t seconds = gw.config_.gateway.approval_wait_seconds;
    progress(what() + " waits for a human's approval (" + approval.id + ", approver " +
             approval.approver + ") for up to " + std::to_string(seconds) + " s");

    auto self = shared_from_this();  // the wait keeps the exchange until it ends
    ApprovalWaits::Wait wait;
    wait.approval_id = approval.id;
    wait.deadline = wait_started + std::chrono::seconds(seconds);
    wait.on_end = [self](ApprovalWaits::End end) { self->wait_ended(end); };
    wait.on_heartbeat = [self] {
      self->progress(self->what() + " still waits for approval " + self->waited_for->id + " (" +
                     std::to_string(static_cast<std::int64_t>(self->waited_ms() / 1000)) + " s)");
    };
    {
      std::lock_guard lock(mu);
      wait_id = gw.waits_.add(std::move(wait));
    }
    if (wait_id == 0)
      return end_wait("too_many_waits",
                      what() + " needs a human's approval (" + approval.id + ", approver " +
                          approval.approver +
                          "); the gateway is at gateway.max_approval_waits, so it cannot wait: "
                          "call again with the same arguments once it is approved");
    // Weak: the stream must not keep the exchange alive (see on_head).
    std::weak_ptr<Exchange> weak = self;
    stream->on_cancel([weak] {
      if (auto x = weak.lock()) x->stream_cancelled();
    });
  }

  void progress(const std::string& text) {
    nlohmann::json note = {
        {"jsonrpc", "2.0"},
        {"method", "notifications/progress"},
        {"params",
         {{"progressToken", progress_token()}, {"progress", ++progress_sent}, {"message", text}}}};
    SseEvent e;
    e.has_data = true;
    e.data = note.dump();
    wait_stream->write(format_sse_event(e));
  }

  // The caller's stream went away: while waiting, the wait ends (the approval stays pending; an
  // approved retry goes through); once forwarded, the upstream call is cancelled.
  void stream_cancelled() {
    ApprovalWaits::Id id;
    std::shared_ptr<UpstreamCall> c;
    {
      std::lock_guard lock(mu);
      id = wait_id;
      c = call;
    }
    if (id != 0 && gw.waits_.cancel(id)) record_wait("client_gone", [] {});
    if (c) c->cancel();
  }

  void wait_ended(ApprovalWaits::End end) {
    const policy::Approval& a = *waited_for;
    switch (end) {
      case ApprovalWaits::End::kApproved:
        return record_wait("approved", [self = shared_from_this()] { self->reauthorize(); });
      case ApprovalWaits::End::kDenied:
        return record_wait("denied", [self = shared_from_this()] {
          self->deny_call("approval_denied", "the approver denied approval " + self->waited_for->id,
                          {});
        });
      case ApprovalWaits::End::kUsed:
        return end_wait("used", "approval " + a.id + " of " + what() +
                                    " was used by another call with the same arguments; call "
                                    "again to ask for a new one");
      case ApprovalWaits::End::kExpired:
        return end_wait("expired", "approval " + a.id + " of " + what() +
                                       " expired undecided; call again to ask for a new one");
      case ApprovalWaits::End::kTimedOut:
        return end_wait("timed_out", what() + " was not decided within " +
                                         std::to_string(gw.config_.gateway.approval_wait_seconds) +
                                         " s (" + a.id + ", approver " + a.approver +
                                         "); call again with the same arguments once it is "
                                         "approved");
      case ApprovalWaits::End::kStopped:
        // No audit write: the store may be closing with the gateway.
        return reply(approval_error(a, "custody is stopping; " + what() + " waits for approval " +
                                           a.id + ": call again once it is approved"));
    }
  }

  // A wait that ends without a decision to act on: audited, then answered with the approval.
  void end_wait(const std::string& outcome, const std::string& text) {
    record_wait(outcome, [self = shared_from_this(), text] {
      self->reply(self->approval_error(*self->waited_for, text));
    });
  }

  // gateway.approval_wait: how a wait ended (outcome approved, denied, used, expired, timed_out,
  // too_many_waits or client_gone) and how long it lasted; durable, then `then`.
  void record_wait(const std::string& outcome, std::function<void()> then) {
    audit::Event e = call_event(outcome);
    e.action = "gateway.approval_wait";
    e.time = gw.clock_.now();
    e.details["approval"] = waited_for->id;
    e.details["waited_ms"] = static_cast<std::int64_t>(waited_ms());
    gw.store_.write(audit::append_work(std::move(e)), [then = std::move(then)](Status s) {
      if (!s.ok()) log::error("could not audit a gateway wait", {{"error", s.error().message}});
      then();
    });
  }

  // Approved while the call waited: everything is asked again as of now (the token may have
  // expired or been revoked, the tool changed, the policies or the device moved on); a permit
  // then uses the approval exactly like an approved retry.
  void reauthorize() {
    now = gw.clock_.now();
    decision.reset();
    call_base.reset();
    Verdict verdict;
    std::string gone;
    Status read = gw.store_.read([&](store::Tx& tx) -> Status {
      if (caller->presented.expires_at <= now) {
        gone = "the access token expired while the call waited";
        return ok_status();
      }
      CUSTODY_ASSIGN(bool live, delegation::is_live(tx, caller->presented.jti));
      if (!live) {
        gone = "the access token was revoked while the call waited";
        return ok_status();
      }
      return check_target(tx, verdict);
    });
    if (!read.ok()) verdict.failure = read.error();
    if (!gone.empty()) return deny_call("token_invalid", gone, {});
    act_on(verdict);
  }

  void permit() {
    audit::Event e = call_event("permit");
    auto self = shared_from_this();
    if (decision->approval_used) {
      // One approval, one call: consume it before anything reaches the upstream.
      e.details["approval_used"] = *decision->approval_used;
      gw.store_.write(
          [self, e](store::Tx& tx) mutable -> Status {
            CUSTODY_TRY(policy::consume_approval(tx, *self->decision->approval_used, self->now));
            return audit::append(tx, e);
          },
          [self](Status s) {
            if (!s.ok())
              return self->deny_call("approval_used",
                                     "the approval was already used by another call", {});
            self->forward();
          });
      return;
    }
    {
      std::lock_guard lock(mu);
      gate_open = false;
    }
    gw.store_.write(audit::append_work(std::move(e)), [self](Status s) { self->open_gate(s); });
    forward();
  }

  // --- upstream ------------------------------------------------------------------------------

  void forward() {
    std::string key = caller->presented.jti + " " + route->server.id;
    if (auto token = gw.tokens_.find(key, now, kTokenMargin)) return send_upstream(*token);
    oauth::Service* oauth = gw.oauth_.load();
    oauth::OAuthRequest exchange;
    exchange.url = issuer + "/oauth2/token";
    exchange.request_id = request_id;
    exchange.remote_address = remote;
    exchange.params = {{"grant_type", kTokenExchange},
                       {"subject_token", caller->token},
                       {"subject_token_type", kAccessTokenType},
                       {"resource", route->upstream_url},
                       {"scope", route->scope}};
    oauth::Service::InProcessClient client{gateway_id, {route->public_url}};
    auto self = shared_from_this();
    oauth->token_for(client, exchange, [self, key](oauth::Reply reply) {
      if (reply.status != 200 || !reply.body.contains("access_token")) {
        std::string why = reply.body.value("error_description", reply.body.value("error", ""));
        return self->upstream_failed("custody could not obtain a token for the upstream: " + why,
                                     "token_exchange");
      }
      std::string token = reply.body["access_token"].get<std::string>();
      Micros expires = self->gw.clock_.now() +
                       reply.body.value("expires_in", std::int64_t{0}) * kMicrosPerSecond;
      self->gw.tokens_.put(key, token, expires, self->gw.clock_.now());
      self->send_upstream(token);
    });
  }

  void send_upstream(const std::string& token) {
    UpstreamRequest up;
    up.method = http_method == "GET"      ? net::Method::kGet
                : http_method == "DELETE" ? net::Method::kDelete
                                          : net::Method::kPost;
    up.target = route->upstream.target;
    up.headers = {{"Authorization", "Bearer " + token}};
    if (http_method == "POST") {
      up.headers.emplace_back("Content-Type", "application/json");
      up.headers.emplace_back("Accept", "application/json, text/event-stream");
      up.body = std::move(body);  // forwarded once; nothing reads it after
    } else if (http_method == "GET") {
      up.headers.emplace_back("Accept", "text/event-stream");
      if (!last_event_id.empty()) up.headers.emplace_back("Last-Event-ID", last_event_id);
    }
    if (!session_id.empty()) up.headers.emplace_back("Mcp-Session-Id", session_id);
    if (!protocol_version.empty())
      up.headers.emplace_back("MCP-Protocol-Version", protocol_version);
    tools_list = message && message->method == "tools/list";
    auto self = shared_from_this();
    UpstreamCallbacks callbacks;
    callbacks.on_head = [self](const UpstreamHead& head) { self->on_head(head); };
    callbacks.on_body = [self](std::string b) { self->on_body(std::move(b)); };
    callbacks.on_event = [self](SseEvent e) { self->on_event(std::move(e)); };
    callbacks.on_end = [self](Status s) { self->on_end(s); };
    auto c = gw.upstream_.send(route->upstream.server, std::move(up), std::move(callbacks));
    std::lock_guard lock(mu);
    if (!call_ended) call = std::move(c);  // on_end may already have run on the client's thread
  }

  UpstreamHead head;
  bool head_seen = false;
  std::optional<Response> stream_head;  // a POST's event stream, until its first event
  bool answered = false;                // a response (or stream) went to the caller

  void on_head(const UpstreamHead& h) {
    head = h;
    head_seen = true;
    upstream_status = h.status;
    // A session the upstream opened with initialize belongs to this caller from now on.
    if (message && message->method == "initialize" && h.status / 100 == 2)
      if (auto sid = h.header("Mcp-Session-Id"); sid && sane_session_id(*sid))
        gw.sessions_.add(route->name, *sid, caller->session_owner, gw.clock_.now());
    if (http_method == "DELETE" && h.status / 100 == 2)
      gw.sessions_.remove(route->name, session_id);
    if (!h.event_stream) return;
    if (wait_stream) {
      // The caller's stream is open already (it waited for an approval): relay into it.
      stream = wait_stream;
      answered = true;
      return;
    }
    // Room for a few of the largest messages; a client that falls further behind is cut off.
    stream = std::make_shared<http::BodyStream>(
        4 * static_cast<std::size_t>(gw.config_.gateway.max_message_bytes));
    // Weak: the stream must not keep the exchange (and through its responder the connection)
    // alive once both are done.
    std::weak_ptr<Exchange> weak = shared_from_this();
    stream->on_cancel([weak] {
      auto self = weak.lock();
      if (!self) return;
      std::shared_ptr<UpstreamCall> c;
      {
        std::lock_guard lock(self->mu);
        c = self->call;
      }
      if (c) c->cancel();
    });
    Response r;
    r.status = h.status;
    r.content_type = "text/event-stream";
    r.stream = stream;
    r.header("Cache-Control", "no-cache");
    // A GET stream may stay silent for long: notice a client that leaves, so that the upstream
    // stream is closed too.
    r.watch_peer = http_method == "GET";
    copy_session_header(r);
    answered = true;
    if (http_method == "POST") {
      // The answer to a POST goes out with its first event (or its end): one hand-off to the
      // connection's thread instead of one for the head and one for the event.
      stream_head = std::move(r);
      return;
    }
    send(std::move(r));
  }

  // Sends the held head of a POST's event stream (on_head), once.
  void send_stream_head() {
    if (!stream_head) return;
    Response r = std::move(*stream_head);
    stream_head.reset();
    send(std::move(r));
  }

  void copy_session_header(Response& r) const {
    if (auto sid = head.header("Mcp-Session-Id")) r.header("Mcp-Session-Id", *sid);
  }

  // Notes the JSON-RPC outcome of the response to our request, and filters tools/list.
  // Returns the message to relay (possibly rewritten); nullopt when the upstream sent something
  // that is no JSON-RPC message (garbage, which the caller must not receive as an answer).
  std::optional<std::string> inspect(std::string text) {
    auto j = nlohmann::json::parse(text, nullptr, false);
    if (!j.is_object() || !j.contains("jsonrpc")) return std::nullopt;
    if (!is_request() || !j.contains("id") || j["id"] != message->id) return text;
    if (!j.contains("result") && !j.contains("error")) return text;  // a request of its own
    saw_response = true;
    if (j.contains("error") && j["error"].is_object()) rpc_error_code = j["error"].value("code", 0);
    if (j.contains("result") && j["result"].is_object() && j["result"].contains("isError"))
      is_error = j["result"]["isError"].is_boolean() && j["result"]["isError"].get<bool>();
    if (tools_list && j.contains("result") && j["result"].is_object() &&
        j["result"].contains("tools")) {
      filter_tools(j["result"]);
      return j.dump();
    }
    return text;
  }

  std::string garbage_text() const {
    return "upstream " + route->name + " answered with something that is not a JSON-RPC message";
  }

  // tools/list: records the listing in the inventory and keeps the tools that are approved and
  // that the caller may call.
  void filter_tools(nlohmann::json& result) {
    nlohmann::json& tools = result["tools"];
    if (!tools.is_array()) {
      tools = nlohmann::json::array();
      return;
    }
    Micros t = gw.clock_.now();
    InventoryChange change;
    std::vector<bool> callable;
    std::vector<std::string> names;
    std::map<std::string, ToolStatus> status;
    Status s = gw.store_.read([&](store::Tx& tx) -> Status {
      CUSTODY_ASSIGN(auto current, read_inventory(tx, route->server.id));
      change = diff_inventory(current, route->server.id, tools, t);
      for (const auto& [name, tool] : current) status[name] = tool.status();
      for (const auto& added : change.added) status[added.name] = added.status();
      for (const auto& changed : change.changed) status[changed.name] = changed.status();
      for (const auto& tool : tools)
        if (tool.is_object() && tool.contains("name") && tool["name"].is_string())
          names.push_back(tool["name"].get<std::string>());
      DecideOptions options{gw.config_.device.posture_max_age_seconds * kMicrosPerSecond,
                            static_cast<int>(gw.config_.gateway.max_argument_depth)};
      CUSTODY_ASSIGN(callable, callable_tools(tx, gw.pdp_, *route, *caller, names, t, options));
      return ok_status();
    });
    nlohmann::json kept = nlohmann::json::array();
    if (s.ok()) {
      std::size_t i = 0;
      for (auto& tool : tools) {
        if (!tool.is_object() || !tool.contains("name") || !tool["name"].is_string()) continue;
        const std::string& name = tool["name"].get_ref<const std::string&>();
        bool ok = i < callable.size() && callable[i] && status[name] == ToolStatus::kApproved;
        ++i;
        if (ok) kept.push_back(std::move(tool));
      }
    } else {
      log::error("gateway could not filter tools/list; listing none",
                 {{"request_id", request_id}, {"error", s.error().message}});
    }
    tools = std::move(kept);
    if (!s.ok() || change.empty()) return;
    audit::Event e =
        event(change.baseline ? "gateway.tool.baseline" : "gateway.tool.observed", "success");
    e.target = route->server.id;
    nlohmann::json added = nlohmann::json::array(), changed = nlohmann::json::array();
    for (const auto& a : change.added)
      added.push_back({{"name", a.name},
                       {"fingerprint", a.fingerprint},
                       {"status", tool_status_name(a.status())}});
    for (const auto& c : change.changed)
      changed.push_back({{"name", c.name},
                         {"fingerprint", c.fingerprint},
                         {"approved_fingerprint", c.approved_fingerprint.value_or("")}});
    e.details["added"] = added;
    e.details["changed"] = changed;
    // Durable before the listing is relayed, so that a call right after it finds the tools.
    // (This runs on the upstream client's thread, never on the store's writer.)
    Status st = gw.store_.write_sync([change, e](store::Tx& tx) mutable -> Status {
      CUSTODY_TRY(apply_inventory_change(tx, change));
      return audit::append(tx, e);
    });
    if (!st.ok())
      log::error("could not record a tool inventory change",
                 {{"request_id", request_id}, {"error", st.error().message}});
  }

  void on_body(std::string b) {
    Response r;
    r.status = head.status;
    auto type = head.header("Content-Type");
    r.content_type = type ? *type : "application/json";
    if (head.status / 100 == 2 && is_request()) {
      // The answer to a request must be a JSON-RPC message (an event stream goes to on_event).
      auto relayed = r.content_type.find("json") != std::string::npos
                         ? inspect(std::move(b))
                         : std::optional<std::string>();
      if (!relayed) {
        rpc_error_code = rpc::kUpstreamError;
        answered = true;
        return send(rpc_error(200, rpc_id(), rpc::kUpstreamError, garbage_text(),
                              {{"custody", {{"reason", "upstream_garbage"}}}}));
      }
      r.body = std::move(*relayed);
    } else {
      r.body = std::move(b);
    }
    copy_session_header(r);
    answered = true;
    send(std::move(r));
  }

  void on_event(SseEvent e) {
    if (!stream || garbage) return;
    if (e.has_data && !e.data.empty()) {
      auto relayed = inspect(std::move(e.data));
      if (!relayed) {
        // Relay nothing more of this stream: answer our request with an error, and end it.
        garbage = true;
        if (is_request() && !saw_response) write_stream_error(garbage_text(), "upstream_garbage");
        std::shared_ptr<UpstreamCall> c;
        {
          std::lock_guard lock(mu);
          c = call;
        }
        if (c) c->cancel();
        return;
      }
      e.data = std::move(*relayed);
    }
    stream->write(format_sse_event(e));
    send_stream_head();
  }

  void write_stream_error(const std::string& why, const std::string& reason) {
    SseEvent e;
    e.has_data = true;
    e.data = error_message(rpc_id(), rpc::kUpstreamError, why, {{"custody", {{"reason", reason}}}})
                 .dump();
    stream->write(format_sse_event(e));
    rpc_error_code = rpc::kUpstreamError;
    saw_response = true;
  }

  void on_end(Status s) {
    if (!s.ok() && !head_seen) {
      upstream_failed("upstream " + route->name + " unavailable: " + s.error().message,
                      "unavailable");
      return release_call();
    }
    if (stream) {
      if (is_request() && !saw_response && !garbage) {
        // The stream ended before our response: say so in it rather than leave the client
        // waiting for an answer that will not come.
        write_stream_error(s.ok() ? "upstream " + route->name + " ended the stream unanswered"
                                  : "upstream " + route->name + " failed: " + s.error().message,
                           s.ok() ? "upstream_unanswered" : "upstream_failed");
      }
      stream->close();
      send_stream_head();
    } else if (!answered) {
      // A head without a body (e.g. 202 Accepted).
      Response r;
      r.status = head.status;
      r.content_type = head.header("Content-Type").value_or("application/json");
      copy_session_header(r);
      answered = true;
      send(std::move(r));
    }
    record_result(s.ok() ? "" : s.error().message);
    release_call();
  }

  // The call holds our callbacks and we hold the call: let go once it has ended.
  void release_call() {
    std::lock_guard lock(mu);
    call_ended = true;
    call.reset();
  }

  void upstream_failed(const std::string& why, const std::string& kind) {
    rpc_error_code = rpc::kUpstreamError;
    if (is_request())
      send(rpc_error(200, rpc_id(), rpc::kUpstreamError, why, {{"custody", {{"reason", kind}}}}));
    else
      send(http::json_response(502, {{"error", kind}, {"error_description", why}}));
    record_result(why);
  }

  // gateway.call.result for authorized calls, after the answer (see gateway.h).
  void record_result(const std::string& failure) {
    if (!target) return;
    double ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started)
            .count();
    std::string outcome = !failure.empty()             ? "upstream_error"
                          : rpc_error_code             ? "error"
                          : (is_error && *is_error)    ? "tool_error"
                          : upstream_status / 100 == 2 ? "success"
                                                       : "upstream_error";
    audit::Event e = take_call_event(outcome);  // record_result runs once, last
    e.action = "gateway.call.result";
    e.time = gw.clock_.now();
    e.details["upstream_status"] = upstream_status;
    e.details["latency_ms"] = static_cast<double>(static_cast<std::int64_t>(ms * 1000)) / 1000;
    if (rpc_error_code) e.details["rpc_error"] = *rpc_error_code;
    if (is_error) e.details["is_error"] = *is_error;
    if (!failure.empty()) e.details["failure"] = failure;
    gw.store_.write(audit::append_work(std::move(e)), [rid = request_id](Status st) {
      if (!st.ok())
        log::error("could not audit a gateway call's result",
                   {{"request_id", rid}, {"error", st.error().message}});
    });
  }
};

Gateway::Gateway(store::Store& store, const Clock& clock, const Config& config,
                 const policy::Pdp& pdp, const std::atomic<oauth::Service*>& oauth)
    : store_(store),
      clock_(clock),
      config_(config),
      pdp_(pdp),
      oauth_(oauth),
      sessions_(static_cast<std::size_t>(config.gateway.max_sessions),
                config.gateway.session_idle_seconds * kMicrosPerSecond),
      replay_((config.oauth.dpop_proof_max_age_seconds + 2 * config.oauth.clock_skew_seconds) *
                  kMicrosPerSecond,
              static_cast<std::size_t>(config.gateway.max_sessions)),
      tokens_(100'000),
      upstream_([&] {
        UpstreamOptions o;
        o.threads = static_cast<int>(config.gateway.threads);
        o.connect_timeout = std::chrono::milliseconds(config.gateway.connect_timeout_ms);
        o.response_timeout = std::chrono::milliseconds(config.gateway.upstream_timeout_ms);
        o.max_message_bytes = static_cast<std::size_t>(config.gateway.max_message_bytes);
        return o;
      }()),
      waits_(store, clock, [&] {
        ApprovalWaits::Options o;
        o.poll = std::chrono::milliseconds(config.gateway.approval_poll_ms);
        o.heartbeat = std::chrono::milliseconds(config.gateway.approval_heartbeat_ms);
        o.max_waits = static_cast<std::size_t>(config.gateway.max_approval_waits);
        return o;
      }()) {}

Gateway::~Gateway() = default;

void Gateway::handle(http::Request& req, http::Responder respond) {
  auto x = std::make_shared<Exchange>(*this, std::move(respond));
  x->http_method = std::string(req.method);
  x->route_name = std::string(req.param("route"));
  x->request_id = req.request_id;
  x->remote = req.remote_address;
  x->body = std::string(req.body());
  x->session_id = std::string(req.header("Mcp-Session-Id"));
  x->protocol_version = std::string(req.header("MCP-Protocol-Version"));
  x->last_event_id = std::string(req.header("Last-Event-ID"));
  x->accept = std::string(req.header("Accept"));
  x->content_type = std::string(req.header("Content-Type"));
  x->origin = std::string(req.header("Origin"));
  x->authorization = std::string(req.header("Authorization"));
  // Every DPoP header, whatever the case of its name (more than one is refused later).
  auto [first, last] = req.raw.equal_range("DPoP");
  for (auto it = first; it != last; ++it) x->dpop.emplace_back(it->value());
  x->now = clock_.now();
  x->started = std::chrono::steady_clock::now();
  x->start();
}

void Gateway::metadata(http::Request& req, http::Responder respond) {
  oauth::Service* oauth = oauth_.load();
  if (oauth == nullptr)
    return respond(http::json_response(503, {{"error", "the server is starting"}}));
  const std::string& issuer = oauth->settings().issuer;
  std::string name(req.param("route"));
  std::optional<Route> route;
  Status s = store_.read([&](store::Tx& tx) -> Status {
    CUSTODY_ASSIGN(route, find_route(tx, issuer, name));
    return ok_status();
  });
  if (!s.ok()) return respond(http::problem(req, s.error()));
  if (!route)
    return respond(http::problem(req, Error::not_found("no MCP server is routed at /mcp/" + name)));
  nlohmann::json body = {{"resource", route->public_url},
                         {"authorization_servers", {issuer}},
                         {"scopes_supported", {route->scope}},
                         {"bearer_methods_supported", {"header"}},
                         {"dpop_signing_alg_values_supported", {"ES256", "EdDSA", "RS256"}},
                         {"resource_name", route->server.display_name}};
  Response r = http::json_response(200, body);
  r.header("Cache-Control", "public, max-age=60");
  respond(std::move(r));
}

}  // namespace custody::gateway
