// JOSE micro-benchmarks: sign and verify of a typical access token (≈ 400-byte claims set)
// through custody's API (jws_sign/jwt_sign, jws_verify/jwt_verify), next to the raw OpenSSL EVP
// calls on the same bytes, for ES256, EdDSA and RS256. Keys are created once, so each iteration
// costs the crypto plus whatever custody adds (JSON, base64url, R||S <-> DER, claim checks).
//
// The target is within 1.3x of `openssl speed` for the same algorithm. The closest raw
// equivalent of `openssl speed ecdsap256` is Raw_PkeySign/Verify (a pre-initialised
// EVP_PKEY_CTX over a 32-byte digest); Raw_DigestSign/Verify is what any caller of EVP pays for a
// message (context set-up and SHA-256 included).
#define OPENSSL_NO_DEPRECATED
#include <benchmark/benchmark.h>
#include <openssl/evp.h>

#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <string>
#include <thread>

#include "common/clock.h"
#include "crypto/ecdsa_presign.h"
#include "crypto/jwk.h"
#include "crypto/jws.h"
#include "crypto/jwt.h"
#include "crypto/keyed_hash.h"

namespace custody::crypto {
namespace {

using nlohmann::json;

[[noreturn]] void die(const std::string& what) {
  std::fprintf(stderr, "jose_bench: %s\n", what.c_str());
  std::abort();
}

template <class R>
auto must(R r, const char* what) {
  if (!r.ok()) die(std::string(what) + ": " + r.error().message);
  return std::move(r).value();
}

constexpr std::int64_t kIat = 1'800'000'000;

// An access token as the token endpoint will issue it (RFC 9068 + delegation claims).
json access_token_claims() {
  return {
      {"iss", "https://custody.example.com"},
      {"sub", "agt_01JDQ3V6S7K2W8C0M4N5P6R7T8"},
      {"aud", "https://api.example.com/mcp"},
      {"client_id", "svc_01JDQ3V6S7K2W8C0M4N5P6R7T9"},
      {"scope", "tickets:read tickets:write calendar:read"},
      {"iat", kIat},
      {"nbf", kIat},
      {"exp", kIat + 900},
      {"jti", "at_01JDQ3V6S7K2W8C0M4N5P6R7TA"},
      {"act", {{"sub", "agt_01JDQ3V6S7K2W8C0M4N5P6R7TB"}}},
      {"cnf", {{"jkt", "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"}}},
      {"custody", {{"delegation", "dlg_01JDQ3V6S7K2W8C0M4N5P6R7TC"}, {"depth", 2}}},
  };
}

struct Fixture {
  explicit Fixture(Jwk k) : key(std::move(k)) {}
  Jwk key;
  JwkSet keys;
  std::string payload;  // the claims, serialised once
  std::string token;    // a signed token of those claims
  std::string signing_input;
  std::string signature;      // JWS form (ES256: R||S)
  std::string der_signature;  // what EVP produces/consumes (ES256: DER)
};

const Fixture& fixture(KeyType type) {
  static std::map<KeyType, std::unique_ptr<Fixture>> all;
  auto& slot = all[type];
  if (!slot) {
    auto f = std::make_unique<Fixture>(
        must(Jwk::generate(type, "bench-" + std::string(alg_name(alg_for(type)))), "generate"));
    f->keys = must(JwkSet::of({f->key}), "key set");
    f->payload = access_token_claims().dump();
    f->token = must(jwt_sign(access_token_claims(), f->key, "at+jwt"), "sign");
    const auto dot = f->token.rfind('.');
    f->signing_input = f->token.substr(0, dot);
    f->signature = must(f->key.sign(f->signing_input), "sign");
    // The DER signature for the raw EVP verify.
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    const char* md = type == KeyType::kEd25519 ? nullptr : "SHA256";
    std::size_t len = static_cast<std::size_t>(EVP_PKEY_get_size(f->key.pkey()));
    f->der_signature.resize(len);
    if (EVP_DigestSignInit_ex(ctx, nullptr, md, nullptr, nullptr, f->key.pkey(), nullptr) != 1 ||
        EVP_DigestSign(ctx, reinterpret_cast<unsigned char*>(f->der_signature.data()), &len,
                       reinterpret_cast<const unsigned char*>(f->signing_input.data()),
                       f->signing_input.size()) != 1)
      die("raw sign");
    f->der_signature.resize(len);
    EVP_MD_CTX_free(ctx);
    slot = std::move(f);
  }
  return *slot;
}

JwtPolicy access_token_policy() {
  JwtPolicy p;
  p.jws.algorithms = {Alg::kES256, Alg::kEdDSA, Alg::kRS256};
  p.issuer = "https://custody.example.com";
  p.audience = "https://api.example.com/mcp";
  p.types = {"at+jwt"};
  return p;
}

// --- custody API ---------------------------------------------------------------------------

void Jws_Sign(benchmark::State& state, KeyType type) {
  const Fixture& f = fixture(type);
  const json header = {{"kid", f.key.kid()}, {"typ", "at+jwt"}};
  for (auto _ : state) benchmark::DoNotOptimize(must(jws_sign(header, f.payload, f.key), "sign"));
  state.counters["payload_bytes"] = static_cast<double>(f.payload.size());
  state.counters["token_bytes"] = static_cast<double>(f.token.size());
}

void Jwt_Sign(benchmark::State& state, KeyType type) {
  const Fixture& f = fixture(type);
  const json claims = access_token_claims();
  for (auto _ : state) benchmark::DoNotOptimize(must(jwt_sign(claims, f.key, "at+jwt"), "sign"));
}

void Jws_Verify(benchmark::State& state, KeyType type) {
  const Fixture& f = fixture(type);
  const VerifyPolicy policy{{Alg::kES256, Alg::kEdDSA, Alg::kRS256}};
  for (auto _ : state)
    benchmark::DoNotOptimize(must(jws_verify(f.token, f.keys, policy), "verify"));
}

void Jwt_Verify(benchmark::State& state, KeyType type) {
  const Fixture& f = fixture(type);
  const JwtPolicy policy = access_token_policy();
  const FixedClock clock((kIat + 60) * kMicrosPerSecond);
  for (auto _ : state)
    benchmark::DoNotOptimize(must(jwt_verify(f.token, f.keys, policy, clock), "verify"));
}

// Jwk::sign / Jwk::verify: the signature primitive under the JWS (no JSON, no base64url).
void Key_Sign(benchmark::State& state, KeyType type) {
  const Fixture& f = fixture(type);
  for (auto _ : state) benchmark::DoNotOptimize(must(f.key.sign(f.signing_input), "sign"));
}

// The online step alone (crypto/ecdsa_presign.h): every iteration takes one of the pairs the
// filler precomputed before the timing started, as a token signed while the pool is stocked
// does. The offline part each pair cost is about Key_Sign's.
void Key_SignPresigned(benchmark::State& state) {
  const Fixture& f = fixture(KeyType::kEcP256);
  const auto pairs = static_cast<std::size_t>(state.max_iterations);
  presign::start(pairs);
  while (presign::stats().ready < pairs) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  const auto before = presign::stats();
  for (auto _ : state) benchmark::DoNotOptimize(must(f.key.sign(f.signing_input), "sign"));
  if (presign::stats().fallback != before.fallback) die("the pool ran dry during the loop");
  presign::stop();
}

void Key_Verify(benchmark::State& state, KeyType type) {
  const Fixture& f = fixture(type);
  for (auto _ : state) {
    Status s = f.key.verify(f.signing_input, f.signature);
    if (!s.ok()) die(s.error().message);
  }
}

// The strict claims parse alone (duplicate-member check included): the part of Jwt_Verify that
// does not depend on the algorithm.
void Jwt_ParseClaims(benchmark::State& state) {
  const Fixture& f = fixture(KeyType::kEcP256);
  for (auto _ : state) benchmark::DoNotOptimize(must(jwt_parse_claims(f.payload), "parse"));
}
BENCHMARK(Jwt_ParseClaims);

// --- raw OpenSSL EVP on the same bytes -----------------------------------------------------

const char* md_for(KeyType type) {
  return type == KeyType::kEd25519 ? nullptr : "SHA256";
}

void Raw_DigestSign(benchmark::State& state, KeyType type) {
  const Fixture& f = fixture(type);
  std::string sig(static_cast<std::size_t>(EVP_PKEY_get_size(f.key.pkey())), '\0');
  for (auto _ : state) {
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    std::size_t len = sig.size();
    if (EVP_DigestSignInit_ex(ctx, nullptr, md_for(type), nullptr, nullptr, f.key.pkey(),
                              nullptr) != 1 ||
        EVP_DigestSign(ctx, reinterpret_cast<unsigned char*>(sig.data()), &len,
                       reinterpret_cast<const unsigned char*>(f.signing_input.data()),
                       f.signing_input.size()) != 1)
      die("raw sign");
    EVP_MD_CTX_free(ctx);
    benchmark::DoNotOptimize(sig);
  }
}

void Raw_DigestVerify(benchmark::State& state, KeyType type) {
  const Fixture& f = fixture(type);
  for (auto _ : state) {
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    if (EVP_DigestVerifyInit_ex(ctx, nullptr, md_for(type), nullptr, nullptr, f.key.pkey(),
                                nullptr) != 1 ||
        EVP_DigestVerify(ctx, reinterpret_cast<const unsigned char*>(f.der_signature.data()),
                         f.der_signature.size(),
                         reinterpret_cast<const unsigned char*>(f.signing_input.data()),
                         f.signing_input.size()) != 1)
      die("raw verify");
    EVP_MD_CTX_free(ctx);
  }
}

// What `openssl speed` times: one EVP_PKEY_CTX initialised outside the loop, signing a
// precomputed digest (ECDSA, RSA). Ed25519 has no pre-hashed form; speed signs the message.
void Raw_PkeySign(benchmark::State& state, KeyType type) {
  const Fixture& f = fixture(type);
  const std::string digest = sha256(f.signing_input);
  EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new_from_pkey(nullptr, f.key.pkey(), nullptr);
  if (ctx == nullptr || EVP_PKEY_sign_init(ctx) != 1) die("sign_init");
  if (type == KeyType::kRsa && EVP_PKEY_CTX_set_signature_md(ctx, EVP_sha256()) != 1) die("md");
  std::string sig(static_cast<std::size_t>(EVP_PKEY_get_size(f.key.pkey())), '\0');
  for (auto _ : state) {
    std::size_t len = sig.size();
    if (EVP_PKEY_sign(ctx, reinterpret_cast<unsigned char*>(sig.data()), &len,
                      reinterpret_cast<const unsigned char*>(digest.data()), digest.size()) != 1)
      die("pkey sign");
    benchmark::DoNotOptimize(sig);
  }
  EVP_PKEY_CTX_free(ctx);
}

void Raw_PkeyVerify(benchmark::State& state, KeyType type) {
  const Fixture& f = fixture(type);
  const std::string digest = sha256(f.signing_input);
  EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new_from_pkey(nullptr, f.key.pkey(), nullptr);
  if (ctx == nullptr || EVP_PKEY_verify_init(ctx) != 1) die("verify_init");
  if (type == KeyType::kRsa && EVP_PKEY_CTX_set_signature_md(ctx, EVP_sha256()) != 1) die("md");
  for (auto _ : state) {
    if (EVP_PKEY_verify(ctx, reinterpret_cast<const unsigned char*>(f.der_signature.data()),
                        f.der_signature.size(),
                        reinterpret_cast<const unsigned char*>(digest.data()), digest.size()) != 1)
      die("pkey verify");
  }
  EVP_PKEY_CTX_free(ctx);
}

#define JOSE_BENCH(fn)                             \
  BENCHMARK_CAPTURE(fn, ES256, KeyType::kEcP256);  \
  BENCHMARK_CAPTURE(fn, EdDSA, KeyType::kEd25519); \
  BENCHMARK_CAPTURE(fn, RS256, KeyType::kRsa)

JOSE_BENCH(Jws_Sign);
JOSE_BENCH(Jwt_Sign);
JOSE_BENCH(Key_Sign);
JOSE_BENCH(Raw_DigestSign);
BENCHMARK_CAPTURE(Raw_PkeySign, ES256, KeyType::kEcP256);
BENCHMARK_CAPTURE(Raw_PkeySign, RS256, KeyType::kRsa);
BENCHMARK(Key_SignPresigned)->Iterations(20000);
JOSE_BENCH(Jws_Verify);
JOSE_BENCH(Jwt_Verify);
JOSE_BENCH(Key_Verify);
JOSE_BENCH(Raw_DigestVerify);
BENCHMARK_CAPTURE(Raw_PkeyVerify, ES256, KeyType::kEcP256);
BENCHMARK_CAPTURE(Raw_PkeyVerify, RS256, KeyType::kRsa);

}  // namespace
}  // namespace custody::crypto

BENCHMARK_MAIN();
