// Who calls a gateway route (docs/mcp-gateway.md): the MCP authorization spec's resource-server
// checks of the access token on every request. The token must be custody's own (signature, iss,
// typ at+jwt, exp/nbf), for this route (aud contains the route URL exactly), carry the route's
// scope, and its delegation record must not be revoked. A DPoP-bound token (cnf.jkt) must come
// with the `DPoP` scheme and a proof for this request (htm, htu = the route URL, ath, fresh iat,
// jti not seen before on this node); a DPoP proof with a Bearer-scheme token is refused too.
#pragma once

#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "gateway/route.h"
#include "oauth/access_token.h"
#include "oauth/service.h"
#include "store/store.h"

namespace custody::gateway {

struct Caller {
  std::string token;  // as presented
  oauth::PresentedToken presented;
  std::string principal;           // the acting identity: the outermost act.sub, else sub
  std::vector<std::string> chain;  // initiator (sub) first, then each actor, the principal last
  std::optional<std::string> device_id;  // the device the token is bound to
  std::string session_owner;             // sub + " " + client_id: binds MCP sessions
};

// A refusal in RFC 6750 §3 terms: status 401 with error "" (no credentials) or "invalid_token",
// 400 "invalid_request", or 403 "insufficient_scope".
struct AuthRefusal {
  int status = 401;
  std::string error;
  std::string description;
};

struct CallerRequest {
  std::string_view authorization;  // the Authorization header
  std::vector<std::string> dpop;   // every DPoP header
  std::string method;              // for the DPoP proof's htm
  std::string remote_address;
};

// Remembers DPoP proof jtis seen at the gateway until they are too old to be accepted anyway.
// At most `max_entries` are kept: when that many proofs are still fresh, new ones are refused
// (kFull) rather than forgetting one that could then be replayed.
class ProofReplayCache {
 public:
  ProofReplayCache(Micros keep, std::size_t max_entries) : keep_(keep), max_entries_(max_entries) {}
  enum class Use { kFirst, kReplay, kFull };
  Use use(const std::string& value, Micros now);

 private:
  Micros keep_;
  std::size_t max_entries_;
  std::mutex mu_;
  std::map<std::string, Micros> seen_;
  Micros last_sweep_ = 0;
};

std::variant<Caller, AuthRefusal> authenticate_caller(store::Tx& tx, const oauth::Service& oauth,
                                                      const Route& route,
                                                      const CallerRequest& request,
                                                      ProofReplayCache& replay, Micros now);

// WWW-Authenticate for a refusal: Bearer (and DPoP) challenges with resource_metadata, the
// route's scope, and error/error_description when there is an error.
std::string challenge(const AuthRefusal& refusal, const Route& route, std::string_view issuer);

}  // namespace custody::gateway
