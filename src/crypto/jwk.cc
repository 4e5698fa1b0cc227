// Only the OpenSSL 3 API: deprecated low-level calls (EC_KEY, RSA, ...) must not compile here.
#define OPENSSL_NO_DEPRECATED
#include "crypto/jwk.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>

#include <array>
#include <utility>

#include "common/encoding.h"
#include "crypto/jose_encoding.h"
#include "crypto/jwk_data.h"
#include "crypto/keyed_hash.h"
#include "crypto/openssl_util.h"

namespace custody::crypto {
namespace {

using nlohmann::json;

constexpr std::size_t kCoordinateBytes = 32;  // P-256 coordinates and scalars, Ed25519 keys
constexpr std::size_t kMaxRsaExponentBytes = 8;
constexpr std::size_t kMaxKidBytes = 256;
constexpr std::array<std::string_view, 8> kPrivateMembers = {"d",  "p",  "q", "dp",
                                                             "dq", "qi", "k", "oth"};

// Reads the members of one JWK; every error names the input as the caller called it.
class Reader {
 public:
  Reader(const json& jwk, std::string_view what) : jwk_(jwk), what_(what) {}

  Error bad(std::string_view message) const {
    return Error::invalid(what_ + " " + std::string(message), what_);
  }

  Result<std::string> string_member(const char* name) const {
    auto it = jwk_.find(name);
    if (it == jwk_.end()) return bad(std::string("needs \"") + name + "\"");
    if (!it->is_string()) return bad(std::string("\"") + name + "\" must be a string");
    return it->get<std::string>();
  }

  // A base64url member, canonical and unpadded as JWKs are written; the decoded bytes.
  Result<std::string> bytes_member(const char* name) const {
    CUSTODY_ASSIGN(std::string text, string_member(name));
    auto bytes = base64url_decode_strict(text);
    if (!bytes || bytes->empty())
      return bad(std::string("\"") + name + "\" is not unpadded base64url");
    return std::move(*bytes);
  }

  Result<std::string> fixed_member(const char* name, std::size_t n) const {
    CUSTODY_ASSIGN(std::string bytes, bytes_member(name));
    if (bytes.size() != n) {
      return bad(std::string("\"") + name + "\" must be " + std::to_string(n) + " bytes");
    }
    return bytes;
  }

