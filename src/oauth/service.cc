#include "oauth/service.h"

#include <algorithm>
#include <memory>

#include "audit/events.h"
#include "common/jcs.h"
#include "common/log.h"
#include "crypto/jose_encoding.h"
#include "crypto/jws.h"
#include "crypto/jwt.h"
#include "delegation/record.h"
#include "device/assertion.h"
#include "directory/entitlements.h"
#include "inventory/findings.h"
#include "oauth/access_token.h"
#include "oauth/authorization_code.h"
#include "oauth/ciba.h"
#include "oauth/client_auth.h"
#include "oauth/grants.h"
#include "oauth/issuance_policy.h"
#include "oauth/replay.h"
#include "policy/approvals.h"

namespace custody::oauth {
namespace {

const std::vector<std::string> kRepeatable = {"resource", "audience"};

void no_store(Reply& r) {
  r.headers.emplace_back("Cache-Control", "no-store");
  r.headers.emplace_back("Pragma", "no-cache");
}

Reply error_reply(const OAuthError& e, const DpopNonces& nonces, Micros now) {
  Reply r;
  r.status = e.status;
  r.body = {{"error", e.error}, {"error_description", e.description}};
  if (!e.bound.empty()) r.body["bound"] = e.bound;
  if (e.basic_challenge) r.headers.emplace_back("WWW-Authenticate", "Basic realm=\"custody\"");
  if (e.dpop_nonce_needed) r.headers.emplace_back("DPoP-Nonce", nonces.current(now));
  if (e.retry_after_seconds > 0)
    r.headers.emplace_back("Retry-After", std::to_string(e.retry_after_seconds));
  no_store(r);
  return r;
}

// The fields every OAuth audit event shares; callers add outcome, target and details.
audit::Event oauth_event(std::string action, const std::string& actor, std::string request_id,
                         Micros now, const std::string& delegation_id = {},
                         const std::string& chain_root = {}) {
  audit::Event event;
  event.time = now;
  event.actor = actor.empty() ? "anonymous" : actor;
  event.action = std::move(action);
  event.target = delegation_id;
  event.delegation_id = delegation_id;
  event.chain_root = chain_root;
  event.request_id = std::move(request_id);
  return event;
}

std::vector<crypto::Alg> all_algs() {
  return {crypto::Alg::kES256, crypto::Alg::kEdDSA, crypto::Alg::kRS256};
}

// The "act" chain as a list of actors, outermost (most recent) first, for audit events.
nlohmann::json actor_chain(const nlohmann::json& act) {
  nlohmann::json out = nlohmann::json::array();
  const nlohmann::json* at = &act;
  while (at->is_object() && at->contains("sub")) {
    out.push_back((*at)["sub"]);
    auto it = at->find("act");
    if (it == at->end()) break;
    at = &*it;
  }
  return out;
}

// A private_key_jwt assertion's replay-cache entry (client_auth.h: a jti is used once). The
// token endpoint spends it with the issuance; introspection and revocation spend it inside the
// write that answers, so a replayed assertion loses there too (kConflict, "client_assertion").
struct SpentAssertion {
  std::string value;
  Micros expires_at = 0;
};

std::optional<SpentAssertion> assertion_of(const AuthenticatedClient& client) {
  if (!client.assertion_jti) return std::nullopt;
  return SpentAssertion{*client.assertion_jti, client.assertion_expires_at};
}

Status spend(store::Tx& tx, const std::optional<SpentAssertion>& assertion, Micros now) {
  if (!assertion) return ok_status();
  CUSTODY_ASSIGN(bool fresh,
                 record_once(tx, "client_assertion", assertion->value, assertion->expires_at, now));
  if (!fresh) return Error::conflict("client assertion jti was already used", "client_assertion");
  return ok_status();
}

// What the issuing write of a token needs, and nothing more: the issuance's other parts (the
// identity rows it read, the claims) are freed on the request's thread, not the writer's.
// The record's row and the audit event are built here too (delegation::record_row,
// audit::prepare): the writer only runs their statements.
struct IssuingWrite {
  std::string record_id;
  delegation::RecordRow record;
  std::vector<OneTimeValue> one_time;
  std::string approval_id;
  std::string authorization_code;
  std::vector<std::string> must_be_live;
  audit::PreparedEvent event;
};

// The successful token response (RFC 6749 §5.1, RFC 8693 §2.2.1) as JSON text, members in name
// order as nlohmann::json would dump them.
Result<std::string> token_response_text(const std::string& access_token, const Issuance& issuance,
                                        std::int64_t expires_in, const std::string& scope) {
  std::string out;
  out.reserve(access_token.size() + scope.size() + 160);
  out += "{\"access_token\":";
  CUSTODY_TRY(jcs::append_string(access_token, out));
  out += ",\"expires_in\":";
  CUSTODY_TRY(jcs::append_integer(expires_in, out));
  if (!issuance.issued_token_type.empty()) {
    out += ",\"issued_token_type\":";
    CUSTODY_TRY(jcs::append_string(issuance.issued_token_type, out));
  }
  out += ",\"scope\":";
  CUSTODY_TRY(jcs::append_string(scope, out));
  out += ",\"token_type\":";
  CUSTODY_TRY(jcs::append_string(issuance.token_type, out));
  out += '}';
  return out;
}

bool replayed_assertion(const Status& s) {
  return !s.ok() && s.error().code == Code::kConflict && s.error().field == "client_assertion";
}

}  // namespace

Service::Service(store::Store& store, const Clock& clock, const crypto::SecretHasher& hasher,
                 const KeyManager& keys, const policy::Pdp& pdp, Settings settings,
                 std::string nonce_secret)
    : store_(store),
      clock_(clock),
      hasher_(hasher),
      keys_(keys),
      pdp_(pdp),
      settings_(std::move(settings)),
      nonces_(std::move(nonce_secret)),
      auth_limiter_(settings_.client_auth_limits) {}

OAuthResult<AuthenticatedClient> Service::authenticate(store::Tx& tx, const OAuthRequest& req,
                                                       Micros now) {
  // The peer's port changes with every connection; the address is what a guesser keeps.
  std::string key =
      std::string(address_without_port(req.remote_address)) + " " + claimed_client_id(req);
  if (auto wait = auth_limiter_.locked(key, now)) {
    int seconds = static_cast<int>((*wait + kMicrosPerSecond - 1) / kMicrosPerSecond);
    return OAuthError::client_auth_locked(
        "too many failed authentications of this client from this address; retry in " +
            std::to_string(seconds) + " s",
        seconds);
  }
  auto client = authenticate_client(tx, req, settings_, hasher_,
                                    keys_.keys().snapshot()->verification_keys, now);
  if (!client.ok() && client.error().error == "invalid_client") auth_limiter_.failed(key, now);
  return client;
}

std::string Service::jwks_text() const {
  return keys_.keys().jwks();
}

Result<PresentedToken> Service::verify_own(std::string_view token, bool allow_expired) const {
  auto snapshot = keys_.keys().snapshot();
  crypto::JwtPolicy policy;
  policy.jws.algorithms = all_algs();
  policy.issuer = settings_.issuer;
  policy.check_audience = false;  // who may present it is decided by the caller
  policy.types = {"at+jwt"};
  policy.skew = settings_.skew;
  if (!allow_expired) {
    Micros now = clock_.now();
    if (auto hit = verified_.find(token, now, settings_.skew, snapshot->verification_keys))
      return *hit;
    CUSTODY_ASSIGN(auto jwt,
                   crypto::jwt_verify(token, snapshot->verification_keys, policy, clock_));
    CUSTODY_ASSIGN(auto presented, presented_token(jwt.claims));
    verified_.insert(token, jwt.key.kid(), presented, now, settings_.skew);
    return presented;
  }
  CUSTODY_ASSIGN(auto jws, crypto::jws_verify(token, snapshot->verification_keys, policy.jws));
  CUSTODY_ASSIGN(auto claims, crypto::jwt_parse_claims(jws.payload));
  // Every check of a live token (typ, iss, exp present, nbf) as of the moment it was issued, so
  // only the expiry itself is forgiven.
  auto iat = claims.find("iat");
  if (iat == claims.end() || !iat->is_number_integer())
    return Error::unauthenticated("token has no iat");
  CUSTODY_TRY(crypto::jwt_check_claims(jws.header, claims, policy,
                                       iat->get<std::int64_t>() * kMicrosPerSecond));
  return presented_token(claims);
}

// Verifies a subject or actor token of a token exchange: custody's own, or a trusted external
// issuer's (RFC 8693 §2.1).
TokenVerifier Service::subject_token_verifier() const {
  return [this](std::string_view token, std::string_view what) -> OAuthResult<PresentedToken> {
    // One of custody's access tokens that verified before (these very bytes, its key still
    // published, unexpired): what verify_own would answer once the issuer was parsed out of it,
    // without parsing it twice. Only verify_own fills the cache, with at+jwt tokens of this
    // issuer, so a device-attested assertion or another issuer's token never hits.
    if (auto hit = verified_.find(token, clock_.now(), settings_.skew,
                                  keys_.keys().snapshot()->verification_keys))
      return *hit;
    std::string w(what);
    std::string bound = w == "actor_token" ? "actor" : "subject";
    crypto::VerifyPolicy peek_policy;
    peek_policy.algorithms = all_algs();
    auto parsed = crypto::jws_parse(token, peek_policy);
    if (!parsed.ok())
      return OAuthError::invalid_request(w + " refused: " + parsed.error().message, bound);
    auto claims = crypto::jwt_parse_claims(parsed->payload);
    if (!claims.ok() || !claims->contains("iss") || !(*claims)["iss"].is_string())
      return OAuthError::invalid_request(w + " refused: it has no issuer", bound);
    std::string iss = (*claims)["iss"].get<std::string>();
    // An actor token may be a device-attested client assertion custody signed for a process on
    // an enrolled device (docs/devices.md): the actor is the assertion's identity.
    if (w == "actor_token" && parsed->header.contains("typ") &&
        parsed->header["typ"] == device::kAssertionType) {
      auto keys = keys_.keys().snapshot();
      crypto::JwtPolicy policy;
      policy.jws.algorithms = all_algs();
      policy.check_issuer = false;  // iss is the client; sub must equal it
      policy.audience = settings_.token_endpoint();
      policy.types = {std::string(device::kAssertionType)};
      policy.skew = settings_.skew;
      auto jwt = crypto::jwt_verify(token, keys->verification_keys, policy, clock_);
      if (!jwt.ok())
        return OAuthError::invalid_request(w + " refused: " + jwt.error().message, bound);
      const auto& c = jwt->claims;
      if (!c.contains("sub") || !c["sub"].is_string() || c.value("iss", "") != c["sub"] ||
          !c.contains("device_id") || !c["device_id"].is_string() || !c.contains("jti") ||
          !c["jti"].is_string())
        return OAuthError::invalid_request(
            w + " refused: a device-attested assertion needs iss = sub, device_id and jti", bound);
      PresentedToken p;
      p.issuer = settings_.issuer;
      p.subject = c["sub"].get<std::string>();
      p.jti = c["jti"].get<std::string>();
      p.client_id = p.subject;
      p.audience = {settings_.issuer};  // meant for custody itself
      p.expires_at = c["exp"].get<std::int64_t>() * kMicrosPerSecond;
      p.device_id = c["device_id"].get<std::string>();
      p.claims = c;
      return p;
    }
    if (iss == settings_.issuer) {
      auto own = verify_own(token, false);
      if (!own.ok())
        return OAuthError::invalid_request(w + " refused: " + own.error().message, bound);
      return std::move(own).value();
    }
    const TrustedIssuer* trusted = settings_.trusted(iss);
    if (!trusted)
      return OAuthError::invalid_request(
          w + " refused: issuer " + crypto::quote_untrusted(iss) + " is not trusted", bound);
    // Keys from its jwks_uri fail closed while none are fresh enough (remote_jwks.h).
    std::shared_ptr<const crypto::JwkSet> fetched;
    if (trusted->remote) {
      auto current = trusted->remote->current(clock_.now());
      if (!current.ok())
        return OAuthError::invalid_request(w + " refused: " + current.error().message, bound);
      fetched = std::move(current).value();
    }
    const crypto::JwkSet& keys = fetched ? *fetched : trusted->keys;
    crypto::JwtPolicy policy;
    policy.jws.algorithms = trusted->algorithms;
    policy.issuer = trusted->issuer;
    policy.audience = trusted->audience;
    policy.types = {"JWT", "at+jwt"};
    policy.allow_missing_type = true;
    policy.skew = settings_.skew;
    auto jwt = crypto::jwt_verify(token, keys, policy, clock_);
    if (!jwt.ok()) {
      std::string why = jwt.error().message;
      // A kid the fetched keys lack: the issuer may have rotated. Fetch again (rate-limited)
      // for the retry; this request does not wait on the network.
      if (trusted->remote) {
        auto parsed = crypto::jws_parse(token, policy.jws);
        if (parsed.ok() && !parsed->kid.empty() && keys.find(parsed->kid) == nullptr &&
            trusted->remote->refetch_for_unknown_kid())
          why += "; fetching the issuer's keys again from " + trusted->remote->url_text() +
                 ", retry shortly";
      }
      return OAuthError::invalid_request(w + " refused: " + why, bound);
    }
    auto presented = presented_token(jwt->claims);
    if (!presented.ok())
      return OAuthError::invalid_request(w + " refused: " + presented.error().message, bound);
    return std::move(presented).value();
  };
}

void Service::token(const OAuthRequest& req, ReplyFn reply) {
  issue(req, nullptr, std::move(reply));
}

void Service::token_for(const InProcessClient& client, const OAuthRequest& req, ReplyFn reply) {
  issue(req, &client, std::move(reply));
}

void Service::issue(const OAuthRequest& req, const InProcessClient* in_process, ReplyFn reply) {
  Micros now = clock_.now();
  std::string actor;  // the authenticated client, once known
  std::string grant_type = req.param("grant_type").value_or("");
  auto decided = std::make_shared<OAuthResult<Issuance>>(OAuthError::server_error("no decision"));
  std::string reused_code_delegation;  // a replayed authorization code's token, to revoke

  TokenVerifier verify = subject_token_verifier();

  Status read = store_.read([&](store::Tx& tx) -> Status {
    if (auto repeated = req.check_no_repeats(kRepeatable)) {
      *decided = *repeated;
      return ok_status();
    }
    OAuthResult<AuthenticatedClient> client = OAuthError::server_error("no client");
    if (in_process == nullptr && grant_type == kGrantAuthorizationCode &&
        presents_no_client_credentials(req)) {
      client = authenticate_public_client(tx, req);  // authorization_code.h
    } else if (in_process == nullptr) {
      client = authenticate(tx, req, now);
    } else if (grant_type != kGrantTokenExchange) {
      client = OAuthError::unsupported_grant_type("in-process clients only exchange tokens");
    } else {
      auto identity = check_active_identity(tx, in_process->identity_id, "client");
      if (identity.ok())
        client = AuthenticatedClient{std::move(identity).value(),
                                     "in_process",
                                     "",
                                     std::nullopt,
                                     0,
                                     std::nullopt,
                                     std::nullopt};
      else
        client = identity.error();
    }
    if (!client.ok()) {
      *decided = client.error();
      return ok_status();
    }
    actor = client->identity.id;
    if (grant_type.empty()) {
      *decided = OAuthError::invalid_request("grant_type is required");
      return ok_status();
    }
    if (grant_type != kGrantClientCredentials && grant_type != kGrantTokenExchange &&
        grant_type != kGrantCiba && grant_type != kGrantAuthorizationCode) {
      *decided = OAuthError::unsupported_grant_type("grant_type " + grant_type.substr(0, 80) +
                                                    " is not supported");
      return ok_status();
    }
    auto dpop = check_dpop_proof(req, settings_, nonces_, now);
    if (!dpop.ok()) {
      *decided = dpop.error();
      return ok_status();
    }
    GrantInput in{req, *client, *dpop, settings_, now};
    if (in_process != nullptr) in.actor_resources = &in_process->served_resources;
    *decided = grant_type == kGrantClientCredentials ? grant_client_credentials(tx, in)
               : grant_type == kGrantCiba            ? grant_ciba(tx, in, pdp_, verify)
               : grant_type == kGrantAuthorizationCode
                   ? grant_authorization_code(tx, in, hasher_, reused_code_delegation)
                   : grant_token_exchange(tx, in, verify);
    if (!decided->ok()) return ok_status();
    Issuance& issuance = decided->value();
    issuance.audit["client_auth"] = client->method;
    // Read with the client's row when it authenticated in this transaction.
    Result<bool> drifted = client->read_in == &tx && !client->read.empty() &&
                                   client->read.front().identity.id == client->identity.id
                               ? Result<bool>(client->read.front().drifted)
                               : inventory::is_drifted(tx, client->identity.id);
    if (!drifted.ok()) return drifted.error();
    if (*drifted && settings_.deny_drifted) {
      *decided = OAuthError::invalid_grant(
          "client " + client->identity.id +
              " is a discovered component whose launch definition changed since it was "
              "registered (drift); register it again",
          "discovery");
      return ok_status();
    }
    if (*drifted)
      issuance.audit["discovery_alert"] = "drifted: allowed by discovery.enforcement alert";
    // Within the built-in bounds; now the policies decide (issuance_policy.h).
    // A CIBA token was approved by a human: @approval policies are waived for it.
    auto verdict = authorize_issuance(tx, pdp_, issuance, now, !issuance.approval_id.empty());
    if (!verdict.ok()) {
      *decided = verdict.error();
      return ok_status();
    }
    issuance.record.policy = {{"version", verdict->policy_version},
                              {"policies", verdict->policies}};
    if (!issuance.approval_id.empty()) issuance.record.policy["approval"] = issuance.approval_id;
    issuance.audit["policy"] = issuance.record.policy;
    return ok_status();
  });
  if (!read.ok()) *decided = OAuthError::temporarily_unavailable("the store is unavailable");

  // Copies only: refusals may be answered from the writer thread after the request is gone.
  // `revoke` (a replayed authorization code's token, RFC 6749 §4.1.2) is revoked with the audit.
  auto refuse = [this, reply, now, grant_type, rid = req.request_id, remote = req.remote_address](
                    const std::string& actor, const OAuthError& e, const std::string& claimed = {},
                    const std::string& revoke = {}) {
    audit::Event event = oauth_event("oauth.token", actor, rid, now);
    event.outcome = e.error;
    event.details = {{"grant_type", grant_type.substr(0, 80)}, {"reason", e.description}};
    if (!e.bound.empty()) event.details["bound"] = e.bound;
    if (!claimed.empty()) event.details["claimed_client_id"] = claimed;
    if (!remote.empty()) event.details["remote"] = remote;
    auto answer = std::make_shared<Reply>(error_reply(e, nonces_, now));
    store_.write(
        [event, revoke, actor, now](store::Tx& tx) mutable -> Status {
          if (!revoke.empty()) {
            auto revoked =
                delegation::revoke_subtree(tx, revoke, now, actor, "authorization code used again");
            if (!revoked.ok() && revoked.error().code != Code::kNotFound) return revoked.error();
            event.details["revoked"] = revoked.ok() ? nlohmann::json(*revoked) : nlohmann::json();
          }
          return audit::append(tx, event);
        },
        [reply, answer](Status s) {
          if (!s.ok())
            log::error("could not audit a refused token request", {{"error", s.error().message}});
          reply(std::move(*answer));
        });
  };
  if (!decided->ok())
    return refuse(actor, decided->error(), actor.empty() ? claimed_client_id(req) : "",
                  reused_code_delegation);

  Issuance& issuance = decided->value();
  auto key = keys_.keys().current();
  if (!key) return refuse(actor, OAuthError::temporarily_unavailable("no signing key"));
  auto payload =
      access_token_payload(issuance.record, settings_.issuer, issuance.act, issuance.may_act);
  if (!payload.ok()) return refuse(actor, OAuthError::server_error("cannot sign the token"));
  auto jwt = crypto::jwt_sign_serialized(*payload, key->key, "at+jwt");
  if (!jwt.ok()) return refuse(actor, OAuthError::server_error("cannot sign the token"));

  const std::int64_t expires_in =
      (issuance.record.expires_at - now + kMicrosPerSecond - 1) / kMicrosPerSecond;
  std::string scope = join_scopes(issuance.record.scopes);
  auto answer = std::make_shared<Reply>();
  if (in_process == nullptr) {
    auto text = token_response_text(*jwt, issuance, expires_in, scope);
    if (!text.ok()) return refuse(actor, OAuthError::server_error("cannot answer the token"));
    answer->text = std::move(text).value();
  } else {
    // The in-process client (the MCP gateway) reads the answer as JSON.
    answer->body = {{"access_token", std::move(jwt).value()},
                    {"token_type", issuance.token_type},
                    {"expires_in", expires_in},
                    {"scope", scope}};
    if (!issuance.issued_token_type.empty())
      answer->body["issued_token_type"] = issuance.issued_token_type;
  }
  no_store(*answer);
  if (settings_.dpop_nonce) answer->headers.emplace_back("DPoP-Nonce", nonces_.current(now));

  // Only what the issuing write needs goes to the writer thread (which also frees it).
  auto write = std::make_shared<IssuingWrite>();
  audit::Event event = oauth_event("oauth.token", actor, req.request_id, now, issuance.record.id,
                                   issuance.record.subject);
  event.outcome = "success";
  event.details = std::move(issuance.audit);
  event.details["sub"] = issuance.record.subject;
  event.details["scope"] = std::move(scope);
  event.details["aud"] = issuance.record.audience;
  event.details["depth"] = issuance.record.depth;
  event.details["root"] = issuance.record.root_id;
  event.details["chain"] = actor_chain(issuance.act);
  event.details["exp"] = issuance.record.expires_at / kMicrosPerSecond;
  if (issuance.record.cnf_jkt) event.details["cnf_jkt"] = *issuance.record.cnf_jkt;
  if (issuance.record.max_hops) event.details["max_hops"] = *issuance.record.max_hops;
  auto prepared = audit::prepare(std::move(event));
  if (!prepared.ok()) return refuse(actor, OAuthError::server_error("cannot audit the token"));
  write->event = std::move(prepared).value();
  write->record_id = issuance.record.id;
  write->record = delegation::record_row(issuance.record);
  write->one_time = std::move(issuance.one_time);
  write->approval_id = std::move(issuance.approval_id);
  write->authorization_code = std::move(issuance.authorization_code);
  write->must_be_live = std::move(issuance.must_be_live);

  store_.write(
      [write, now](store::Tx& tx) -> Status {
        for (const auto& v : write->one_time) {
          CUSTODY_ASSIGN(bool fresh, record_once(tx, v.kind, v.value, v.expires_at, now));
          if (!fresh)
            return Error::conflict(v.kind == "dpop" ? "DPoP proof jti was already used"
                                                    : "client assertion jti was already used",
                                   v.kind);
        }
        // One approval, one token: the approval is consumed with the issuance.
        if (!write->approval_id.empty() &&
            !policy::consume_approval(tx, write->approval_id, now).ok())
          return Error::conflict("the approval was already used for a token", "approval");
        // One code, one token (authorization_code.h).
        if (!write->authorization_code.empty())
          CUSTODY_TRY(
              spend_authorization_code(tx, write->authorization_code, write->record_id, now));
        for (const auto& id : write->must_be_live) {
          CUSTODY_ASSIGN(bool live, delegation::is_live(tx, id));
          if (!live) return Error::conflict("delegation " + id + " was revoked", "revoked");
        }
        CUSTODY_TRY(delegation::insert_row(tx, write->record));
        return audit::append(tx, write->event);
      },
      [reply, answer, refuse, actor](Status s) {
        if (s.ok()) return reply(std::move(*answer));
        const Error& e = s.error();
        if (e.code == Code::kConflict && e.field == "dpop")
          return refuse(actor, OAuthError::invalid_dpop_proof(e.message));
        if (e.code == Code::kConflict && e.field == "client_assertion")
          return refuse(actor,
                        OAuthError::invalid_client("client assertion refused: " + e.message));
        if (e.code == Code::kConflict && e.field == "approval")
          return refuse(actor, OAuthError::invalid_grant(e.message));
        if (e.code == Code::kConflict && e.field == "authorization_code")
          return refuse(actor, OAuthError::invalid_grant(e.message, "code_reuse"));
        if (e.code == Code::kConflict && e.field == "revoked")
          return refuse(actor, OAuthError::invalid_request(e.message, "revoked"));
        if (e.code == Code::kUnavailable)
          return refuse(actor, OAuthError::temporarily_unavailable(e.message));
        log::error("token issuance failed", {{"error", e.message}});
        refuse(actor, OAuthError::server_error("the token could not be recorded"));
      });
}

void Service::introspect(const OAuthRequest& req, ReplyFn reply) {
  Micros now = clock_.now();
  std::string caller;
  OAuthError failure;
  bool failed = false;
  nlohmann::json body = {{"active", false}};
  std::string target, inactive_reason, chain_root;
  std::optional<SpentAssertion> assertion;
  Status read = store_.read([&](store::Tx& tx) -> Status {
    if (auto repeated = req.check_no_repeats({})) {
      failure = *repeated;
      failed = true;
      return ok_status();
    }
    auto client = authenticate(tx, req, now);
    if (!client.ok()) {
      failure = client.error();
      failed = true;
      return ok_status();
    }
    caller = client->identity.id;
    assertion = assertion_of(*client);
    auto token = req.param("token");
    if (!token) {
      failure = OAuthError::invalid_request("token is required");
      failed = true;
      return ok_status();
    }
    auto presented = verify_own(*token, false);
    if (!presented.ok()) {
      inactive_reason = presented.error().message;
      return ok_status();
    }
    target = presented->jti;
    chain_root = presented->subject;
    auto record = delegation::find_record(tx, presented->jti);
    if (!record.ok()) return record.error();
    if (!*record) {
      inactive_reason = "no delegation record";
      return ok_status();
    }
    if ((*record)->revoked()) {
      inactive_reason = "revoked";
      return ok_status();
    }
    // Only a party to the token learns its claims (RFC 7662 §2.2 lets the server say inactive
    // to others): an audience, its client, subject or actor, or a client entitled to
    // custody:introspect.
    const auto& aud = (*record)->audience;
    bool party = caller == (*record)->client_id || caller == (*record)->subject ||
                 caller == (*record)->actor ||
                 std::find(aud.begin(), aud.end(), caller) != aud.end();
    if (!party) {
      auto ents = directory::active_entitlements(tx, caller, now);
      if (!ents.ok()) return ents.error();
      party = std::any_of(ents->begin(), ents->end(),
                          [](const auto& e) { return e.scope == "custody:introspect"; });
    }
    if (!party) {
      inactive_reason = "caller " + caller + " is not a party to the token";
      return ok_status();
    }
    for (const std::string& id : {(*record)->subject, (*record)->client_id, (*record)->actor}) {
      if (id.empty() || !directory::kind_of_id(id)) continue;
      auto active = check_active_identity(tx, id, "identity");
      if (!active.ok()) {
        inactive_reason = active.error().description;
        return ok_status();
      }
    }
    body = presented->claims;
    body["active"] = true;
    body["token_type"] = (*record)->cnf_jkt ? "DPoP" : "Bearer";
    return ok_status();
  });
  if (!read.ok()) {
    failure = OAuthError::temporarily_unavailable("the store is unavailable");
    failed = true;
  }
  audit::Event event =
      oauth_event("oauth.introspect", caller, req.request_id, now, target, chain_root);
  Reply answer;
  if (failed) {
    answer = error_reply(failure, nonces_, now);
    event.outcome = failure.error;
    event.details = {{"reason", failure.description}};
  } else {
    answer.body = std::move(body);
    no_store(answer);
    event.outcome = "success";
    event.details = {{"active", answer.body["active"]}};
    if (!inactive_reason.empty()) event.details["reason"] = inactive_reason;
  }
  auto shared = std::make_shared<Reply>(std::move(answer));
  store_.write(
      [event, assertion, now](store::Tx& tx) mutable -> Status {
        CUSTODY_TRY(spend(tx, assertion, now));
        return audit::append(tx, event);
      },
      [this, reply, shared, event, now](Status s) {
        if (replayed_assertion(s)) return refuse_replayed(event, s, now, reply);
        if (!s.ok()) {
          log::error("could not audit an introspection", {{"error", s.error().message}});
          return reply(error_reply(
              OAuthError::temporarily_unavailable("the audit log is unavailable"), nonces_, now));
        }
        reply(std::move(*shared));
      });
}

void Service::refuse_replayed(audit::Event event, const Status& s, Micros now,
                              const ReplyFn& reply) {
  auto e = OAuthError::invalid_client("client assertion refused: " + s.error().message);
  event.target.clear();
  event.outcome = e.error;
  event.details = {{"reason", e.description}};
  auto answer = std::make_shared<Reply>(error_reply(e, nonces_, now));
  store_.write([event](store::Tx& tx) mutable { return audit::append(tx, event); },
               [reply, answer](Status) { reply(std::move(*answer)); });
}

void Service::refuse_spending(audit::Event event, const OAuthError& failure,
                              store::Store::Work spend_assertion, Micros now,
                              const ReplyFn& reply) {
  event.outcome = failure.error;
  event.details = {{"reason", failure.description}};
  if (!failure.bound.empty()) event.details["bound"] = failure.bound;
  auto answer = std::make_shared<Reply>(error_reply(failure, nonces_, now));
  store_.write(
      [event, spend_assertion](store::Tx& tx) mutable -> Status {
        CUSTODY_TRY(spend_assertion(tx));
        return audit::append(tx, event);
      },
      [this, reply, answer, event, now](Status s) {
        if (replayed_assertion(s)) return refuse_replayed(event, s, now, reply);
        reply(std::move(*answer));
      });
}

void Service::revoke(const OAuthRequest& req, ReplyFn reply) {
  Micros now = clock_.now();
  std::string caller;
  std::optional<OAuthError> failure;
  std::string target, note, chain_root;
  std::optional<SpentAssertion> assertion;
  Status read = store_.read([&](store::Tx& tx) -> Status {
    if (auto repeated = req.check_no_repeats({})) {
      failure = *repeated;
      return ok_status();
    }
    auto client = authenticate(tx, req, now);
    if (!client.ok()) {
      failure = client.error();
      return ok_status();
    }
    caller = client->identity.id;
    assertion = assertion_of(*client);
    auto token = req.param("token");
    if (!token) {
      failure = OAuthError::invalid_request("token is required");
      return ok_status();
    }
    // RFC 7009 §2.2: an invalid or unknown token is not an error.
    auto presented = verify_own(*token, true);
    if (!presented.ok()) {
      note = "token not recognised: " + presented.error().message;
      return ok_status();
    }
    auto chain = delegation::chain(tx, presented->jti);
    if (!chain.ok()) {
      // Only an unknown record is "nothing to revoke"; a store failure must not answer 200 as
      // if the token were revoked.
      if (chain.error().code != Code::kNotFound) return chain.error();
      note = "no delegation record";
      return ok_status();
    }
    // The client the token was issued to, or anyone earlier in its chain (a delegator may
    // withdraw what it delegated), may revoke it.
    bool allowed = false;
    for (const auto& r : *chain)
      if (r.client_id == caller || r.subject == caller || r.actor == caller) allowed = true;
    if (!allowed) {
      failure = OAuthError::unauthorized_client("client " + caller +
                                                " is not part of this token's delegation chain");
      return ok_status();
    }
    target = presented->jti;
    chain_root = chain->front().subject;
    return ok_status();
  });
  if (!read.ok()) failure = OAuthError::temporarily_unavailable("the store is unavailable");

  audit::Event event = oauth_event("oauth.revoke", caller, req.request_id, now, target, chain_root);
  if (failure)
    return refuse_spending(
        event, *failure, [assertion, now](store::Tx& tx) { return spend(tx, assertion, now); }, now,
        reply);
  event.outcome = "success";
  if (!note.empty()) event.details = {{"note", note}};
  store_.write(
      [event, target, now, caller, assertion](store::Tx& tx) mutable -> Status {
        CUSTODY_TRY(spend(tx, assertion, now));
        if (!target.empty()) {
          CUSTODY_ASSIGN(auto revoked,
                         delegation::revoke_subtree(tx, target, now, caller, "oauth.revoke"));
          event.details["revoked_count"] = revoked.size();
          nlohmann::json ids = nlohmann::json::array();
          for (std::size_t i = 0; i < revoked.size() && i < 100; ++i) ids.push_back(revoked[i]);
          event.details["revoked"] = std::move(ids);
        }
        return audit::append(tx, event);
      },
      [reply, this, now, event](Status s) {
        if (replayed_assertion(s)) return refuse_replayed(event, s, now, reply);
        if (!s.ok()) {
          return reply(
              error_reply(OAuthError::temporarily_unavailable(s.error().message), nonces_, now));
        }
        Reply ok;
        ok.body = nullptr;
        no_store(ok);
        reply(std::move(ok));
      });
}

void Service::backchannel_authorize(const OAuthRequest& req, ReplyFn reply) {
  Micros now = clock_.now();
  std::string caller;
  std::optional<OAuthError> failure;
  std::optional<SpentAssertion> assertion;
  BackchannelRequest request;
  Status read = store_.read([&](store::Tx& tx) -> Status {
    if (auto repeated = req.check_no_repeats(kRepeatable)) {
      failure = *repeated;
      return ok_status();
    }
    auto client = authenticate(tx, req, now);
    if (!client.ok()) {
      failure = client.error();
      return ok_status();
    }
    caller = client->identity.id;
    assertion = assertion_of(*client);
    std::optional<DpopProof> no_proof;
    GrantInput in{req, *client, no_proof, settings_, now};
    auto checked =
        check_backchannel_request(tx, in, pdp_, subject_token_verifier(), settings_.ciba_expiry);
    if (!checked.ok()) {
      failure = checked.error();
      return ok_status();
    }
    request = std::move(checked).value();
    return ok_status();
  });
  if (!read.ok()) failure = OAuthError::temporarily_unavailable("the store is unavailable");

  audit::Event event = oauth_event("oauth.bc_authorize", caller, req.request_id, now);
  if (failure)
    return refuse_spending(
        event, *failure, [assertion, now](store::Tx& tx) { return spend(tx, assertion, now); }, now,
        reply);
  event.outcome = "success";
  event.details = {{"scope", request.scope},
                   {"aud", request.audience},
                   {"delivery_mode", request.notification_endpoint.empty() ? "poll" : "ping"}};
  auto auth_req_id = std::make_shared<std::string>();
  store_.write(
      [event, request, caller, assertion, now, auth_req_id](store::Tx& tx) mutable -> Status {
        CUSTODY_TRY(spend(tx, assertion, now));
        CUSTODY_ASSIGN(*auth_req_id, store_backchannel_request(tx, caller, request, now));
        event.target = *auth_req_id;
        event.details["auth_req_id"] = *auth_req_id;
        return audit::append(tx, event);
      },
      [this, reply, event, now, auth_req_id, request](Status s) {
        if (replayed_assertion(s)) return refuse_replayed(event, s, now, reply);
        if (!s.ok())
          return reply(
              error_reply(OAuthError::temporarily_unavailable(s.error().message), nonces_, now));
        Reply ok;
        ok.body = {{"auth_req_id", *auth_req_id},
                   {"expires_in", request.expires_in / kMicrosPerSecond},
                   {"interval", 5}};
        no_store(ok);
        reply(std::move(ok));
      });
}

nlohmann::json Service::metadata(bool openid) const {
  nlohmann::json algs = {"ES256", "EdDSA", "Ed25519", "RS256"};  // accepted (crypto/jwk.h)
  nlohmann::json auth_methods = {"client_secret_basic", "client_secret_post", "private_key_jwt"};
  nlohmann::json m = {
      {"issuer", settings_.issuer},
      {"token_endpoint", settings_.token_endpoint()},
      {"authorization_endpoint", settings_.authorization_endpoint()},
      {"jwks_uri", settings_.jwks_uri()},
      {"introspection_endpoint", settings_.introspection_endpoint()},
      {"revocation_endpoint", settings_.revocation_endpoint()},
      {"grant_types_supported",
       {kGrantClientCredentials, kGrantTokenExchange, kGrantCiba, kGrantAuthorizationCode}},
      {"backchannel_authentication_endpoint", settings_.backchannel_endpoint()},
      {"backchannel_token_delivery_modes_supported", {"poll", "ping"}},
      {"backchannel_user_code_parameter_supported", false},
      // "none": public clients, for the authorization code grant only (authorization_code.h).
      {"token_endpoint_auth_methods_supported",
       {"client_secret_basic", "client_secret_post", "private_key_jwt", "none"}},
      {"token_endpoint_auth_signing_alg_values_supported", algs},
      {"introspection_endpoint_auth_methods_supported", auth_methods},
      {"introspection_endpoint_auth_signing_alg_values_supported", algs},
      {"revocation_endpoint_auth_methods_supported", auth_methods},
      {"revocation_endpoint_auth_signing_alg_values_supported", algs},
      {"dpop_signing_alg_values_supported", algs},
      {"response_types_supported", {"code"}},
      {"response_modes_supported", {"query"}},
      {"code_challenge_methods_supported", {"S256"}},
      {"token_types_supported", {kTokenTypeAccessToken, kTokenTypeJwt}},
      {"authorization_response_iss_parameter_supported", true},
      {"custody_max_delegation_depth", settings_.max_depth}};
  if (openid) {
    m["subject_types_supported"] = {"public"};
    m["id_token_signing_alg_values_supported"] = {"ES256", "EdDSA", "RS256"};  // what it signs
  }
  return m;
}

}  // namespace custody::oauth
