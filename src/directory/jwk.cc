#include "directory/jwk.h"

#include "crypto/jwk.h"

namespace custody::directory::jwk {

Result<PublicJwk> parse_public(const nlohmann::json& jwk) {
  CUSTODY_ASSIGN(crypto::Jwk key, crypto::Jwk::parse_public(jwk, "public_jwk"));
  return PublicJwk{key.public_json(), key.thumbprint()};
}

}  // namespace custody::directory::jwk