 private:
  const json& jwk_;
  std::string what_;
};

std::string_view strip_leading_zeros(std::string_view bytes) {
  const auto first = bytes.find_first_not_of('\0');
  return first == std::string_view::npos ? std::string_view() : bytes.substr(first);
}

int bit_length(std::string_view minimal) {
  if (minimal.empty()) return 0;
  int top = 0;
  for (auto b = static_cast<unsigned char>(minimal[0]); b != 0; b >>= 1) ++top;
  return static_cast<int>(minimal.size() - 1) * 8 + top;
}

const unsigned char* bytes_of(std::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

// A BIGNUM for a private value: BN_secure_new makes OSSL_PARAM_BLD put its copy in memory that
// OSSL_PARAM_free wipes.
Result<ossl::SecretBn> secret_bn(std::string_view bytes) {
  ossl::SecretBn bn(BN_secure_new());
  if (!bn || BN_bin2bn(bytes_of(bytes), static_cast<int>(bytes.size()), bn.get()) == nullptr) {
    return Error::internal("OpenSSL could not allocate a number: " + ossl::drain_errors());
  }
  return bn;
}

// Builds an EVP_PKEY of `type_name` ("EC", "RSA") from OSSL_PARAMs; null when OpenSSL refuses
// them (the caller words the error).
ossl::Pkey from_params(const char* type_name, OSSL_PARAM_BLD* bld, int selection) {
  ossl::Params params(OSSL_PARAM_BLD_to_param(bld));
  ossl::PkeyCtx ctx(EVP_PKEY_CTX_new_from_name(nullptr, type_name, nullptr));
  EVP_PKEY* raw = nullptr;
  if (!params || !ctx || EVP_PKEY_fromdata_init(ctx.get()) <= 0 ||
      EVP_PKEY_fromdata(ctx.get(), &raw, selection, params.get()) <= 0) {
    ossl::drain_errors();
    return nullptr;
  }
  return ossl::Pkey(raw);
}

enum class Check { kPublicQuick, kFull, kPairwise };

bool key_checks_out(EVP_PKEY* pkey, Check check) {
  ossl::PkeyCtx ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, pkey, nullptr));
  int rc = 0;
  if (ctx) {
    switch (check) {
      case Check::kPublicQuick:
        rc = EVP_PKEY_public_check_quick(ctx.get());
        break;
      case Check::kFull:
        rc = EVP_PKEY_check(ctx.get());
        break;
      case Check::kPairwise:
        rc = EVP_PKEY_pairwise_check(ctx.get());
        break;
    }
  }
  if (rc != 1) ossl::drain_errors();
  return rc == 1;
}

// P-256 from the coordinates (and the private scalar): OpenSSL decodes the point, which refuses
// points off the curve and the point at infinity, and for a key pair checks d * G == (x, y).
// The quick public check skips the n * Q == O test: P-256 has cofactor 1, so every other point
// on the curve already has order n, and the full test would cost a scalar multiplication on
// every DPoP proof.
Result<ossl::Pkey> ec_key(const Reader& r, const std::string& x, const std::string& y,
                          const std::string* d) {
  std::string pub = "\x04" + x + y;
  ossl::ParamBld bld(OSSL_PARAM_BLD_new());
  ossl::SecretBn priv;
  if (d != nullptr) {
    CUSTODY_ASSIGN(priv, secret_bn(*d));
  }
  if (!bld || !OSSL_PARAM_BLD_push_utf8_string(bld.get(), OSSL_PKEY_PARAM_GROUP_NAME, "P-256", 0) ||
      !OSSL_PARAM_BLD_push_octet_string(bld.get(), OSSL_PKEY_PARAM_PUB_KEY, pub.data(),
                                        pub.size()) ||
      (priv && !OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_PRIV_KEY, priv.get()))) {
    return Error::internal("OpenSSL could not build EC parameters: " + ossl::drain_errors());
  }
  ossl::Pkey key = from_params("EC", bld.get(), d ? EVP_PKEY_KEYPAIR : EVP_PKEY_PUBLIC_KEY);
  if (!key || !key_checks_out(key.get(), Check::kPublicQuick))
    return r.bad("is not a point on P-256");
  if (d && !key_checks_out(key.get(), Check::kFull))
    return r.bad("\"d\" does not belong to \"x\" and \"y\"");
  return key;
}

Result<ossl::Pkey> ed25519_key(const Reader& r, const std::string& x, const std::string* d) {
  if (d == nullptr) {
    ossl::Pkey key(
        EVP_PKEY_new_raw_public_key_ex(nullptr, "ED25519", nullptr, bytes_of(x), x.size()));
    if (!key) {
      ossl::drain_errors();
      return r.bad("\"x\" is not an Ed25519 public key");
    }
    return key;
  }
  ossl::Pkey key(
      EVP_PKEY_new_raw_private_key_ex(nullptr, "ED25519", nullptr, bytes_of(*d), d->size()));
  unsigned char derived[kCoordinateBytes];
  std::size_t len = sizeof derived;
  if (!key || EVP_PKEY_get_raw_public_key(key.get(), derived, &len) != 1) {
    return Error::internal("OpenSSL could not load an Ed25519 key: " + ossl::drain_errors());
  }
  if (len != x.size() || std::string_view(reinterpret_cast<char*>(derived), len) != x)
    return r.bad("\"x\" does not belong to \"d\"");
  return key;
}

// The RSA rules custody applies to keys somebody else chose (see parse_public).
Status check_rsa_public(const Reader& r, std::string_view n, std::string_view e) {
  const int bits = bit_length(n);
  if (bits < kMinRsaBits) return r.bad("RSA keys must have at least 2048 bits");
  if (bits > kMaxRsaBits) return r.bad("RSA keys must have at most 16384 bits");
  if ((static_cast<unsigned char>(n.back()) & 1) == 0) return r.bad("\"n\" is not odd");
  // Exponents are small odd numbers (3, 65537); longer ones only slow verification down.
  if (e.empty() || e.size() > kMaxRsaExponentBytes ||
      (static_cast<unsigned char>(e.back()) & 1) == 0 ||
      (e.size() == 1 && static_cast<unsigned char>(e.back()) < 3))
    return r.bad("\"e\" is not a valid RSA exponent");
  return ok_status();
}

