// Credentials: client secrets (generated here, shown once, kept as a keyed hash) and registered
// public JWKs. Only non-human identities hold credentials. Same conventions as identities.h.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"
#include "crypto/keyed_hash.h"
#include "directory/model.h"
#include "directory/principal.h"
#include "store/store.h"

namespace custody::directory {

struct NewCredential {
  CredentialType type = CredentialType::kClientSecret;
  std::optional<nlohmann::json> public_jwk;  // required for kJwk: EC P-256, OKP Ed25519 or
                                             // RSA ≥ 2048; private members ("d", "p", ...) refused
  std::string description;                      // ≤ 2000
  std::optional<std::int64_t> max_age_seconds;  // ≤ the configured maximum (the default)
};

struct CreatedCredential {
  Credential credential;
  std::optional<std::string> secret;  // client secrets only: the one time it is visible
};

struct CredentialPolicy {
  std::int64_t max_age_seconds = 90LL * 24 * 3600;
};

// Refused for humans (kUnprocessable) and retired identities (kConflict).
Result<CreatedCredential> create_credential(store::Tx& tx, const OpContext& ctx,
                                            std::string_view identity_id,
                                            const NewCredential& input,
                                            const crypto::SecretHasher& hasher,
                                            const CredentialPolicy& policy);
Result<std::vector<Credential>> list_credentials(store::Tx& tx, const OpContext& ctx,
                                                 std::string_view identity_id);
Result<Credential> revoke_credential(store::Tx& tx, const OpContext& ctx, std::string_view id);

// For client authentication (no principal check): the identity's active client-secret credential
// matching `secret` (constant-time), or kUnauthenticated.
Result<Credential> verify_client_secret(store::Tx& tx, std::string_view identity_id,
                                        std::string_view secret, const crypto::SecretHasher& hasher,
                                        Micros now);

// For private_key_jwt (no principal check): the identity's registered public JWKs in force.
Result<std::vector<Credential>> active_jwk_credentials(store::Tx& tx, std::string_view identity_id,
                                                       Micros now);

// RFC 7638 thumbprint of a public JWK (base64url SHA-256), or kInvalidArgument.
Result<std::string> jwk_thumbprint(const nlohmann::json& jwk);

}  // namespace custody::directory
