// Jwk::sign and Jwk::verify: the JWS signature algorithms on OpenSSL 3 EVP.
// Only the OpenSSL 3 API: deprecated low-level calls (EC_KEY, RSA, ...) must not compile here.
#define OPENSSL_NO_DEPRECATED
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>

#include "crypto/jwk.h"
#include "crypto/jwk_data.h"
#include "crypto/openssl_util.h"

namespace custody::crypto {
namespace {

constexpr std::size_t kSha256Bytes = 32;
constexpr int kEs256Half = 32;  // bytes of R and of S in an ES256 signature
constexpr std::size_t kEs256Bytes = 2 * kEs256Half;
constexpr std::size_t kEd25519SignatureBytes = 64;

Error refuse(std::string message) {
  return Error::unauthenticated(std::move(message));
}

const unsigned char* bytes_of(std::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}
unsigned char* bytes_of(std::string& s) {
  return reinterpret_cast<unsigned char*>(s.data());
}

// SHA-256, fetched from the provider once: an implicit fetch per call (EVP_sha256() in a
// digest call) would look it up again every time.
const EVP_MD* sha256_md() {
  static EVP_MD* md = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  return md;
}

bool sha256(std::string_view input, unsigned char (&out)[kSha256Bytes]) {
  unsigned int len = 0;
  return sha256_md() != nullptr &&
         EVP_Digest(input.data(), input.size(), out, &len, sha256_md(), nullptr) == 1 &&
         len == kSha256Bytes;
}

// ES256 signatures travel as R||S (RFC 7518 §3.4); OpenSSL speaks DER (RFC 3279 Ecdsa-Sig-Value).
Result<std::string> der_to_raw(std::string_view der) {
  const unsigned char* p = bytes_of(der);
  ossl::EcdsaSig sig(d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(der.size())));
  if (!sig) {
    return Error::internal("OpenSSL returned an unreadable ECDSA signature: " +
                           ossl::drain_errors());
  }
  std::string raw = ossl::ecdsa_p256_raw(sig.get());
  if (raw.empty()) return Error::internal("OpenSSL returned an ECDSA signature too long for P-256");
  return raw;
}

// Empty when OpenSSL fails; the length was checked by the caller.
std::string raw_to_der(std::string_view raw) {
  ossl::Bn r(BN_bin2bn(bytes_of(raw), kEs256Half, nullptr));
  ossl::Bn s(BN_bin2bn(bytes_of(raw) + kEs256Half, kEs256Half, nullptr));
  ossl::EcdsaSig sig(ECDSA_SIG_new());
  if (!r || !s || !sig || ECDSA_SIG_set0(sig.get(), r.get(), s.get()) != 1) return {};
  // ECDSA_SIG_set0 took ownership of r and s.
  (void)r.release();
  (void)s.release();
  const int len = i2d_ECDSA_SIG(sig.get(), nullptr);
  if (len <= 0) return {};
  std::string der(static_cast<std::size_t>(len), '\0');
  unsigned char* p = bytes_of(der);
  if (i2d_ECDSA_SIG(sig.get(), &p) != len) return {};
  return der;
}

// A context from the pool, or a new one initialised for `verify` (else sign) with SHA-256 as the
// digest that the input was hashed with (and, for RSA, PKCS #1 v1.5 padding: RS256).
ossl::PkeyCtx prehash_context(const Jwk::Data& key, bool verify) {
  PkeyCtxPool& pool = verify ? key.verify_contexts : key.sign_contexts;
  if (ossl::PkeyCtx ctx = pool.acquire()) return ctx;
  ossl::PkeyCtx ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, key.pkey.get(), nullptr));
  if (!ctx || (verify ? EVP_PKEY_verify_init(ctx.get()) : EVP_PKEY_sign_init(ctx.get())) != 1 ||
      sha256_md() == nullptr || EVP_PKEY_CTX_set_signature_md(ctx.get(), sha256_md()) != 1 ||
      (key.type == KeyType::kRsa &&
       EVP_PKEY_CTX_set_rsa_padding(ctx.get(), RSA_PKCS1_PADDING) != 1)) {
    ossl::drain_errors();
    return nullptr;
  }
  return ctx;
}

// A digest-sign/verify context used for exactly one message (Ed25519). FINALISE tells OpenSSL
// so, which spares it a copy of the context at the final step.
ossl::MdCtx one_shot_context() {
  ossl::MdCtx ctx(EVP_MD_CTX_new());
  if (ctx) EVP_MD_CTX_set_flags(ctx.get(), EVP_MD_CTX_FLAG_FINALISE);
  return ctx;
}