struct RsaPrivate {
  std::string d, p, q, dp, dq, qi;
  ~RsaPrivate() {
    for (std::string* s : {&d, &p, &q, &dp, &dq, &qi}) ossl::wipe(*s);
  }
};

Result<ossl::Pkey> rsa_key(const Reader& r, std::string_view n, std::string_view e,
                           const RsaPrivate* priv) {
  ossl::Bn bn_n(BN_bin2bn(bytes_of(n), static_cast<int>(n.size()), nullptr));
  ossl::Bn bn_e(BN_bin2bn(bytes_of(e), static_cast<int>(e.size()), nullptr));
  ossl::ParamBld bld(OSSL_PARAM_BLD_new());
  if (!bn_n || !bn_e || !bld ||
      !OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_N, bn_n.get()) ||
      !OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_E, bn_e.get())) {
    return Error::internal("OpenSSL could not build RSA parameters: " + ossl::drain_errors());
  }
  std::vector<ossl::SecretBn> secrets;  // must outlive the builder's to_param call
  if (priv != nullptr) {
    const std::pair<const char*, const std::string*> members[] = {
        {OSSL_PKEY_PARAM_RSA_D, &priv->d},          {OSSL_PKEY_PARAM_RSA_FACTOR1, &priv->p},
        {OSSL_PKEY_PARAM_RSA_FACTOR2, &priv->q},    {OSSL_PKEY_PARAM_RSA_EXPONENT1, &priv->dp},
        {OSSL_PKEY_PARAM_RSA_EXPONENT2, &priv->dq}, {OSSL_PKEY_PARAM_RSA_COEFFICIENT1, &priv->qi},
    };
    for (const auto& [param, value] : members) {
      CUSTODY_ASSIGN(ossl::SecretBn bn, secret_bn(*value));
      if (!OSSL_PARAM_BLD_push_BN(bld.get(), param, bn.get())) {
        return Error::internal("OpenSSL could not build RSA parameters: " + ossl::drain_errors());
      }
      secrets.push_back(std::move(bn));
    }
  }
  ossl::Pkey key = from_params("RSA", bld.get(), priv ? EVP_PKEY_KEYPAIR : EVP_PKEY_PUBLIC_KEY);
  if (!key) return r.bad("is not a usable RSA key");
  if (priv && !key_checks_out(key.get(), Check::kPairwise))
    return r.bad("private members do not belong to \"n\" and \"e\"");
  return key;
}

// "alg", when given, must be a signature algorithm for the key type. The list is wider than what
// custody verifies (a registered key may be meant for RS384 elsewhere); allows() decides use.
Status check_alg_member(const Reader& r, std::string_view kty, std::string_view alg) {
  static constexpr std::array<std::pair<std::string_view, std::string_view>, 9> kAllowed = {{
      {"EC", "ES256"},
      {"OKP", "EdDSA"},
      {"OKP", "Ed25519"},
      {"RSA", "RS256"},
      {"RSA", "RS384"},
      {"RSA", "RS512"},
      {"RSA", "PS256"},
      {"RSA", "PS384"},
      {"RSA", "PS512"},
  }};
  for (const auto& [k, a] : kAllowed)
    if (k == kty && a == alg) return ok_status();
  return r.bad("\"alg\" is not a signature algorithm for " + std::string(kty) + " keys");
}

Error bad_kid(std::string_view what, std::string_view why) {
  return Error::invalid(std::string(what) + " \"kid\" " + std::string(why), std::string(what));
}

Status check_kid(std::string_view what, std::string_view kid) {
  if (kid.empty() || kid.size() > kMaxKidBytes) return bad_kid(what, "must be 1 to 256 bytes");
  for (char c : kid) {
    if (c < 0x20 || c > 0x7e) return bad_kid(what, "must be printable ASCII");
  }
  return ok_status();
}

