#include "oauth/grants.h"

#include <algorithm>
#include <charconv>
#include <set>

#include "common/ids.h"
#include "device/assertion.h"
#include "device/workloads.h"
#include "directory/entitlements.h"
#include "directory/identity_rows.h"

namespace custody::oauth {
namespace {

bool valid_scope_token(const std::string& s) {
  if (s.empty() || s.size() > 256) return false;
  for (unsigned char c : s)
    if (c < 0x21 || c == 0x22 || c == 0x5c || c > 0x7e) return false;  // RFC 6749 §3.3 NQCHAR
  return true;
}

OAuthResult<std::optional<std::vector<std::string>>> requested_scopes(const OAuthRequest& r) {
  auto scope = r.param("scope");
  if (!scope) return std::optional<std::vector<std::string>>();
  auto scopes = split_scopes(*scope);
  for (const auto& s : scopes)
    if (!valid_scope_token(s))
      return OAuthError::invalid_scope("scope \"" + s.substr(0, 64) + "\" is malformed");
  if (scopes.empty()) return std::optional<std::vector<std::string>>();
  return std::optional<std::vector<std::string>>(std::move(scopes));
}

// RFC 8707 "resource" (absolute URIs without fragment) and RFC 8693 "audience" (logical names).
OAuthResult<std::vector<std::string>> requested_audiences(const OAuthRequest& r) {
  std::vector<std::string> out;
  for (const auto& res : r.params_named("resource")) {
    if (res.find("://") == std::string::npos || res.find('#') != std::string::npos ||
        res.size() > 2048)
      return OAuthError::invalid_target("resource must be an absolute URI without a fragment");
    if (std::find(out.begin(), out.end(), res) == out.end()) out.push_back(res);
  }
  for (const auto& aud : r.params_named("audience")) {
    if (aud.size() > 2048) return OAuthError::invalid_target("audience is too long");
    if (std::find(out.begin(), out.end(), aud) == out.end()) out.push_back(aud);
  }
  if (out.size() > 16) return OAuthError::invalid_target("at most 16 audiences per token");
  return out;
}

OAuthResult<std::optional<int>> requested_max_hops(const OAuthRequest& r) {
  auto v = r.param("max_hops");
  if (!v) return std::optional<int>();
  int n = -1;
  auto [end, ec] = std::from_chars(v->data(), v->data() + v->size(), n);
  if (ec != std::errc() || end != v->data() + v->size() || n < 0 || n > 1000)
    return OAuthError::invalid_request("max_hops must be an integer in [0, 1000]", "max_hops");
  return std::optional<int>(n);
}

OAuthResult<nlohmann::json> requested_may_act(const OAuthRequest& r) {
  auto v = r.param("may_act");
  if (!v) return nlohmann::json();
  if (!looks_like_id(*v))
    return OAuthError::invalid_request("may_act must name one identity id", "may_act");
  return nlohmann::json{{"sub", *v}};
}

bool dpop_required(const GrantInput& in) {
  if (in.settings.dpop_required) return true;
  auto it = in.client.identity.labels.find("custody.dev/dpop");
  return it != in.client.identity.labels.end() && it->second == "required";
}

// The parts every grant shares: DPoP binding, one-time values, the may_act request, ids, times.
OAuthResult<Issuance> start_issuance(store::Tx& tx, const GrantInput& in, std::string grant_type) {
  Issuance out;
  // What authentication read, when it read it in this transaction.
  out.read_in = &tx;
  if (in.client.read_in == &tx) out.read = in.client.read;
  if (!in.dpop && dpop_required(in))
    return OAuthError::invalid_dpop_proof("client " + in.client.identity.id +
                                          " must present a DPoP proof");
  OAUTH_ASSIGN(out.may_act, requested_may_act(in.request));
  auto& r = out.record;
  r.id = new_id("dlg", in.now);
  r.root_id = r.id;
  r.client_id = in.client.identity.id;
  r.grant_type = std::move(grant_type);
  r.issued_at = in.now;
  r.expires_at = in.now + in.settings.access_token_ttl;
  r.subject_issuer = in.settings.issuer;
  if (in.client.device_id) {
    // A device-attested client: the token lives and dies with the device's trust. A DPoP key
    // the process certified with the assertion must be the one proving possession here.
    if (in.client.device_jkt && (!in.dpop || in.dpop->jkt != *in.client.device_jkt))
      return OAuthError::invalid_dpop_proof(
          "the device-attested assertion certifies a DPoP key: prove possession of it");
    r.device_id = in.client.device_id;
  }
  if (in.client.assertion_jti)
    out.one_time.push_back(
        {"client_assertion", *in.client.assertion_jti, in.client.assertion_expires_at});
  if (in.dpop) {
    r.cnf_jkt = in.dpop->jkt;
    out.token_type = "DPoP";
    out.one_time.push_back({"dpop", in.dpop->replay_value(),
                            in.dpop->iat + in.settings.dpop_max_age + 2 * in.settings.skew});
  }
  out.audit = {{"grant_type", r.grant_type}, {"client_auth", in.client.method}};
  if (r.device_id) out.audit["device_id"] = *r.device_id;
  return out;
}

// The pairwise entitlement rule of grants.h for `identity`.
OAuthResult<Coverage> cover(const std::vector<directory::Entitlement>& ents,
                            const std::optional<std::vector<std::string>>& scopes,
                            const std::vector<std::string>& audiences,
                            const std::string& identity) {
  Coverage c;
  c.audience = audiences;
  if (c.audience.empty()) {
    for (const auto& e : ents) {
      if (scopes && std::find(scopes->begin(), scopes->end(), e.scope) == scopes->end()) continue;
      if (std::find(c.audience.begin(), c.audience.end(), e.resource) == c.audience.end())
        c.audience.push_back(e.resource);
    }
    if (c.audience.empty())
      return OAuthError::invalid_scope(
          identity + " has no entitlement in force" +
              (scopes ? " for scope \"" + join_scopes(*scopes) + "\"" : std::string()),
          "entitlement");
  }
  if (scopes) {
    c.scopes = *scopes;
  } else {
    for (const auto& e : ents) {
      bool everywhere = std::all_of(c.audience.begin(), c.audience.end(), [&](const auto& a) {
        return std::any_of(ents.begin(), ents.end(),
                           [&](const auto& f) { return f.scope == e.scope && f.resource == a; });
      });
      if (everywhere && std::find(c.scopes.begin(), c.scopes.end(), e.scope) == c.scopes.end())
        c.scopes.push_back(e.scope);
    }
    if (c.scopes.empty())
      return OAuthError::invalid_target(
          identity + " holds no scope at every one of its audiences; request one audience",
          "entitlement");
  }
  for (const auto& a : c.audience) {
    for (const auto& s : c.scopes) {
      const directory::Entitlement* best = nullptr;
      for (const auto& e : ents)
        if (e.scope == s && e.resource == a &&
            (!best || e.expires_at.value_or(INT64_MAX) > best->expires_at.value_or(INT64_MAX)))
          best = &e;
      if (!best)
        return OAuthError::invalid_scope(
            identity + " is not entitled to scope \"" + s + "\" at audience \"" + a + "\"",
            "entitlement");
      c.not_after = std::min(c.not_after, best->expires_at.value_or(INT64_MAX));
    }
  }
  std::sort(c.scopes.begin(), c.scopes.end());
  return c;
}

OAuthResult<std::vector<directory::Entitlement>> entitlements_of(store::Tx& tx,
                                                                 const std::string& id,
                                                                 Micros now) {
  auto ents = directory::active_entitlements(tx, id, now);
  if (!ents.ok()) return OAuthError::server_error("cannot read entitlements");
  return std::move(ents).value();
}

bool is_identity_id(const std::string& id) {
  return directory::kind_of_id(id).has_value();
}

}  // namespace

OAuthResult<Coverage> entitlement_coverage(store::Tx& tx, const std::string& identity,
                                           const std::optional<std::vector<std::string>>& scopes,
                                           const std::vector<std::string>& audiences, Micros now) {
  OAUTH_ASSIGN(auto ents, entitlements_of(tx, identity, now));
  return cover(ents, scopes, audiences, identity);
}

OAuthResult<std::optional<std::vector<std::string>>> scopes_requested(const OAuthRequest& r) {
  return requested_scopes(r);
}

OAuthResult<std::vector<std::string>> audiences_requested(const OAuthRequest& r) {
  return requested_audiences(r);
}

OAuthResult<Issuance> begin_issuance(store::Tx& tx, const GrantInput& in, std::string grant_type) {
  return start_issuance(tx, in, std::move(grant_type));
}

OAuthResult<Issuance> grant_client_credentials(store::Tx& tx, const GrantInput& in) {
  OAUTH_ASSIGN(auto out, start_issuance(tx, in, std::string(kGrantClientCredentials)));
  OAUTH_ASSIGN(auto scopes, requested_scopes(in.request));
  OAUTH_ASSIGN(auto audiences, requested_audiences(in.request));
  OAUTH_ASSIGN(auto ents, entitlements_of(tx, in.client.identity.id, in.now));
  OAUTH_ASSIGN(auto coverage, cover(ents, scopes, audiences, in.client.identity.id));
  out.entitlements_read.push_back({in.client.identity.id, std::move(ents)});
  auto& r = out.record;
  r.subject = in.client.identity.id;
  r.scopes = coverage.scopes;
  r.audience = coverage.audience;
  r.depth = 0;
  r.expires_at = std::min(r.expires_at, coverage.not_after);
  OAUTH_ASSIGN(r.max_hops, requested_max_hops(in.request));
  return out;
}

// The in-process client (the MCP gateway) acting for itself serves one of the subject token's
// audiences (its route URL).
static bool serves_audience(const GrantInput& in, const std::string& actor,
                            const std::vector<std::string>& audience) {
  if (in.actor_resources == nullptr || actor != in.client.identity.id) return false;
  for (const auto& a : audience)
    if (std::find(in.actor_resources->begin(), in.actor_resources->end(), a) !=
        in.actor_resources->end())
      return true;
  return false;
}

OAuthResult<Issuance> grant_token_exchange(store::Tx& tx, const GrantInput& in,
                                           const TokenVerifier& verify) {
  const auto& req = in.request;
  const auto& settings = in.settings;
  auto subject_token = req.param("subject_token");
  auto subject_type = req.param("subject_token_type");
  if (!subject_token || !subject_type)
    return OAuthError::invalid_request("subject_token and subject_token_type are required");
  if (*subject_type != kTokenTypeAccessToken && *subject_type != kTokenTypeJwt)
    return OAuthError::invalid_request("subject_token_type must be " +
                                       std::string(kTokenTypeAccessToken) + " or " +
                                       std::string(kTokenTypeJwt));
  std::string issued_type(kTokenTypeAccessToken);
  if (auto requested = req.param("requested_token_type")) {
    if (*requested != kTokenTypeAccessToken && *requested != kTokenTypeJwt)
      return OAuthError::invalid_request("requested_token_type " + requested->substr(0, 80) +
                                         " is not supported (access_token or jwt)");
    issued_type = *requested;
  }
  auto actor_token = req.param("actor_token");
  auto actor_type = req.param("actor_token_type");
  if (actor_token.has_value() != actor_type.has_value())
    return OAuthError::invalid_request("actor_token and actor_token_type go together");
  if (actor_type && *actor_type != kTokenTypeAccessToken && *actor_type != kTokenTypeJwt)
    return OAuthError::invalid_request("actor_token_type is not supported");

  OAUTH_ASSIGN(auto out, start_issuance(tx, in, std::string(kGrantTokenExchange)));
  out.issued_token_type = issued_type;
  OAUTH_ASSIGN(auto scopes, requested_scopes(req));
  OAUTH_ASSIGN(auto audiences, requested_audiences(req));

  // The subject token, and for custody's own tokens, its record.
  OAUTH_ASSIGN(PresentedToken subject, verify(*subject_token, "subject_token"));
  bool own = subject.issuer == settings.issuer;
  std::optional<delegation::ChainLink> parent;
  if (own) {
    auto found = delegation::find_link(tx, subject.jti);
    if (!found.ok()) return OAuthError::server_error("cannot read delegation records");
    if (!*found)
      return OAuthError::invalid_request("subject_token has no delegation record", "subject");
    parent = std::move(**found);
    if (parent->revoked)
      return OAuthError::invalid_request(
          "subject_token was revoked (delegation " + parent->id + ")", "revoked");
  }
  if (is_identity_id(subject.subject) && own) {
    auto active = check_active_identity(tx, subject.subject, "subject", out.read);
    if (!active.ok()) {
      OAuthError e = active.error();
      e.error = "invalid_request";
      return e;
    }
  }

  // The actor: the actor token's subject, or the client itself.
  std::string actor = in.client.identity.id;
  Micros actor_exp = INT64_MAX;
  if (actor_token) {
    OAUTH_ASSIGN(PresentedToken a, verify(*actor_token, "actor_token"));
    if (a.device_id) {
      // A device-attested assertion: the device must still be trusted and still allow the
      // actor; the assertion is spent with the issuance, and the new token is bound to the
      // device (revoked when it stops being trusted).
      auto device = device::find_device(tx, *a.device_id);
      if (!device.ok()) return OAuthError::server_error("cannot read the device");
      if (!*device)
        return OAuthError::invalid_request(
            "actor_token refused: device " + *a.device_id + " is not enrolled", "actor");
      if (auto why = device::unusable_reason(**device, settings.device_posture_max_age, in.now);
          !why.empty())
        return OAuthError::invalid_request("actor_token refused: " + why, "actor");
      auto binding = device::find_binding(tx, *a.device_id, a.subject);
      if (!binding.ok()) return OAuthError::server_error("cannot read device bindings");
      if (!*binding)
        return OAuthError::invalid_request(
            "actor_token refused: " + a.subject + " is no longer allowed on device " + *a.device_id,
            "actor");
      out.one_time.push_back(
          {"client_assertion", a.subject + ":" + a.jti, a.expires_at + settings.skew});
      out.record.device_id = a.device_id;
      out.audit["actor_device_id"] = *a.device_id;
    } else if (a.issuer == settings.issuer) {
      auto live = delegation::is_live(tx, a.jti);
      if (!live.ok()) return OAuthError::server_error("cannot read delegation records");
      if (!*live) return OAuthError::invalid_request("actor_token was revoked", "revoked");
      out.must_be_live.push_back(a.jti);
      out.record.actor_delegation_id = a.jti;
    }
    // An actor token is the actor's consent to be acted for by this client: it must be meant for
    // the client (or for custody itself), so that a token of B that some API received cannot let
    // that API act as B.
    if (std::find(a.audience.begin(), a.audience.end(), in.client.identity.id) ==
            a.audience.end() &&
        std::find(a.audience.begin(), a.audience.end(), settings.issuer) == a.audience.end())
      return OAuthError::invalid_request("actor_token is not meant for client " +
                                             in.client.identity.id +
                                             " (its aud must name the client or this issuer)",
                                         "actor");
    actor = a.subject;
    actor_exp = a.expires_at;
  }
  // The client itself was checked when it authenticated; an actor named by an actor token is
  // checked here.
  if (actor != in.client.identity.id && is_identity_id(actor)) {
    auto active = check_active_identity(tx, actor, "actor", out.read);
    if (!active.ok()) {
      OAuthError e = active.error();
      e.error = "invalid_request";
      return e;
    }
  }

  // Who may exchange this subject token.
  if (!subject.may_act.is_null()) {
    const auto& m = subject.may_act;
    bool match = m["sub"] == actor && (!m.contains("iss") || m["iss"] == settings.issuer || !own);
    if (!match)
      return OAuthError::invalid_request("actor " + actor +
                                             " is not the one the subject token's may_act names (" +
                                             m["sub"].get<std::string>() + ")",
                                         "may_act");
  } else if (std::find(subject.audience.begin(), subject.audience.end(), actor) ==
                 subject.audience.end() &&
             !serves_audience(in, actor, subject.audience)) {
    return OAuthError::invalid_request("actor " + actor +
                                           " is not an audience of the subject token and not "
                                           "named by its may_act",
                                       "audience");
  }

  // Scopes only narrow.
  std::vector<std::string> new_scopes;
  if (scopes) {
    for (const auto& s : *scopes)
      if (std::find(subject.scopes.begin(), subject.scopes.end(), s) == subject.scopes.end())
        return OAuthError::invalid_scope("scope \"" + s +
                                         "\" is not in the subject token (scopes may only "
                                         "narrow)");
    new_scopes = *scopes;
  } else {
    new_scopes = subject.scopes;
  }
  if (new_scopes.empty()) return OAuthError::invalid_scope("the subject token carries no scope");
  std::sort(new_scopes.begin(), new_scopes.end());

  // Audiences: the subject token's, or new ones the actor itself is entitled to.
  std::vector<std::string> new_audience = audiences.empty() ? subject.audience : audiences;
  std::vector<std::string> fresh;
  for (const auto& a : new_audience)
    if (std::find(subject.audience.begin(), subject.audience.end(), a) == subject.audience.end())
      fresh.push_back(a);
  Micros entitlement_limit = INT64_MAX;
  if (!fresh.empty()) {
    OAUTH_ASSIGN(auto ents, entitlements_of(tx, actor, in.now));
    auto covered = cover(ents, new_scopes, fresh, actor);
    if (!covered.ok()) {
      OAuthError e = covered.error();
      e.error = "invalid_target";
      e.bound = "audience";
      e.description = "new audience refused: " + e.description;
      return e;
    }
    entitlement_limit = covered->not_after;
    out.entitlements_read.push_back({actor, std::move(ents)});
  }

  // Downstream hops: authority marked as not to be re-delegated stops here.
  std::optional<int> parent_hops = parent ? parent->max_hops : subject.max_hops;
  if (parent_hops && *parent_hops <= 0)
    return OAuthError::invalid_request(
        "the subject token's authority must not be delegated further (max_hops 0)", "max_hops");
  OAUTH_ASSIGN(auto asked_hops, requested_max_hops(req));
  std::optional<int> hops = parent_hops ? std::optional<int>(*parent_hops - 1) : std::nullopt;
  if (asked_hops) {
    if (hops && *asked_hops > *hops)
      return OAuthError::invalid_request("max_hops " + std::to_string(*asked_hops) +
                                             " exceeds the " + std::to_string(*hops) +
                                             " hops left under the subject token",
                                         "max_hops");
    hops = asked_hops;
  }

  // Depth.
  int depth = (parent ? parent->depth : subject.depth) + 1;
  if (depth > settings.max_depth)
    return OAuthError::invalid_request("delegation depth " + std::to_string(depth) +
                                           " exceeds the maximum " +
                                           std::to_string(settings.max_depth),
                                       "depth");

  auto& r = out.record;
  r.subject = subject.subject;
  r.subject_issuer = subject.issuer;
  r.actor = actor;
  r.scopes = new_scopes;
  r.audience = new_audience;
  r.depth = depth;
  r.max_hops = hops;
  r.expires_at = std::min({r.expires_at, subject.expires_at, actor_exp, entitlement_limit});
  if (r.expires_at <= in.now)
    return OAuthError::invalid_request("no lifetime left under the subject token", "lifetime");
  if (parent) {
    r.parent_id = parent->id;
    r.root_id = parent->root_id;
    out.must_be_live.push_back(parent->id);
  } else {
    r.origin = {{"issuer", subject.issuer}, {"subject", subject.subject}};
    if (!subject.jti.empty()) r.origin["jti"] = subject.jti;
  }
  out.act = {{"sub", actor}};
  if (!subject.act.is_null()) out.act["act"] = subject.act;
  out.delegator = subject.act.is_object() && subject.act.contains("sub")
                      ? subject.act["sub"].get<std::string>()
                      : subject.subject;
  out.parent_scopes = subject.scopes;
  out.parent_audience = subject.audience;
  out.audit["parent"] = parent ? nlohmann::json(parent->id) : nlohmann::json(nullptr);
  return out;
}

}  // namespace custody::oauth
