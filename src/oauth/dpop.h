// DPoP (RFC 9449): proof-of-possession proofs at the token endpoint, and server nonces.
//
// check_dpop_proof() validates the DPoP header of a request (§4.3): exactly one header; a JWS
// with typ "dpop+jwt", an asymmetric algorithm custody supports, and a public "jwk" header (a
// private key there is refused) that verifies the signature; claims jti (1..256 chars), htm equal
// to the request method, htu equal to the request URL without query and fragment (scheme and
// host compared case-insensitively), iat within [now - max_age - skew, now + skew]; and, when
// nonces are on, a nonce this server issued recently (else "use_dpop_nonce"). The jti is not
// checked for replay here: the caller records jkt:jti in the replay cache inside the issuing
// write (replay.h), so a replayed proof loses at commit even under concurrency.
//
// Nonces are stateless: base64url(window || HMAC-SHA-256(secret, "dpop-nonce" || window)[0..16])
// with 5-minute windows; the current and the previous window are accepted, so every node that
// shares the server secret accepts every other node's nonces.
#pragma once

#include <optional>
#include <string>

#include "common/clock.h"
#include "crypto/jwk.h"
#include "oauth/outcome.h"
#include "oauth/request.h"
#include "oauth/settings.h"

namespace custody::oauth {

struct DpopProof {
  std::string jkt;  // RFC 7638 thumbprint of the proof key: the token's cnf.jkt
  std::string jti;
  Micros iat = 0;
  std::string replay_value() const { return jkt + ":" + jti; }
};

class DpopNonces {
 public:
  explicit DpopNonces(std::string secret) : secret_(std::move(secret)) {}
  std::string current(Micros now) const;
  bool valid(std::string_view nonce, Micros now) const;

 private:
  std::string for_window(std::int64_t window) const;
  std::string secret_;
};

// nullopt when the request carries no DPoP header.
OAuthResult<std::optional<DpopProof>> check_dpop_proof(const OAuthRequest& request,
                                                       const Settings& settings,
                                                       const DpopNonces& nonces, Micros now);

// DPoP at a resource server (RFC 9449 §7.1), e.g. the MCP gateway: the same checks without server
// nonces, plus ath = base64url(SHA-256(access token)). A missing proof is refused. Replay of the
// proof's jti is the caller's to check.
OAuthResult<DpopProof> check_resource_dpop_proof(const OAuthRequest& request,
                                                 std::string_view access_token,
                                                 const Settings& settings, Micros now);

// The URL without query and fragment, scheme and host lower-cased, default port dropped; for htu.
std::string normalize_htu(std::string_view url);

}  // namespace custody::oauth