std::string compute_thumbprint(const json& required) {
  // RFC 7638 §3.2: the required members only, in lexicographic order, without whitespace;
  // nlohmann objects keep their keys sorted, so dump() is exactly that form.
  return base64url_encode(sha256(required.dump()));
}

json ec_required(std::string_view x, std::string_view y) {
  return json{
      {"kty", "EC"}, {"crv", "P-256"}, {"x", base64url_encode(x)}, {"y", base64url_encode(y)}};
}
json okp_required(std::string_view x) {
  return json{{"kty", "OKP"}, {"crv", "Ed25519"}, {"x", base64url_encode(x)}};
}
json rsa_required(std::string_view n, std::string_view e) {
  return json{{"kty", "RSA"},
              {"n", base64url_encode(strip_leading_zeros(n))},
              {"e", base64url_encode(strip_leading_zeros(e))}};
}

Result<std::shared_ptr<Jwk::Data>> parse(const json& jwk, std::string_view what,
                                         bool want_private) {
  Reader r(jwk, what);
  if (!jwk.is_object()) return r.bad("must be a JSON object");
  if (!want_private) {
    for (std::string_view member : kPrivateMembers) {
      if (jwk.contains(member))
        return r.bad("must be a public key: \"" + std::string(member) + "\" is private");
    }
  } else if (jwk.contains("oth")) {
    return r.bad("is a multi-prime RSA key (\"oth\"), which custody does not support");
  }
  CUSTODY_ASSIGN(std::string kty, r.string_member("kty"));

  auto data = std::make_shared<Jwk::Data>();
  data->is_private = want_private;
  if (kty == "EC") {
    CUSTODY_ASSIGN(std::string crv, r.string_member("crv"));
    if (crv != "P-256") return r.bad("EC keys must use crv P-256");
    CUSTODY_ASSIGN(std::string x, r.fixed_member("x", kCoordinateBytes));
    CUSTODY_ASSIGN(std::string y, r.fixed_member("y", kCoordinateBytes));
    std::string d;
    if (want_private) {
      CUSTODY_ASSIGN(d, r.fixed_member("d", kCoordinateBytes));
    }
    auto key = ec_key(r, x, y, want_private ? &d : nullptr);
    ossl::wipe(d);
    if (!key.ok()) return std::move(key).error();
    data->pkey = std::move(key).value();
    data->type = KeyType::kEcP256;
    data->required = ec_required(x, y);
  } else if (kty == "OKP") {
    CUSTODY_ASSIGN(std::string crv, r.string_member("crv"));
    if (crv != "Ed25519") return r.bad("OKP keys must use crv Ed25519");
    CUSTODY_ASSIGN(std::string x, r.fixed_member("x", kCoordinateBytes));
    std::string d;
    if (want_private) {
      CUSTODY_ASSIGN(d, r.fixed_member("d", kCoordinateBytes));
    }
    auto key = ed25519_key(r, x, want_private ? &d : nullptr);
    ossl::wipe(d);
    if (!key.ok()) return std::move(key).error();
    data->pkey = std::move(key).value();
    data->type = KeyType::kEd25519;
    data->required = okp_required(x);
  } else if (kty == "RSA") {
    CUSTODY_ASSIGN(std::string n_bytes, r.bytes_member("n"));
    CUSTODY_ASSIGN(std::string e_bytes, r.bytes_member("e"));
    const std::string_view n = strip_leading_zeros(n_bytes);
    const std::string_view e = strip_leading_zeros(e_bytes);
    CUSTODY_TRY(check_rsa_public(r, n, e));
    RsaPrivate priv;
    if (want_private) {
      CUSTODY_ASSIGN(priv.d, r.bytes_member("d"));
      CUSTODY_ASSIGN(priv.p, r.bytes_member("p"));
      CUSTODY_ASSIGN(priv.q, r.bytes_member("q"));
      CUSTODY_ASSIGN(priv.dp, r.bytes_member("dp"));
      CUSTODY_ASSIGN(priv.dq, r.bytes_member("dq"));
      CUSTODY_ASSIGN(priv.qi, r.bytes_member("qi"));
    }
    CUSTODY_ASSIGN(data->pkey, rsa_key(r, n, e, want_private ? &priv : nullptr));
    data->type = KeyType::kRsa;
    data->required = rsa_required(n, e);
  } else {
    return r.bad("kty must be EC, OKP or RSA");
  }
  data->thumbprint = compute_thumbprint(data->required);

  if (jwk.contains("kid")) {
    CUSTODY_ASSIGN(data->kid, r.string_member("kid"));
    CUSTODY_TRY(check_kid(what, data->kid));
  }
  if (jwk.contains("alg")) {
    CUSTODY_ASSIGN(data->alg_member, r.string_member("alg"));
    CUSTODY_TRY(check_alg_member(r, kty, data->alg_member));
  }
  if (jwk.contains("use")) {
    CUSTODY_ASSIGN(std::string use, r.string_member("use"));
    if (use != "sig") return r.bad("\"use\" must be sig");
    data->use_sig = true;
  }
  return data;
}

