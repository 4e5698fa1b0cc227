#include "gateway/caller.h"

#include <algorithm>

#include "delegation/record.h"
#include "oauth/dpop.h"

namespace custody::gateway {
namespace {

AuthRefusal refusal(int status, std::string error, std::string description) {
  return AuthRefusal{status, std::move(error), std::move(description)};
}

// The scheme and the token of an Authorization header ("Bearer x", "DPoP x"; case-insensitive
// scheme).
std::pair<std::string, std::string_view> split_authorization(std::string_view header) {
  std::size_t space = header.find(' ');
  if (space == std::string_view::npos) return {"", {}};
  std::string scheme(header.substr(0, space));
  std::transform(scheme.begin(), scheme.end(), scheme.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  std::string_view token = header.substr(space + 1);
  while (!token.empty() && token.front() == ' ') token.remove_prefix(1);
  return {scheme, token};
}

void collect_chain(const nlohmann::json& act, std::vector<std::string>& actors) {
  // act nests prior actors inside the current one: {sub: C, act: {sub: B}} is B then C.
  if (!act.is_object()) return;
  if (act.contains("act")) collect_chain(act["act"], actors);
  if (act.contains("sub") && act["sub"].is_string())
    actors.push_back(act["sub"].get<std::string>());
}

// RFC 6750 §3: quoted-string values; descriptions are ours, but strip what would break quoting.
std::string header_safe(std::string_view text) {
  std::string out;
  for (char c : text)
    if (c != '"' && c != '\\' && static_cast<unsigned char>(c) >= 0x20) out += c;
  return out;
}

}  // namespace

ProofReplayCache::Use ProofReplayCache::use(const std::string& value, Micros now) {
  std::lock_guard lock(mu_);
  auto sweep = [&] {
    for (auto it = seen_.begin(); it != seen_.end();)
      it = now - it->second > keep_ ? seen_.erase(it) : std::next(it);
    last_sweep_ = now;
  };
  if (now - last_sweep_ > keep_) sweep();
  auto it = seen_.find(value);
  if (it != seen_.end() && now - it->second <= keep_) return Use::kReplay;
  if (it != seen_.end()) {
    it->second = now;
    return Use::kFirst;
  }
  if (seen_.size() >= max_entries_) {
    sweep();
    if (seen_.size() >= max_entries_) return Use::kFull;
  }
  seen_.emplace(value, now);
  return Use::kFirst;
}

std::variant<Caller, AuthRefusal> authenticate_caller(store::Tx& tx, const oauth::Service& oauth,
                                                      const Route& route,
                                                      const CallerRequest& request,
                                                      ProofReplayCache& replay, Micros now) {
  if (request.authorization.empty())
    return refusal(401, "", "this MCP server needs an access token for " + route.public_url);
  auto [scheme, token] = split_authorization(request.authorization);
  if ((scheme != "bearer" && scheme != "dpop") || token.empty())
    return refusal(400, "invalid_request", "the Authorization header must be Bearer or DPoP");
  auto presented = oauth.verify_own(token, false);
  if (!presented.ok())
    return refusal(401, "invalid_token", "invalid access token: " + presented.error().message);
  const auto& aud = presented->audience;
  if (std::find(aud.begin(), aud.end(), route.public_url) == aud.end())
    return refusal(401, "invalid_token",
                   "the access token is not for " + route.public_url +
                       " (request it with resource=" + route.public_url + ")");
  if (std::find(presented->scopes.begin(), presented->scopes.end(), route.scope) ==
      presented->scopes.end())
    return refusal(403, "insufficient_scope",
                   "the access token lacks the " + route.scope + " scope");
  if (presented->cnf_jkt) {
    if (scheme != "dpop")
      return refusal(401, "invalid_token",
                     "the access token is DPoP-bound: send it with the DPoP scheme and a proof");
    oauth::OAuthRequest proof_request;
    proof_request.method = request.method;
    proof_request.url = route.public_url;
    proof_request.dpop = request.dpop;
    auto proof = oauth::check_resource_dpop_proof(proof_request, token, oauth.settings(), now);
    if (!proof.ok()) return refusal(401, "invalid_token", proof.error().description);
    if (proof->jkt != *presented->cnf_jkt)
      return refusal(401, "invalid_token", "the DPoP proof's key is not the token's (cnf.jkt)");
    switch (replay.use(proof->replay_value(), now)) {
      case ProofReplayCache::Use::kFirst:
        break;
      case ProofReplayCache::Use::kReplay:
        return refusal(401, "invalid_token", "DPoP proof refused: its jti was already used");
      case ProofReplayCache::Use::kFull:
        return refusal(503, "temporarily_unavailable",
                       "DPoP proof refused: the gateway's replay cache is full; retry shortly");
    }
  } else if (scheme == "dpop") {
    return refusal(401, "invalid_token", "the access token is not DPoP-bound: use Bearer");
  }
  auto live = delegation::is_live(tx, presented->jti);
  if (!live.ok()) return refusal(503, "temporarily_unavailable", "cannot read delegation records");
  if (!*live) return refusal(401, "invalid_token", "the access token has been revoked");

  Caller caller;
  caller.token = std::string(token);
  caller.chain.push_back(presented->subject);
  collect_chain(presented->act, caller.chain);
  caller.principal = caller.chain.back();
  if (auto d = presented->claims.find("device_id"); d != presented->claims.end() && d->is_string())
    caller.device_id = d->get<std::string>();
  caller.session_owner = presented->subject + " " + presented->client_id;
  caller.presented = std::move(presented).value();
  return caller;
}

std::string challenge(const AuthRefusal& refusal, const Route& route, std::string_view issuer) {
  std::string params = "resource_metadata=\"" + metadata_url(issuer, route.name) + "\", scope=\"" +
                       header_safe(route.scope) + "\"";
  if (!refusal.error.empty()) {
    params += ", error=\"" + header_safe(refusal.error) + "\"";
    params += ", error_description=\"" + header_safe(refusal.description) + "\"";
  }
  return "Bearer " + params + ", DPoP algs=\"ES256 EdDSA RS256\", " + params;
}

}  // namespace custody::gateway
