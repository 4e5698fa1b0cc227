// Internal to src/crypto: the state behind a Jwk handle, shared by its copies.
#pragma once

#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "crypto/ecdsa_presign.h"
#include "crypto/jwk.h"
#include "crypto/openssl_util.h"

namespace custody::crypto {

// EVP_PKEY_CTX objects already initialised for one operation on one key, kept for reuse: setting
// a context up (fetching the algorithm from the provider, allocating, initialising) costs about
// a sixth of an ES256 signature, so a key that signs or verifies many tokens pays it once per
// concurrent user instead of once per token. A context is used by one thread at a time (lent
// out by acquire, returned by release); the pool itself is locked.
class PkeyCtxPool {
 public:
  // Bounds what an idle pool keeps; more concurrent users than this simply make new contexts.
  static constexpr std::size_t kMaxIdle = 16;

  ossl::PkeyCtx acquire() {
    std::lock_guard lock(mu_);
    if (idle_.empty()) return nullptr;
    ossl::PkeyCtx ctx = std::move(idle_.back());
    idle_.pop_back();
    return ctx;
  }
  void release(ossl::PkeyCtx ctx) {
    std::lock_guard lock(mu_);
    if (idle_.size() < kMaxIdle) idle_.push_back(std::move(ctx));
  }

 private:
  std::mutex mu_;
  std::vector<ossl::PkeyCtx> idle_;
};

struct Jwk::Data {
  ossl::Pkey pkey;
  KeyType type = KeyType::kEcP256;
  bool is_private = false;
  nlohmann::json required;  // the RFC 7638 members, canonical; what public_json() starts from
  std::string thumbprint;
  std::string kid;
  std::string alg_member;
  bool use_sig = false;
  // Not part of the key's value: caches of ready contexts (ECDSA and RSA; Ed25519 signs the
  // message itself through EVP_DigestSign and has no reusable pre-hash context).
  mutable PkeyCtxPool sign_contexts;
  mutable PkeyCtxPool verify_contexts;
  // A private P-256 key's signer on precomputed nonces (crypto/ecdsa_presign.h), made on the
  // first signature while precomputation is on; null when OpenSSL cannot provide it.
  mutable std::once_flag presign_once;
  mutable std::shared_ptr<const presign::Signer> presigner;
};

}  // namespace custody::crypto