// A BIGNUM parameter of a key as big-endian bytes: left-padded to `pad` bytes, or minimal when
// pad is 0.
Result<std::string> bn_param(EVP_PKEY* pkey, const char* name, int pad) {
  BIGNUM* raw = nullptr;
  if (EVP_PKEY_get_bn_param(pkey, name, &raw) != 1) {
    return Error::internal(std::string("OpenSSL could not export ") + name + ": " +
                           ossl::drain_errors());
  }
  ossl::SecretBn bn(raw);
  const int len = pad > 0 ? pad : BN_num_bytes(bn.get());
  std::string out(static_cast<std::size_t>(len), '\0');
  auto* buf = reinterpret_cast<unsigned char*>(out.data());
  if (pad > 0 ? BN_bn2binpad(bn.get(), buf, pad) != pad : BN_bn2bin(bn.get(), buf) != len) {
    return Error::internal(std::string("OpenSSL could not encode ") + name);
  }
  return out;
}

Result<std::string> raw_key(EVP_PKEY* pkey, bool private_part) {
  std::string out(kCoordinateBytes, '\0');
  std::size_t len = out.size();
  auto* buf = reinterpret_cast<unsigned char*>(out.data());
  const int rc = private_part ? EVP_PKEY_get_raw_private_key(pkey, buf, &len)
                              : EVP_PKEY_get_raw_public_key(pkey, buf, &len);
  if (rc != 1 || len != kCoordinateBytes) {
    return Error::internal("OpenSSL could not export an Ed25519 key: " + ossl::drain_errors());
  }
  return out;
}

Result<json> required_from_pkey(EVP_PKEY* pkey, KeyType type) {
  switch (type) {
    case KeyType::kEcP256: {
      CUSTODY_ASSIGN(std::string x, bn_param(pkey, OSSL_PKEY_PARAM_EC_PUB_X, kCoordinateBytes));
      CUSTODY_ASSIGN(std::string y, bn_param(pkey, OSSL_PKEY_PARAM_EC_PUB_Y, kCoordinateBytes));
      return ec_required(x, y);
    }
    case KeyType::kEd25519: {
      CUSTODY_ASSIGN(std::string x, raw_key(pkey, false));
      return okp_required(x);
    }
    case KeyType::kRsa: {
      CUSTODY_ASSIGN(std::string n, bn_param(pkey, OSSL_PKEY_PARAM_RSA_N, 0));
      CUSTODY_ASSIGN(std::string e, bn_param(pkey, OSSL_PKEY_PARAM_RSA_E, 0));
      return rsa_required(n, e);
    }
  }
  return Error::internal("unknown key type");
}

}  // namespace

std::string_view alg_name(Alg alg) {
  switch (alg) {
    case Alg::kES256:
      return "ES256";
    case Alg::kEdDSA:
      return "EdDSA";
    case Alg::kRS256:
      return "RS256";
  }
  return "?";
}

