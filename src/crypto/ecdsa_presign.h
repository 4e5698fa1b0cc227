// Offline/online ES256 signing. Almost all of an ECDSA P-256 signature's cost is its nonce:
// a random k, the point k·G with r = its x mod n, and k⁻¹ mod n (≈ 18 µs of a ≈ 19 µs signature
// on one core); the step that involves the key and the message, s = k⁻¹·(z + r·d) mod n, takes
// under a microsecond. The nonce part depends on neither, so a background thread computes pairs
// (k⁻¹, r) ahead of time at the lowest scheduling priority (SCHED_IDLE: only on a core that would
// otherwise idle) and a signature takes one ready pair when there is one. Under full load the
// filler gets no CPU, the pool runs dry and signing falls back to OpenSSL's usual one-step sign:
// nothing is slower, and whatever idle time a loaded server has left becomes signatures.
//
// Both steps are OpenSSL's own constant-time code (ECDSA_sign_setup and ECDSA_do_sign_ex, the
// pre-3.0 EC_KEY interface, used in ecdsa_presign.cc only). What differs from the one-step sign:
//  - k comes from OpenSSL's private DRBG alone; the one-step sign also mixes the private key and
//    the digest into it (a hedge against a broken DRBG). Both are ECDSA as FIPS 186-5 specifies.
//  - A pair is secret (with it and the signature anyone can compute d). Pairs live in this
//    process's memory only, beside the keys themselves; each is taken out of the pool under its
//    lock, used for exactly one signature and wiped (BN_clear_free) right after, never copied,
//    never written anywhere. A pair serves any P-256 key: it depends only on the curve.
//
// Thread safety: start/stop from one thread (custodyd's main); everything else from any thread.
#pragma once

#include <openssl/types.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "common/result.h"

namespace custody::crypto::presign {

// Starts the process-wide filler thread keeping up to `capacity` pairs ready (refilling once half
// of them are used). 0 leaves precomputation off. Calling it again while running changes nothing.
void start(std::size_t capacity);
// Stops and joins the filler and wipes the pairs still ready; signing falls back to one step.
void stop();

struct Stats {
  std::uint64_t presigned = 0;  // signatures that used a precomputed pair
  std::uint64_t fallback = 0;   // P-256 signatures made in one step while on (pool empty)
  std::size_t ready = 0;        // pairs ready now
  std::size_t capacity = 0;     // 0 when off
};
Stats stats();
// True between start (with a capacity) and stop.
bool running();

// Signs with one private P-256 key, taking a ready pair per signature. Internal to src/crypto
// (Jwk::sign uses it); one per signing key, shared by its threads.
class Signer {
 public:
  // nullptr when OpenSSL cannot give the key's EC_KEY form (the caller signs in one step).
  static std::shared_ptr<const Signer> for_key(EVP_PKEY* pkey);
  ~Signer();
  Signer(const Signer&) = delete;
  Signer& operator=(const Signer&) = delete;

  // The R||S signature (RFC 7518 §3.4) of a SHA-256 digest with a ready pair; nullopt when the
  // pool is empty (counted as a fallback) or off. An OpenSSL failure is kInternal.
  std::optional<Result<std::string>> sign_digest(const unsigned char (&digest)[32]) const;

 private:
  struct Key;
  explicit Signer(std::unique_ptr<Key> key);
  std::unique_ptr<Key> key_;
};

}  // namespace custody::crypto::presign
