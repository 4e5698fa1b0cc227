// Public JWK checks for registered credentials (internal to src/directory; credentials.h has the
// public entry point jwk_thumbprint). A thin adapter over crypto::Jwk, the one place custody
// parses JWKs: only signing keys custody can verify are accepted (EC P-256, OKP Ed25519, RSA of
// 2048 to 16384 bits), and private or symmetric key material is refused, so a caller who pastes a
// private key by mistake learns it at once and custody never stores it.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "common/result.h"

namespace custody::directory::jwk {

struct PublicJwk {
  nlohmann::json key;      // the required members (canonical), plus kid/alg/use when given
  std::string thumbprint;  // RFC 7638: base64url(SHA-256(required members, sorted, compact))
};

// kInvalidArgument with field "public_jwk" on anything but a valid public key (see
// crypto::Jwk::parse_public for the rules).
Result<PublicJwk> parse_public(const nlohmann::json& jwk);

}  // namespace custody::directory::jwk
