// Strict decoders for JOSE input (JWS parts, JWK members, JWT claims). Attacker-controlled bytes
// go through these before anything else looks at them, so they accept exactly one encoding of
// each value: a token that two parsers could read differently is refused, not interpreted.
// Stateless and thread-safe.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

namespace custody::crypto {

// Base64url without padding (RFC 7515 §2), canonical only: no '=', no character outside the
// URL-safe alphabet, no length ≡ 1 (mod 4), and the unused low bits of the last character zero.
// (The permissive common decoder would map several texts to the same bytes, which makes a
// signature malleable and a thumbprint ambiguous.) nullopt on anything else.
std::optional<std::string> base64url_decode_strict(std::string_view text);

// Why strict JSON parsing failed.
enum class JsonDefect { kNone, kSyntax, kNotObject, kDuplicateMember, kTooDeep };

struct StrictJson {
  nlohmann::json value;  // the object; null unless defect == kNone
  JsonDefect defect = JsonDefect::kNone;
  std::string member;  // for kDuplicateMember: the repeated name
};

// Maximum nesting of objects and arrays in a JOSE header or claims set. Delegation chains nest
// "act" a handful of levels deep; nothing legitimate comes near this.
constexpr int kMaxJsonDepth = 32;

// Parses UTF-8 JSON text that must be an object, refusing duplicate member names at any depth
// (nlohmann keeps the last of two equal names silently; another parser may keep the first, so a
// duplicate "alg" or "aud" would mean different things to different readers) and nesting deeper
// than kMaxJsonDepth. Never throws.
StrictJson parse_json_object_strict(std::string_view text);

// Human wording for a defect, e.g. "has duplicate member \"alg\"".
std::string describe(const StrictJson& parsed);

// A string taken from a token, made safe to put in an error message: at most 40 characters,
// anything but printable ASCII (and quotes, backslashes) replaced by '?', in double quotes.
std::string quote_untrusted(std::string_view text);

// Compact JSON text of value; nullopt when it holds a string that is not valid UTF-8 (where
// nlohmann's dump() would throw).
std::optional<std::string> dump_compact(const nlohmann::json& value);

}  // namespace custody::crypto