Result<std::string> ed25519_sign(const Jwk::Data& key, std::string_view input) {
  ossl::MdCtx ctx = one_shot_context();
  std::string sig(kEd25519SignatureBytes, '\0');
  std::size_t len = sig.size();
  if (!ctx ||
      EVP_DigestSignInit_ex(ctx.get(), nullptr, nullptr, nullptr, nullptr, key.pkey.get(),
                            nullptr) != 1 ||
      EVP_DigestSign(ctx.get(), bytes_of(sig), &len, bytes_of(input), input.size()) != 1 ||
      len != kEd25519SignatureBytes) {
    return Error::internal("OpenSSL could not sign: " + ossl::drain_errors());
  }
  return sig;
}

Status ed25519_verify(const Jwk::Data& key, std::string_view input, std::string_view sig) {
  ossl::MdCtx ctx = one_shot_context();
  if (!ctx || EVP_DigestVerifyInit_ex(ctx.get(), nullptr, nullptr, nullptr, nullptr, key.pkey.get(),
                                      nullptr) != 1) {
    return Error::internal("OpenSSL could not start verifying: " + ossl::drain_errors());
  }
  if (EVP_DigestVerify(ctx.get(), bytes_of(sig), sig.size(), bytes_of(input), input.size()) != 1) {
    ossl::drain_errors();
    return refuse("signature verification failed");
  }
  return ok_status();
}

}  // namespace

Result<std::string> Jwk::sign(std::string_view input) const {
  if (!d_->is_private) return Error::invalid("signing needs a private key", "key");
  if (d_->type == KeyType::kEd25519) return ed25519_sign(*d_, input);

  unsigned char digest[kSha256Bytes];
  if (!sha256(input, digest)) return Error::internal("SHA-256 failed: " + ossl::drain_errors());
  if (d_->type == KeyType::kEcP256 && presign::running()) {
    std::call_once(d_->presign_once,
                   [this] { d_->presigner = presign::Signer::for_key(d_->pkey.get()); });
    if (d_->presigner) {
      if (auto presigned = d_->presigner->sign_digest(digest)) return std::move(*presigned);
    }
  }
  ossl::PkeyCtx ctx = prehash_context(*d_, /*verify=*/false);
  if (!ctx) return Error::internal("OpenSSL could not start signing");
  std::string sig(static_cast<std::size_t>(EVP_PKEY_get_size(d_->pkey.get())), '\0');
  std::size_t len = sig.size();
  if (EVP_PKEY_sign(ctx.get(), bytes_of(sig), &len, digest, sizeof digest) != 1) {
    // The context is not returned to the pool: its state after a failure is unknown.
    return Error::internal("OpenSSL could not sign: " + ossl::drain_errors());
  }
  d_->sign_contexts.release(std::move(ctx));
  sig.resize(len);
  if (d_->type == KeyType::kEcP256) return der_to_raw(sig);
  return sig;
}

Status Jwk::verify(std::string_view input, std::string_view signature) const {
  std::string der;
  switch (d_->type) {
    case KeyType::kEd25519:
      if (signature.size() != kEd25519SignatureBytes)
        return refuse("EdDSA signature must be 64 bytes");
      return ed25519_verify(*d_, input, signature);
    case KeyType::kEcP256:
      if (signature.size() != kEs256Bytes) return refuse("ES256 signature must be 64 bytes (R||S)");
      der = raw_to_der(signature);
      if (der.empty()) {
        return Error::internal("OpenSSL could not encode an ECDSA signature: " +
                               ossl::drain_errors());
      }
      signature = der;
      break;
    case KeyType::kRsa: {
      const auto n = static_cast<std::size_t>(EVP_PKEY_get_size(d_->pkey.get()));
      if (signature.size() != n)
        return refuse("RS256 signature must be " + std::to_string(n) + " bytes");
      break;
    }
  }
  unsigned char digest[kSha256Bytes];
  if (!sha256(input, digest)) return Error::internal("SHA-256 failed: " + ossl::drain_errors());
  ossl::PkeyCtx ctx = prehash_context(*d_, /*verify=*/true);
  if (!ctx) return Error::internal("OpenSSL could not start verifying");
  const int rc =
      EVP_PKEY_verify(ctx.get(), bytes_of(signature), signature.size(), digest, sizeof digest);
  if (rc < 0) {
    ossl::drain_errors();
    return refuse("signature verification failed");
  }
  // 0 is a well-formed "no"; the context stays usable.
  d_->verify_contexts.release(std::move(ctx));
  if (rc != 1) {
    ossl::drain_errors();
    return refuse("signature verification failed");
  }
  return ok_status();
}

}  // namespace custody::crypto
