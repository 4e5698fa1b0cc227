#include "oauth/dpop.h"

#include <algorithm>

#include "common/encoding.h"
#include "crypto/jose_encoding.h"
#include "crypto/jws.h"
#include "crypto/jwt.h"
#include "crypto/keyed_hash.h"

namespace custody::oauth {
namespace {

constexpr Micros kNonceWindow = 300 * kMicrosPerSecond;

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

}  // namespace

std::string DpopNonces::for_window(std::int64_t window) const {
  std::string counter(8, '\0');
  for (int i = 7; i >= 0; --i) {
    counter[static_cast<std::size_t>(i)] = static_cast<char>(window & 0xff);
    window >>= 8;
  }
  std::string mac = crypto::hmac_sha256(secret_, "dpop-nonce" + counter).substr(0, 16);
  return base64url_encode(counter + mac);
}

std::string DpopNonces::current(Micros now) const {
  return for_window(now / kNonceWindow);
}

bool DpopNonces::valid(std::string_view nonce, Micros now) const {
  std::int64_t w = now / kNonceWindow;
  return crypto::constant_time_equal(nonce, for_window(w)) ||
         crypto::constant_time_equal(nonce, for_window(w - 1));
}

std::string normalize_htu(std::string_view url) {
  auto cut = url.find_first_of("?#");
  if (cut != std::string_view::npos) url = url.substr(0, cut);
  auto scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos) return std::string(url);
  std::string scheme = lower(url.substr(0, scheme_end));
  std::string_view rest = url.substr(scheme_end + 3);
  auto slash = rest.find('/');
  std::string authority = lower(rest.substr(0, slash));
  std::string path(slash == std::string_view::npos ? "/" : rest.substr(slash));
  auto strip = [&](std::string_view port) {
    if (authority.size() > port.size() &&
        authority.compare(authority.size() - port.size(), port.size(), port) == 0)
      authority.resize(authority.size() - port.size());
  };
  if (scheme == "https") strip(":443");
  if (scheme == "http") strip(":80");
  return scheme + "://" + authority + path;
}

namespace {

// The checks of both uses: `nonces` null at a resource server (no nonces there), `access_token`
// set at a resource server (the proof's ath must be its hash).
OAuthResult<std::optional<DpopProof>> check_proof(const OAuthRequest& request,
                                                  const Settings& settings,
                                                  const DpopNonces* nonces,
                                                  const std::string_view* access_token,
                                                  Micros now) {
  if (request.dpop.empty()) return std::optional<DpopProof>();
  if (request.dpop.size() > 1) return OAuthError::invalid_dpop_proof("more than one DPoP header");
  auto refuse = [](const std::string& why) {
    return OAuthError::invalid_dpop_proof("DPoP proof refused: " + why);
  };
  crypto::VerifyPolicy policy;
  policy.algorithms = {crypto::Alg::kES256, crypto::Alg::kEdDSA, crypto::Alg::kRS256};
  policy.max_token_bytes = 8 * 1024;
  auto parsed = crypto::jws_parse(request.dpop.front(), policy);
  if (!parsed.ok()) return refuse(parsed.error().message);
  const auto& h = parsed->header;
  if (!h.contains("typ") || h["typ"] != "dpop+jwt") return refuse("typ must be dpop+jwt");
  if (!h.contains("jwk") || !h["jwk"].is_object()) return refuse("the jwk header is required");
  auto key = crypto::Jwk::parse_public(h["jwk"], "jwk");
  if (!key.ok()) return refuse(key.error().message);
  if (!key->allows(parsed->alg)) return refuse("the jwk does not fit alg");
  if (Status s = crypto::jws_verify_signature(*parsed, *key); !s.ok())
    return refuse(s.error().message);
  auto claims = crypto::jwt_parse_claims(parsed->payload);
  if (!claims.ok()) return refuse(claims.error().message);
  const auto& c = *claims;
  if (!c.contains("jti") || !c["jti"].is_string() || c["jti"].get<std::string>().empty() ||
      c["jti"].get<std::string>().size() > 256)
    return refuse("jti is required (1..256 characters)");
  if (!c.contains("htm") || c["htm"] != request.method)
    return refuse("htm does not match the request method " + request.method);
  if (!c.contains("htu") || !c["htu"].is_string() ||
      normalize_htu(c["htu"].get<std::string>()) != normalize_htu(request.url))
    return refuse("htu does not match " + normalize_htu(request.url));
  if (!c.contains("iat") || !c["iat"].is_number_integer()) return refuse("iat is required");
  Micros iat = c["iat"].get<std::int64_t>();
  if (iat > INT64_MAX / kMicrosPerSecond || iat < 0) return refuse("iat is out of range");
  iat *= kMicrosPerSecond;
  if (iat > now + settings.skew) return refuse("iat is in the future");
  if (iat < now - settings.dpop_max_age - settings.skew) return refuse("the proof is too old");
  if (access_token != nullptr) {
    std::string ath = base64url_encode(crypto::sha256(*access_token));
    if (!c.contains("ath") || c["ath"] != ath)
      return refuse("ath does not match the access token's hash");
  }
  if (nonces != nullptr && settings.dpop_nonce) {
    if (!c.contains("nonce") || !c["nonce"].is_string())
      return OAuthError::use_dpop_nonce("a DPoP nonce is required");
    if (!nonces->valid(c["nonce"].get<std::string>(), now))
      return OAuthError::use_dpop_nonce("the DPoP nonce is stale or unknown");
  }
  return std::optional<DpopProof>(DpopProof{key->thumbprint(), c["jti"].get<std::string>(), iat});
}

}  // namespace

OAuthResult<std::optional<DpopProof>> check_dpop_proof(const OAuthRequest& request,
                                                       const Settings& settings,
                                                       const DpopNonces& nonces, Micros now) {
  return check_proof(request, settings, &nonces, nullptr, now);
}

OAuthResult<DpopProof> check_resource_dpop_proof(const OAuthRequest& request,
                                                 std::string_view access_token,
                                                 const Settings& settings, Micros now) {
  if (request.dpop.empty())
    return OAuthError::invalid_dpop_proof("a DPoP-bound token needs a DPoP proof");
  auto checked = check_proof(request, settings, nullptr, &access_token, now);
  if (!checked.ok()) return checked.error();
  const std::optional<DpopProof>& proof = *checked;
  if (!proof) return OAuthError::invalid_dpop_proof("a DPoP-bound token needs a DPoP proof");
  return DpopProof{proof->jkt, proof->jti, proof->iat};
}

}  // namespace custody::oauth