std::optional<Alg> alg_from_name(std::string_view name) {
  for (Alg alg : {Alg::kES256, Alg::kEdDSA, Alg::kRS256}) {
    if (alg_name(alg) == name) return alg;
  }
  // RFC 9864: "Ed25519" is the fully-specified name of EdDSA over Ed25519, the only EdDSA curve
  // custody has (clients such as oauth4webapi sign with it).
  if (name == "Ed25519") return Alg::kEdDSA;
  return std::nullopt;
}

std::string_view key_type_name(KeyType type) {
  switch (type) {
    case KeyType::kEcP256:
      return "EC P-256";
    case KeyType::kEd25519:
      return "Ed25519";
    case KeyType::kRsa:
      return "RSA";
  }
  return "?";
}

Alg alg_for(KeyType type) {
  switch (type) {
    case KeyType::kEcP256:
      return Alg::kES256;
    case KeyType::kEd25519:
      return Alg::kEdDSA;
    case KeyType::kRsa:
      return Alg::kRS256;
  }
  return Alg::kES256;
}

Result<Jwk> Jwk::parse_public(const json& jwk, std::string_view what) {
  CUSTODY_ASSIGN(auto data, parse(jwk, what, /*want_private=*/false));
  return Jwk(std::move(data));
}

Result<Jwk> Jwk::parse_private(const json& jwk, std::string_view what) {
  CUSTODY_ASSIGN(auto data, parse(jwk, what, /*want_private=*/true));
  return Jwk(std::move(data));
}

Result<Jwk> Jwk::generate(KeyType type, std::string kid, int rsa_bits) {
  if (!kid.empty()) CUSTODY_TRY(check_kid("kid", kid));
  EVP_PKEY* raw = nullptr;
  switch (type) {
    case KeyType::kEcP256:
      raw = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256");
      break;
    case KeyType::kEd25519:
      raw = EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519");
      break;
    case KeyType::kRsa:
      if (rsa_bits < kMinRsaBits || rsa_bits > kMaxRsaBits) {
        return Error::invalid("RSA keys must have 2048 to 16384 bits", "rsa_bits");
      }
      raw = EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<std::size_t>(rsa_bits));
      break;
  }
  if (raw == nullptr) return Error::internal("key generation failed: " + ossl::drain_errors());
  auto data = std::make_shared<Data>();
  data->pkey.reset(raw);
  data->type = type;
  data->is_private = true;
  CUSTODY_ASSIGN(data->required, required_from_pkey(raw, type));
  data->thumbprint = compute_thumbprint(data->required);
  data->kid = kid.empty() ? data->thumbprint : std::move(kid);
  return Jwk(std::move(data));
}

KeyType Jwk::type() const {
  return d_->type;
}
Alg Jwk::alg() const {
  return alg_for(d_->type);
}
bool Jwk::is_private() const {
  return d_->is_private;
}
const std::string& Jwk::kid() const {
  return d_->kid;
}
const std::string& Jwk::alg_member() const {
  return d_->alg_member;
}
const std::string& Jwk::thumbprint() const {
  return d_->thumbprint;
}
EVP_PKEY* Jwk::pkey() const {
  return d_->pkey.get();
}

bool Jwk::allows(Alg alg) const {
  if (alg_for(d_->type) != alg) return false;
  if (d_->alg_member.empty()) return true;
  return d_->alg_member == alg_name(alg) || (alg == Alg::kEdDSA && d_->alg_member == "Ed25519");
}

json Jwk::public_json() const {
  json out = d_->required;
  if (!d_->kid.empty()) out["kid"] = d_->kid;
  if (!d_->alg_member.empty()) out["alg"] = d_->alg_member;
  if (d_->use_sig) out["use"] = "sig";
  return out;
}

