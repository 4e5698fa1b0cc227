// Internal to src/crypto: owning handles for OpenSSL 3 objects and error-queue hygiene. Nothing
// outside src/crypto includes this; the public headers expose custody types only.
#pragma once

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/params.h>

#include <memory>
#include <string>

namespace custody::crypto::ossl {

template <auto Free>
struct Deleter {
  template <class T>
  void operator()(T* p) const {
    Free(p);
  }
};

using Pkey = std::unique_ptr<EVP_PKEY, Deleter<EVP_PKEY_free>>;
using PkeyCtx = std::unique_ptr<EVP_PKEY_CTX, Deleter<EVP_PKEY_CTX_free>>;
using MdCtx = std::unique_ptr<EVP_MD_CTX, Deleter<EVP_MD_CTX_free>>;
using CipherCtx = std::unique_ptr<EVP_CIPHER_CTX, Deleter<EVP_CIPHER_CTX_free>>;
using Bn = std::unique_ptr<BIGNUM, Deleter<BN_free>>;
// For private scalars: the memory is wiped before it is freed.
using SecretBn = std::unique_ptr<BIGNUM, Deleter<BN_clear_free>>;
using ParamBld = std::unique_ptr<OSSL_PARAM_BLD, Deleter<OSSL_PARAM_BLD_free>>;
using Params = std::unique_ptr<OSSL_PARAM, Deleter<OSSL_PARAM_free>>;
using EcdsaSig = std::unique_ptr<ECDSA_SIG, Deleter<ECDSA_SIG_free>>;

// Empties this thread's OpenSSL error queue and returns the first reason in it ("" when empty).
// Every failure path calls it: a stale entry left behind would be read by the next OpenSSL user
// on the thread (SSL_get_error in the TLS server reports SSL_ERROR_SSL for it).
std::string drain_errors();

// Wipes a string that held secret bytes (OPENSSL_cleanse cannot be optimised away), then empties
// it.
void wipe(std::string& secret);

// An ECDSA P-256 signature as JWS carries it: R||S, 32 bytes each (RFC 7518 §3.4); empty when a
// half does not fit.
std::string ecdsa_p256_raw(const ECDSA_SIG* sig);

}  // namespace custody::crypto::ossl
