#include "oauth/ciba.h"

#include <cctype>
#include <charconv>

#include "crypto/keyed_hash.h"
#include "net/url.h"
#include "oauth/issuance_policy.h"
#include "policy/approval_notifications.h"
#include "policy/approvals.h"
#include "policy/directory_entities.h"

namespace custody::oauth {
namespace {

constexpr std::size_t kMaxBindingMessage = 256;
constexpr std::size_t kMaxNotificationToken = 1024;

// RFC 6750 b64token characters, which is what a Bearer credential may contain.
bool is_b64token(std::string_view token) {
  if (token.empty()) return false;
  std::size_t i = 0;
  for (; i < token.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(token[i]);
    if (!(std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~' || c == '+' || c == '/'))
      break;
  }
  while (i < token.size() && token[i] == '=') ++i;
  return i == token.size();
}

std::string label_of(const directory::Identity& client, std::string_view key) {
  auto it = client.labels.find(std::string(key));
  return it == client.labels.end() ? std::string() : it->second;
}

// Ping mode (CIBA Core 1.0 §5, §7.1): the client's registered endpoint and the request's token.
OAuthResult<bool> read_delivery_mode(const GrantInput& in, BackchannelRequest& out) {
  std::string mode = label_of(in.client.identity, kCibaModeLabel);
  if (mode.empty() || mode == "poll") return false;
  if (mode == "push")
    return OAuthError::unauthorized_client(
        "the client is registered for CIBA push mode, which custody does not support (poll or "
        "ping)");
  if (mode != "ping")
    return OAuthError::unauthorized_client("the client's label " + std::string(kCibaModeLabel) +
                                           " must be poll or ping");
  std::string endpoint = label_of(in.client.identity, kCibaEndpointLabel);
  auto url = net::parse_endpoint_url(endpoint);
  if (endpoint.empty() || !url.ok())
    return OAuthError::unauthorized_client(
        "the client is registered for ping mode without a valid " +
        std::string(kCibaEndpointLabel) + " label");
  if (!url->server.tls && !url->server.is_loopback())
    return OAuthError::unauthorized_client("the client's notification endpoint must be https");
  auto token = in.request.param("client_notification_token");
  if (!token)
    return OAuthError::invalid_request(
        "client_notification_token is required in ping mode (OpenID CIBA §7.1)");
  if (token->size() > kMaxNotificationToken || !is_b64token(*token))
    return OAuthError::invalid_request(
        "client_notification_token must be a bearer token (RFC 6750 characters, at most 1024)");
  out.notification_endpoint = endpoint;
  out.notification_token = *token;
  return true;
}

policy::EntityRef identity_ref(const std::string& id) {
  auto kind = directory::kind_of_id(id);
  return {kind ? std::string(policy::cedar_type_of(*kind)) : std::string("External"), id,
          nlohmann::json::object()};
}

// The question the owner approves: obtaining the token, or (an exchange) delegating the
// delegator's authority to the client with exactly that subject token.
policy::Question approval_question(const std::string& client_id, const BackchannelRequest& r) {
  policy::Question q;
  q.subject = identity_ref(client_id);
  if (r.subject_token_sha256.empty()) {
    q.action = "obtain";
    q.resource = {"Audience", r.audience.empty() ? std::string() : r.audience.front(),
                  nlohmann::json::object()};
  } else {
    q.action = "delegate";
    q.resource = identity_ref(r.delegator);
  }
  q.context = {{"scope", r.scope}, {"audience", r.audience}};
  if (!r.subject_token_sha256.empty()) q.context["subject_token_sha256"] = r.subject_token_sha256;
  if (r.max_hops) q.context["max_hops"] = *r.max_hops;
  if (!r.binding_message.empty()) q.context["binding_message"] = r.binding_message;
  return q;
}

// The request as the token exchange it stands for: grant_type set, the client's own parameters
// kept (subject_token, subject_token_type, audience, resource, scope, max_hops, may_act).
OAuthRequest as_exchange(const OAuthRequest& req) {
  OAuthRequest ex = req;
  ex.params.clear();
  ex.params.emplace_back("grant_type", std::string(kGrantTokenExchange));
  for (const auto& [k, v] : req.params)
    if (k == "subject_token" || k == "subject_token_type" || k == "audience" || k == "resource" ||
        k == "scope" || k == "max_hops" || k == "may_act")
      ex.params.emplace_back(k, v);
  return ex;
}

std::string sha256_hex(std::string_view text) {
  static const char* hex = "0123456789abcdef";
  std::string out;
  for (unsigned char c : crypto::sha256(text)) {
    out += hex[c >> 4];
    out += hex[c & 15];
  }
  return out;
}

}  // namespace

OAuthResult<BackchannelRequest> check_backchannel_request(store::Tx& tx, const GrantInput& in,
                                                          const policy::Pdp& pdp,
                                                          const TokenVerifier& verify,
                                                          Micros default_expiry) {
  const auto& req = in.request;
  if (!req.param("scope"))
    return OAuthError::invalid_request("scope is required (OpenID CIBA §7.1)");
  auto hint = req.param("login_hint");
  if (!hint)
    return OAuthError::invalid_request("login_hint is required: the approver, the client's owner");
  if (req.param("id_token_hint") || req.param("login_hint_token") || req.param("user_code"))
    return OAuthError::invalid_request("only login_hint is supported");
  const auto& owner = in.client.identity.owner_id;
  if (!owner) return OAuthError::unauthorized_client("the client has no owner to approve for it");
  if (*hint != *owner)
    return OAuthError::unknown_user_id("login_hint must name the client's owner (" + *owner + ")");

  BackchannelRequest out;
  out.expires_in = default_expiry;
  if (auto expiry = req.param("requested_expiry")) {
    long long seconds = 0;
    auto [end, ec] = std::from_chars(expiry->data(), expiry->data() + expiry->size(), seconds);
    if (ec != std::errc() || end != expiry->data() + expiry->size() || seconds < 10 ||
        seconds > 7 * 24 * 3600)
      return OAuthError::invalid_request("requested_expiry must be 10..604800 seconds");
    out.expires_in = seconds * kMicrosPerSecond;
  }
  if (auto message = req.param("binding_message")) {
    if (message->size() > kMaxBindingMessage)
      return OAuthError::invalid_request("binding_message is at most 256 bytes");
    out.binding_message = *message;
  }

  OAUTH_ASSIGN(auto ping, read_delivery_mode(in, out));
  (void)ping;

  // What would be issued, checked now so that nobody is asked to approve the impossible.
  auto subject_token = req.param("subject_token");
  Issuance issuance;
  if (subject_token) {
    if (req.param("actor_token"))
      return OAuthError::invalid_request(
          "actor_token is not supported with CIBA: the client itself is the actor");
    OAuthRequest ex = as_exchange(req);
    GrantInput exchange{ex, in.client, in.dpop, in.settings, in.now};
    OAUTH_ASSIGN(issuance, grant_token_exchange(tx, exchange, verify));
    out.subject_token_sha256 = sha256_hex(*subject_token);
    out.subject_token_type = req.param("subject_token_type").value_or("");
    out.delegator = issuance.delegator;
  } else {
    OAUTH_ASSIGN(issuance, grant_client_credentials(tx, in));
  }
  OAUTH_ASSIGN(auto verdict, authorize_issuance(tx, pdp, issuance, in.now, true));
  (void)verdict;
  out.scope = join_scopes(issuance.record.scopes);
  out.audience = issuance.record.audience;
  out.max_hops = issuance.record.max_hops;
  return out;
}

Result<std::string> store_backchannel_request(store::Tx& tx, const std::string& client_id,
                                              const BackchannelRequest& request, Micros now) {
  CUSTODY_ASSIGN(auto approval,
                 policy::request_approval(tx, approval_question(client_id, request), {"ciba"},
                                          client_id, now, request.expires_in));
  nlohmann::json params = {{"scope", request.scope}, {"audience", request.audience}};
  if (request.max_hops) params["max_hops"] = *request.max_hops;
  if (!request.binding_message.empty()) params["binding_message"] = request.binding_message;
  // The same request while it is pending gets the same approval, and so the same auth_req_id.
  if (!request.notification_endpoint.empty()) params["delivery_mode"] = "ping";
  if (!request.subject_token_sha256.empty())
    params["exchange"] = {{"subject_token_sha256", request.subject_token_sha256},
                          {"subject_token_type", request.subject_token_type},
                          {"delegator", request.delegator}};
  CUSTODY_ASSIGN(auto inserted,
                 tx.exec("INSERT INTO ciba_requests (auth_req_id, client_id, params, created_at) "
                         "VALUES ($1, $2, $3, $4) ON CONFLICT (auth_req_id) DO NOTHING",
                         {approval.id, client_id, params.dump(), now}));
  if (inserted == 1 && !request.notification_endpoint.empty())
    CUSTODY_TRY(policy::hold_ciba_ping(tx, approval.id, request.notification_endpoint,
                                       request.notification_token, now));
  return approval.id;
}

OAuthResult<Issuance> grant_ciba(store::Tx& tx, const GrantInput& in, const policy::Pdp& pdp,
                                 const TokenVerifier& verify) {
  (void)pdp;  // the policies decide in Service::token, with @approval waived (issuance_policy.h)
  auto id = in.request.param("auth_req_id");
  if (!id) return OAuthError::invalid_request("auth_req_id is required");
  auto rows = tx.query("SELECT client_id, params FROM ciba_requests WHERE auth_req_id = $1", {*id});
  if (!rows.ok()) return OAuthError::server_error("cannot read backchannel requests");
  if (rows->empty() || (*rows)[0].text(0) != in.client.identity.id)
    return OAuthError::invalid_grant("auth_req_id is not one of this client's requests");
  auto params = nlohmann::json::parse((*rows)[0].text(1), nullptr, false);
  if (!params.is_object()) return OAuthError::server_error("a backchannel request is corrupt");

  auto approval = policy::get_approval(tx, *id);
  if (!approval.ok()) return OAuthError::server_error("cannot read the approval");
  const auto& a = *approval;
  if (a.status == "denied")
    return OAuthError::access_denied("the approver denied the request" +
                                     (a.decision_reason && !a.decision_reason->empty()
                                          ? ": " + *a.decision_reason
                                          : std::string()));
  if (a.status == "used")
    return OAuthError::invalid_grant("the approval was already used for a token");
  if (a.expired(in.now)) return OAuthError::expired_token("the request expired unanswered");
  if (a.status == "pending")
    return OAuthError::authorization_pending("waiting for " + a.approver + " to decide");

  // Approved: the token the client asked for, with every bound checked again now.
  OAuthRequest approved = in.request;
  const nlohmann::json* exchange = params.contains("exchange") ? &params["exchange"] : nullptr;
  approved.params = {
      {"grant_type", std::string(exchange ? kGrantTokenExchange : kGrantClientCredentials)},
      {"scope", params.value("scope", std::string())}};
  for (const auto& aud : params.value("audience", nlohmann::json::array()))
    if (aud.is_string()) approved.params.emplace_back("audience", aud.get<std::string>());
  if (params.contains("max_hops"))
    approved.params.emplace_back("max_hops", std::to_string(params["max_hops"].get<int>()));
  if (exchange) {
    // The approval was for exactly this subject token: the client presents it again.
    auto subject_token = in.request.param("subject_token");
    if (!subject_token)
      return OAuthError::invalid_request(
          "subject_token is required: the approved request was a token exchange");
    if (sha256_hex(*subject_token) != exchange->value("subject_token_sha256", ""))
      return OAuthError::invalid_grant(
          "the subject_token is not the one the approval was given for");
    approved.params.emplace_back("subject_token", *subject_token);
    approved.params.emplace_back("subject_token_type",
                                 exchange->value("subject_token_type", std::string()));
  }
  GrantInput granted{approved, in.client, in.dpop, in.settings, in.now};
  OAUTH_ASSIGN(auto issuance, exchange ? grant_token_exchange(tx, granted, verify)
                                       : grant_client_credentials(tx, granted));
  if (!exchange) issuance.record.grant_type = std::string(kGrantCiba);
  issuance.approval_id = a.id;
  issuance.audit["grant_type"] = std::string(kGrantCiba);
  issuance.audit["approval_id"] = a.id;
  issuance.audit["approved_by"] = a.decided_by.value_or("");
  return issuance;
}

}  // namespace custody::oauth