Result<json> Jwk::private_json() const {
  if (!d_->is_private) return Error::invalid("not a private key", "jwk");
  json out = public_json();
  EVP_PKEY* pkey = d_->pkey.get();
  switch (d_->type) {
    case KeyType::kEcP256: {
      CUSTODY_ASSIGN(std::string d, bn_param(pkey, OSSL_PKEY_PARAM_PRIV_KEY, kCoordinateBytes));
      out["d"] = base64url_encode(d);
      ossl::wipe(d);
      break;
    }
    case KeyType::kEd25519: {
      CUSTODY_ASSIGN(std::string d, raw_key(pkey, true));
      out["d"] = base64url_encode(d);
      ossl::wipe(d);
      break;
    }
    case KeyType::kRsa: {
      const std::pair<const char*, const char*> members[] = {
          {"d", OSSL_PKEY_PARAM_RSA_D},          {"p", OSSL_PKEY_PARAM_RSA_FACTOR1},
          {"q", OSSL_PKEY_PARAM_RSA_FACTOR2},    {"dp", OSSL_PKEY_PARAM_RSA_EXPONENT1},
          {"dq", OSSL_PKEY_PARAM_RSA_EXPONENT2}, {"qi", OSSL_PKEY_PARAM_RSA_COEFFICIENT1},
      };
      for (const auto& [member, param] : members) {
        CUSTODY_ASSIGN(std::string v, bn_param(pkey, param, 0));
        out[member] = base64url_encode(v);
        ossl::wipe(v);
      }
      break;
    }
  }
  return out;
}

Result<Jwk> Jwk::with_kid(std::string kid) const {
  CUSTODY_TRY(check_kid("kid", kid));
  // The copy shares the EVP_PKEY: up_ref it so each Data owns one reference.
  if (EVP_PKEY_up_ref(d_->pkey.get()) != 1) return Error::internal("OpenSSL could not share a key");
  auto data = std::make_shared<Data>();
  data->pkey.reset(d_->pkey.get());
  data->type = d_->type;
  data->is_private = d_->is_private;
  data->required = d_->required;
  data->thumbprint = d_->thumbprint;
  data->kid = std::move(kid);
  data->alg_member = d_->alg_member;
  data->use_sig = d_->use_sig;
  return Jwk(std::move(data));
}

Result<std::string> jwk_thumbprint(const json& public_jwk, std::string_view what) {
  CUSTODY_ASSIGN(Jwk key, Jwk::parse_public(public_jwk, what));
  return key.thumbprint();
}

Result<JwkSet> JwkSet::of(std::vector<Jwk> keys) {
  if (keys.size() > kMaxKeys) {
    return Error::invalid("a key set holds at most " + std::to_string(kMaxKeys) + " keys", "keys");
  }
  for (std::size_t i = 0; i < keys.size(); ++i) {
    if (keys[i].kid().empty()) continue;
    for (std::size_t j = i + 1; j < keys.size(); ++j) {
      if (keys[j].kid() == keys[i].kid())
        return Error::invalid("two keys share the kid \"" + keys[i].kid() + "\"", "keys");
    }
  }
  JwkSet set;
  set.keys_ = std::move(keys);
  return set;
}

Result<JwkSet> JwkSet::parse(const json& jwks, std::string_view what) {
  const std::string field(what);
  if (!jwks.is_object()) return Error::invalid(field + " must be a JSON object", field);
  auto it = jwks.find("keys");
  if (it == jwks.end() || !it->is_array())
    return Error::invalid(field + " needs a \"keys\" array", field);
  if (it->size() > kMaxKeys) {
    return Error::invalid(field + " has more than " + std::to_string(kMaxKeys) + " keys", field);
  }
  std::vector<Jwk> keys;
  for (const json& entry : *it) {
    auto key = Jwk::parse_public(entry, what);
    if (key.ok()) keys.push_back(std::move(key).value());
  }
  auto set = of(std::move(keys));
  if (!set.ok()) return Error::invalid(field + ": " + set.error().message, field);
  return set;
}

const Jwk* JwkSet::find(std::string_view kid) const {
  for (const Jwk& key : keys_) {
    if (!key.kid().empty() && key.kid() == kid) return &key;
  }
  return nullptr;
}

json JwkSet::to_json() const {
  json keys = json::array();
  for (const Jwk& key : keys_) keys.push_back(key.public_json());
  return json{{"keys", std::move(keys)}};
}

}  // namespace custody::crypto
