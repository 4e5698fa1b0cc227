#include "crypto/jws.h"

#include <algorithm>
#include <optional>

#include "common/encoding.h"
#include "crypto/jose_encoding.h"

namespace custody::crypto {
namespace {

using nlohmann::json;

Error refuse(std::string message) {
  return Error::unauthenticated(std::move(message));
}

bool starts_with_ci(std::string_view s, std::string_view prefix) {
  if (s.size() < prefix.size()) return false;
  for (std::size_t i = 0; i < prefix.size(); ++i) {
    char c = s[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c != prefix[i]) return false;
  }
  return true;
}

// "alg" from the header, refused unless it is one custody implements and the policy allows.
Result<Alg> check_alg(const json& header, const VerifyPolicy& policy) {
  auto it = header.find("alg");
  if (it == header.end()) return refuse("token header has no alg");
  if (!it->is_string()) return refuse("token header alg must be a string");
  const std::string& name = it->get_ref<const std::string&>();
  if (name.size() == 4 && starts_with_ci(name, "none")) {
    return refuse("algorithm none is not allowed");
  }
  if (starts_with_ci(name, "hs")) {
    return refuse("algorithm " + quote_untrusted(name) +
                  " is not allowed: HMAC would use a public key as a shared secret");
  }
  const auto alg = alg_from_name(name);
  if (!alg) return refuse("algorithm " + quote_untrusted(name) + " is not supported");
  if (std::find(policy.algorithms.begin(), policy.algorithms.end(), *alg) ==
      policy.algorithms.end()) {
    return refuse("algorithm " + name + " is not allowed by this verifier");
  }
  return *alg;
}

// RFC 7515 §4.1.11: a recipient that does not understand a name listed in "crit" must reject.
Status check_crit(const json& header, const VerifyPolicy& policy) {
  auto it = header.find("crit");
  if (it == header.end()) return ok_status();
  if (!it->is_array() || it->empty()) return refuse("token header crit must be a non-empty array");
  for (const json& entry : *it) {
    if (!entry.is_string()) return refuse("token header crit must list member names");
    const std::string& name = entry.get_ref<const std::string&>();
    if (!header.contains(name)) {
      return refuse("token header crit names " + quote_untrusted(name) +
                    ", which the header does not have");
    }
    if (std::find(policy.understood_crit.begin(), policy.understood_crit.end(), name) ==
        policy.understood_crit.end()) {
      return refuse("crit parameter " + quote_untrusted(name) + " is not understood");
    }
  }
  return ok_status();
}

Status check_header(const json& header) {
  // A verifier that fetched these would let the token choose its own key.
  for (const char* member : {"jku", "x5u"}) {
    if (header.contains(member)) {
      return refuse(std::string("token header ") + member +
                    " is not allowed: custody never fetches keys named by a token");
    }
  }
  auto b64 = header.find("b64");
  if (b64 != header.end() && *b64 != true) {
    return refuse("token header b64 (unencoded payload) is not supported");
  }
  return ok_status();
}

Status check_key_fits(const ParsedJws& jws, const Jwk& key) {
  if (alg_for(key.type()) != jws.alg) {
    return refuse("algorithm " + std::string(alg_name(jws.alg)) + " does not fit an " +
                  std::string(key_type_name(key.type())) + " key");
  }
  if (!key.allows(jws.alg)) {
    return refuse("algorithm " + std::string(alg_name(jws.alg)) + " does not fit the key, which " +
                  "is restricted to " + key.alg_member());
  }
  return ok_status();
}

}  // namespace

Result<std::string> jws_sign(const json& header, std::string_view payload, const Jwk& key) {
  if (!header.is_object()) return Error::invalid("JWS header must be a JSON object", "header");
  for (const char* member : {"b64", "crit", "jku", "x5u"}) {
    if (header.contains(member)) {
      return Error::invalid(std::string("JWS header ") + member + " is not supported", "header");
    }
  }
  const std::string_view alg = alg_name(key.alg());
  json full = header;
  auto it = full.find("alg");
  if (it != full.end() && !(it->is_string() && *it == alg)) {
    return Error::invalid(
        "JWS header alg does not fit the key, which signs with " + std::string(alg), "header");
  }
  if (!key.allows(key.alg())) {
    return Error::invalid("the key is restricted to alg " + key.alg_member(), "key");
  }
  full["alg"] = alg;
  auto header_text = dump_compact(full);
  if (!header_text) return Error::invalid("JWS header is not valid UTF-8", "header");

  std::string token = base64url_encode(*header_text);
  token += '.';
  token += base64url_encode(payload);
  CUSTODY_ASSIGN(std::string sig, key.sign(token));
  token += '.';
  token += base64url_encode(sig);
  return token;
}

Result<ParsedJws> jws_parse(std::string_view token, const VerifyPolicy& policy) {
  if (token.size() > policy.max_token_bytes) {
    return refuse("token is larger than " + std::to_string(policy.max_token_bytes) + " bytes");
  }
  const auto dot1 = token.find('.');
  const auto dot2 = dot1 == std::string_view::npos ? dot1 : token.find('.', dot1 + 1);
  if (dot2 == std::string_view::npos || token.find('.', dot2 + 1) != std::string_view::npos) {
    return refuse("token must be three base64url parts separated by two dots");
  }
  const std::string_view header_b64 = token.substr(0, dot1);
  const std::string_view payload_b64 = token.substr(dot1 + 1, dot2 - dot1 - 1);
  const std::string_view signature_b64 = token.substr(dot2 + 1);

  auto header_text = base64url_decode_strict(header_b64);
  if (!header_text) return refuse("token header is not unpadded base64url");
  StrictJson header = parse_json_object_strict(*header_text);
  if (header.defect != JsonDefect::kNone) return refuse("token header " + describe(header));

  ParsedJws out;
  CUSTODY_ASSIGN(out.alg, check_alg(header.value, policy));
  CUSTODY_TRY(check_crit(header.value, policy));
  CUSTODY_TRY(check_header(header.value));
  auto kid = header.value.find("kid");
  if (kid != header.value.end()) {
    if (!kid->is_string()) return refuse("token header kid must be a string");
    out.kid = kid->get<std::string>();
  }

  auto payload = base64url_decode_strict(payload_b64);
  if (!payload) return refuse("token payload is not unpadded base64url");
  auto signature = base64url_decode_strict(signature_b64);
  if (!signature) return refuse("token signature is not unpadded base64url");

  out.header = std::move(header.value);
  out.payload = std::move(*payload);
  out.signature = std::move(*signature);
  out.signing_input = std::string(token.substr(0, dot2));
  return out;
}

Status jws_verify_signature(const ParsedJws& jws, const Jwk& key) {
  CUSTODY_TRY(check_key_fits(jws, key));
  return key.verify(jws.signing_input, jws.signature);
}

Result<Jwk> jws_verify_parsed(const ParsedJws& jws, const JwkSet& keys) {
  if (!jws.kid.empty()) {
    const Jwk* key = keys.find(jws.kid);
    if (key == nullptr) return refuse("no key with kid " + quote_untrusted(jws.kid));
    CUSTODY_TRY(jws_verify_signature(jws, *key));
    return *key;
  }
  // Without a kid, each key that could have made the signature is tried (JwkSet bounds how
  // many).
  std::optional<Error> last;
  for (const Jwk& key : keys.keys()) {
    if (!key.allows(jws.alg)) continue;
    Status verified = key.verify(jws.signing_input, jws.signature);
    if (verified.ok()) return key;
    last = verified.error();
  }
  if (!last) return refuse("no key for algorithm " + std::string(alg_name(jws.alg)));
  return std::move(*last);
}

Result<VerifiedJws> jws_verify(std::string_view token, const JwkSet& keys,
                               const VerifyPolicy& policy) {
  CUSTODY_ASSIGN(ParsedJws jws, jws_parse(token, policy));
  CUSTODY_ASSIGN(Jwk key, jws_verify_parsed(jws, keys));
  return VerifiedJws{std::move(jws.header), std::move(jws.payload), jws.alg, std::move(key)};
}

}  // namespace custody::crypto
