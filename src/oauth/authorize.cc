#include "oauth/authorize.h"

#include <algorithm>
#include <charconv>
#include <memory>
#include <optional>

#include "audit/events.h"
#include "common/log.h"
#include "directory/admin_tokens.h"
#include "oauth/access_token.h"
#include "oauth/authorization_code.h"
#include "oauth/client_auth.h"
#include "oauth/consent_page.h"
#include "oauth/grants.h"
#include "oauth/redirect_uri.h"

namespace custody::oauth {
namespace {

constexpr Micros kFormLifetime = 600 * kMicrosPerSecond;
constexpr std::size_t kMaxState = 2048;

// An authorization request, as far as it has been checked.
struct Checked {
  directory::Identity client;
  std::string redirect_uri;  // set once validated: refusals may then be redirected
  std::string code_challenge;
  std::optional<std::string> state;
  std::optional<std::string> scope;  // as sent
  std::optional<std::vector<std::string>> scopes;
  std::vector<std::string> resources;
};

struct CheckOutcome {
  std::optional<OAuthError> refusal;
  Checked request;
};

// Refusals before the redirect URI is validated (shown, never redirected).
CheckOutcome shown(OAuthError e) {
  return {std::move(e), {}};
}

CheckOutcome check_request(store::Tx& tx, const OAuthRequest& params) {
  CheckOutcome out;
  Checked& c = out.request;
  if (auto repeated = params.check_no_repeats({"resource"})) return shown(*repeated);
  auto client_id = params.param("client_id");
  if (!client_id) return shown(OAuthError::invalid_request("client_id is required"));
  auto client = check_active_identity(tx, *client_id, "client");
  if (!client.ok()) {
    OAuthError e = client.error();
    if (e.error == "invalid_grant") e.error = "unauthorized_client";
    return shown(e);
  }
  c.client = std::move(client).value();
  auto uris = registered_redirect_uris(c.client);
  if (!uris.ok())
    return shown(OAuthError::unauthorized_client(
        "client " + c.client.id +
        " cannot use the authorization code flow: " + uris.error().message));
  if (uris->empty())
    return shown(OAuthError::unauthorized_client(
        "client " + c.client.id + " has no registered redirect URI (label " +
        std::string(kRedirectUrisLabel) + "): it cannot use the authorization code flow"));
  auto redirect_uri = params.param("redirect_uri");
  if (!redirect_uri) return shown(OAuthError::invalid_request("redirect_uri is required"));
  if (std::find(uris->begin(), uris->end(), *redirect_uri) == uris->end())
    return shown(OAuthError::invalid_request("redirect_uri is not registered for client " +
                                             c.client.id + " (redirect URIs match exactly)"));

  // From here on, refusals go back to the client at its validated redirect URI.
  c.redirect_uri = *redirect_uri;
  auto refuse = [&out](OAuthError e) {
    out.refusal = std::move(e);
    return out;
  };
  c.state = params.param("state");
  if (c.state && c.state->size() > kMaxState) {
    c.state.reset();
    return refuse(OAuthError::invalid_request("state is longer than 2048 characters"));
  }
  auto response_type = params.param("response_type");
  if (!response_type) return refuse(OAuthError::invalid_request("response_type is required"));
  if (*response_type != "code")
    return refuse({400, "unsupported_response_type", "only response_type=code is supported"});
  auto challenge = params.param("code_challenge");
  auto method = params.param("code_challenge_method");
  if (!challenge)
    return refuse(OAuthError::invalid_request("code_challenge is required (PKCE, OAuth 2.1)"));
  if (!method)
    return refuse(OAuthError::invalid_request(
        "code_challenge_method=S256 is required (PKCE, OAuth 2.1; plain is not accepted)"));
  if (*method == "plain")
    return refuse(OAuthError::invalid_request(
        "code_challenge_method plain is refused: use S256 (OAuth 2.1)"));
  if (*method != "S256")
    return refuse(OAuthError::invalid_request("code_challenge_method " + method->substr(0, 40) +
                                              " is not supported: use S256"));
  if (!valid_code_challenge(*challenge))
    return refuse(OAuthError::invalid_request(
        "code_challenge must be base64url(SHA-256(code_verifier)): 43 characters"));
  c.code_challenge = *challenge;
  auto scopes = scopes_requested(params);
  if (!scopes.ok()) return refuse(scopes.error());
  c.scope = params.param("scope");
  c.scopes = std::move(scopes).value();
  // Only RFC 8707 resource indicators here; "audience" is a token-endpoint parameter.
  OAuthRequest resources;
  for (const auto& r : params.params_named("resource"))
    resources.params.emplace_back("resource", r);
  auto audiences = audiences_requested(resources);
  if (!audiences.ok()) return refuse(audiences.error());
  c.resources = std::move(audiences).value();
  return out;
}

// HMAC under the server secret over every parameter the form carries and its expiry. Each field
// is length-prefixed, so no two different parameter sets share the signed text.
std::string form_binding(const crypto::SecretHasher& hasher, const std::string& client_id,
                         const std::string& redirect_uri, const std::string& challenge,
                         const std::optional<std::string>& scope,
                         const std::optional<std::string>& state,
                         const std::vector<std::string>& resources, std::int64_t expires) {
  std::string text = "custody authorize form v1\n";
  auto field = [&text](std::string_view v) {
    text += std::to_string(v.size()) + ":" + std::string(v) + "\n";
  };
  field(client_id);
  field(redirect_uri);
  field(challenge);
  field(scope ? "1" + *scope : "0");
  field(state ? "1" + *state : "0");
  field(std::to_string(resources.size()));
  for (const auto& r : resources) field(r);
  field(std::to_string(expires));
  return hasher.hash_hex(text);
}

// The posted form's binding: present, unexpired, and over exactly the posted parameters.
std::optional<OAuthError> check_binding(const crypto::SecretHasher& hasher, const OAuthRequest& f,
                                        Micros now) {
  auto binding = f.param("binding");
  auto expires_text = f.param("expires");
  if (!binding || !expires_text)
    return OAuthError::invalid_request("the form is not one this server rendered (no binding)");
  std::int64_t expires = 0;
  auto [end, ec] =
      std::from_chars(expires_text->data(), expires_text->data() + expires_text->size(), expires);
  if (ec != std::errc() || end != expires_text->data() + expires_text->size())
    return OAuthError::invalid_request("the form's expiry is malformed");
  std::string expected =
      form_binding(hasher, f.param("client_id").value_or(""), f.param("redirect_uri").value_or(""),
                   f.param("code_challenge").value_or(""), f.param("scope"), f.param("state"),
                   f.params_named("resource"), expires);
  if (!crypto::constant_time_equal(expected, *binding))
    return OAuthError::invalid_request(
        "the form's binding does not verify: its parameters were altered, or it is not this "
        "server's form");
  if (expires * kMicrosPerSecond <= now)
    return OAuthError::invalid_request(
        "the consent form expired: start again from the application");
  return std::nullopt;
}

// RFC 6749 §4.1.2.1: error_description is printable ASCII without '"' and '\'.
std::string printable(std::string_view text) {
  std::string out;
  for (unsigned char c : text.substr(0, 1000))
    out += (c < 0x20 || c > 0x7e || c == '"' || c == '\\') ? '\'' : static_cast<char>(c);
  return out;
}

void secure_headers(WebReply& r, const std::string& redirect_uri) {
  // A browser applies form-action to the redirect that answers the form too (CSP 3), so the
  // client's redirect origin must be allowed besides this server.
  std::string csp = "default-src 'none'; form-action 'self'";
  if (std::string origin = origin_of(redirect_uri); !origin.empty()) csp += " " + origin;
  csp += "; frame-ancestors 'none'";
  r.headers = {{"Content-Security-Policy", csp},   {"X-Frame-Options", "DENY"},
               {"Cache-Control", "no-store"},      {"Pragma", "no-cache"},
               {"Referrer-Policy", "no-referrer"}, {"X-Content-Type-Options", "nosniff"}};
}

WebReply error_page_reply(const OAuthError& e) {
  WebReply r;
  r.status = e.status == 401 ? 400 : e.status;
  r.body = error_page(e.error, e.description);
  secure_headers(r, "");
  return r;
}

WebReply redirect_reply(const std::string& uri,
                        const std::vector<std::pair<std::string, std::string>>& params) {
  WebReply r;
  r.status = 303;
  r.content_type = "text/plain; charset=utf-8";
  secure_headers(r, "");
  r.headers.emplace_back("Location", with_query(uri, params));
  return r;
}

// The refusal sent to the client (RFC 6749 §4.1.2.1, RFC 9207 iss).
WebReply error_redirect(const Checked& c, const OAuthError& e, const std::string& issuer) {
  std::vector<std::pair<std::string, std::string>> p = {
      {"error", e.error}, {"error_description", printable(e.description)}};
  if (c.state) p.emplace_back("state", *c.state);
  p.emplace_back("iss", issuer);
  return redirect_reply(c.redirect_uri, p);
}

WebReply consent_reply(const crypto::SecretHasher& hasher, const Checked& c, Micros now, int status,
                       std::string message) {
  std::int64_t expires = (now + kFormLifetime) / kMicrosPerSecond;
  ConsentView v;
  v.client_id = c.client.id;
  v.client_name = c.client.display_name;
  v.client_owner = c.client.owner_id.value_or("");
  v.redirect_uri = c.redirect_uri;
  v.scopes = c.scopes;
  v.resources = c.resources;
  v.message = std::move(message);
  v.hidden = {{"response_type", "code"},
              {"client_id", c.client.id},
              {"redirect_uri", c.redirect_uri},
              {"code_challenge", c.code_challenge},
              {"code_challenge_method", "S256"}};
  if (c.scope) v.hidden.emplace_back("scope", *c.scope);
  if (c.state) v.hidden.emplace_back("state", *c.state);
  for (const auto& r : c.resources) v.hidden.emplace_back("resource", r);
  v.hidden.emplace_back("expires", std::to_string(expires));
  v.hidden.emplace_back("binding",
                        form_binding(hasher, c.client.id, c.redirect_uri, c.code_challenge, c.scope,
                                     c.state, c.resources, expires));
  WebReply r;
  r.status = status;
  r.body = consent_page(v);
  secure_headers(r, c.redirect_uri);
  return r;
}

audit::Event authorize_event(const OAuthRequest& req, Micros now, std::string actor,
                             std::string target) {
  audit::Event event;
  event.time = now;
  event.actor = actor.empty() ? "anonymous" : std::move(actor);
  event.action = "oauth.authorize";
  event.target = target.substr(0, 80);
  event.request_id = req.request_id;
  event.details = {{"method", req.method}};
  if (!req.remote_address.empty()) event.details["remote"] = req.remote_address;
  return event;
}

// Audits a refusal durably, then answers. An audit failure is logged; the refusal still goes out
// (it changes nothing, and the client must learn it was refused).
void refuse(store::Store& store, audit::Event event, const OAuthError& e, WebReply answer,
            const WebReplyFn& reply) {
  event.outcome = e.error;
  event.details["reason"] = e.description;
  auto shared = std::make_shared<WebReply>(std::move(answer));
  store.write([event](store::Tx& tx) mutable { return audit::append(tx, event); },
              [reply, shared](Status s) {
                if (!s.ok())
                  log::error("could not audit a refused authorization request",
                             {{"error", s.error().message}});
                reply(std::move(*shared));
              });
}

// A refusal from check_request: shown, or (redirect URI validated) sent to the client.
void refuse_checked(store::Store& store, const Settings& settings, audit::Event event,
                    const CheckOutcome& out, const WebReplyFn& reply) {
  const OAuthError& e = *out.refusal;
  bool redirect = !out.request.redirect_uri.empty();
  if (redirect) event.details["redirect_uri"] = out.request.redirect_uri;
  refuse(store, std::move(event), e,
         redirect ? error_redirect(out.request, e, settings.issuer) : error_page_reply(e), reply);
}

}  // namespace

void AuthorizeEndpoint::show(const OAuthRequest& q, WebReplyFn reply) const {
  Micros now = clock_.now();
  CheckOutcome out;
  Status read = store_.read([&](store::Tx& tx) -> Status {
    out = check_request(tx, q);
    return ok_status();
  });
  if (!read.ok()) out = shown(OAuthError::temporarily_unavailable("the store is unavailable"));
  audit::Event event = authorize_event(q, now, "", q.param("client_id").value_or(""));
  if (out.refusal) return refuse_checked(store_, settings_, std::move(event), out, reply);
  reply(consent_reply(hasher_, out.request, now, 200, ""));
}

void AuthorizeEndpoint::decide(const OAuthRequest& f, WebReplyFn reply) const {
  Micros now = clock_.now();
  audit::Event event = authorize_event(f, now, "", f.param("client_id").value_or(""));
  if (auto repeated = f.check_no_repeats({"resource"}))
    return refuse(store_, std::move(event), *repeated, error_page_reply(*repeated), reply);
  if (auto tampered = check_binding(hasher_, f, now))
    return refuse(store_, std::move(event), *tampered, error_page_reply(*tampered), reply);
  auto decision = f.param("decision");
  if (!decision || (*decision != "approve" && *decision != "deny")) {
    auto e = OAuthError::invalid_request("decision must be approve or deny");
    return refuse(store_, std::move(event), e, error_page_reply(e), reply);
  }
  bool approve = *decision == "approve";

  CheckOutcome out;
  auto token = f.param("token");
  std::optional<Result<directory::Principal>> who;
  std::optional<OAuthResult<Coverage>> coverage;
  Status read = store_.read([&](store::Tx& tx) -> Status {
    out = check_request(tx, f);
    if (out.refusal || !token) return ok_status();
    who = directory::authenticate_admin_token(tx, *token, hasher_, now);
    if (!approve || !who->ok() || !(*who)->human_id) return ok_status();
    // The token will carry the human's authority: their entitlements must cover the request.
    coverage =
        entitlement_coverage(tx, *(*who)->human_id, out.request.scopes, out.request.resources, now);
    return ok_status();
  });
  if (!read.ok()) out = shown(OAuthError::temporarily_unavailable("the store is unavailable"));
  if (out.refusal) return refuse_checked(store_, settings_, std::move(event), out, reply);
  const Checked& c = out.request;
  event.details["redirect_uri"] = c.redirect_uri;
  bool signed_in = who && who->ok();
  if (signed_in) {
    event.actor = (*who)->actor();
    event.details["token_id"] = (*who)->token_id;
  }

  if (!approve) {
    auto e = OAuthError::access_denied("the user denied the request");
    return refuse(store_, std::move(event), e, error_redirect(c, e, settings_.issuer), reply);
  }
  // Signing in failed: the consent page again, with the reason.
  auto again = [&](OAuthError e) {
    refuse(store_, std::move(event), e, consent_reply(hasher_, c, now, e.status, e.description),
           reply);
  };
  if (!token) return again({401, "unauthenticated", "sign in with your owner token to approve"});
  if (!signed_in) {
    if (who->error().code != Code::kUnauthenticated)
      return refuse(store_, std::move(event),
                    OAuthError::temporarily_unavailable("the store is unavailable"),
                    error_page_reply(OAuthError::temporarily_unavailable("try again")), reply);
    return again({401, "unauthenticated",
                  "the token is not valid: unknown, expired or revoked, or its human is not "
                  "active"});
  }
  const directory::Principal& p = **who;
  if (p.role == directory::Role::kAuditor)
    return again({403, "permission_denied",
                  "an auditor token is read-only and acts for no human: sign in with your "
                  "owner-role token"});
  if (!p.human_id)
    return again({403, "permission_denied",
                  "an admin token acts for no human: sign in with an owner-role token of your "
                  "human identity (custody token create --role owner --human usr_…)"});
  if (!coverage->ok()) {
    OAuthError e = coverage->error();
    e.description = *p.human_id + "'s entitlements do not cover the request: " + e.description;
    if (!e.bound.empty()) event.details["bound"] = e.bound;
    return refuse(store_, std::move(event), e, error_redirect(c, e, settings_.issuer), reply);
  }

  ApprovedAuthorization approved{c.client.id,          *p.human_id,      p.token_id,
                                 c.redirect_uri,       c.code_challenge, (*coverage)->scopes,
                                 (*coverage)->audience};
  event.outcome = "success";
  event.details["client_id"] = c.client.id;
  event.details["scope"] = join_scopes(approved.scopes);
  event.details["aud"] = approved.resources;
  event.details["code_expires_at"] = (now + kAuthorizationCodeTtl) / kMicrosPerSecond;
  auto code = std::make_shared<std::string>();
  // The callbacks outlive this endpoint object; the store and the hasher live for the process.
  store::Store* store = &store_;
  const crypto::SecretHasher* hasher = &hasher_;
  std::string issuer = settings_.issuer;
  store_.write(
      [approved, event, code, hasher, now](store::Tx& tx) mutable -> Status {
        CUSTODY_ASSIGN(*code, create_authorization_code(tx, *hasher, approved, now));
        return audit::append(tx, event);
      },
      [reply, code, c, issuer, store, event](Status s) mutable {
        if (!s.ok()) {
          log::error("could not record an authorization code", {{"error", s.error().message}});
          auto e = OAuthError::temporarily_unavailable("the approval could not be recorded");
          return refuse(*store, std::move(event), e, error_redirect(c, e, issuer), reply);
        }
        std::vector<std::pair<std::string, std::string>> p = {{"code", *code}};
        if (c.state) p.emplace_back("state", *c.state);
        p.emplace_back("iss", issuer);
        reply(redirect_reply(c.redirect_uri, p));
      });
}

void AuthorizeEndpoint::refuse_malformed(const OAuthRequest& request,
                                         const std::string& description, WebReplyFn reply) const {
  auto e = OAuthError::invalid_request(description);
  refuse(store_, authorize_event(request, clock_.now(), "", ""), e, error_page_reply(e), reply);
}

}  // namespace custody::oauth
