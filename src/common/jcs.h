// RFC 8785 JSON Canonicalization Scheme (JCS): the one byte sequence of a JSON value that custody
// hashes or signs (audit leaves, A2A card signatures). Two values that are equal as I-JSON data
// produce equal bytes, whatever member order or number spelling they arrived with.
//
// Output rules (RFC 8785 §3.2):
// - no whitespace; arrays keep their order;
// - object members sorted by name compared as UTF-16 code units (not UTF-8 bytes), recursively;
// - strings: only '"', '\' and U+0000..U+001F are escaped (\b \t \n \f \r, others \u00xx in
//   lowercase hex); every other character, U+007F and U+2028 included, is written as raw UTF-8;
// - numbers: ECMAScript Number.prototype.toString of the IEEE 754 double: shortest digits that
//   round-trip, plain notation for 1e-7 < |x| < 1e21, else "1e+21" / "1e-7" style; -0 is "0".
//
// Refused with kInvalidArgument, `field` holding the JSON pointer of the offending value:
// - NaN and ±Infinity (JSON has no spelling for them);
// - integers of magnitude above 2^53 held as nlohmann int64/uint64: an I-JSON reader would round
//   them, so two different values would sign alike. Callers put such values in strings;
// - strings or member names that are not valid UTF-8 (overlong forms, encoded surrogates, values
//   above U+10FFFF, truncated sequences);
// - nlohmann binary and discarded values, and nesting deeper than kMaxDepth.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "common/result.h"

namespace custody::jcs {

// Arrays and objects nested deeper than this are refused, so hostile input cannot exhaust the
// stack.
constexpr int kMaxDepth = 512;

// The canonical UTF-8 bytes of `value`.
Result<std::string> canonicalize(const nlohmann::json& value);

// Parses `text` strictly as I-JSON and canonicalizes it. Beyond canonicalize(), refuses text that
// is not JSON, duplicate member names within an object, lone surrogate escapes and invalid UTF-8.
// JSON integers above 2^64 parse as doubles (as ECMAScript's JSON.parse would read them); those
// from 2^53 + 1 to 2^64 are refused as above.
Result<std::string> canonicalize_text(std::string_view text);

// Building blocks for writers that emit a canonical object member by member without building a
// json value first (audit/canonical_event.cc). Each appends to `out`; on error `out` holds a
// partial write and must be discarded.
Status append_value(const nlohmann::json& value, std::string& out);
Status append_string(std::string_view utf8, std::string& out);  // with the quotes
Status append_number(double value, std::string& out);
Status append_integer(std::int64_t value, std::string& out);  // |value| ≤ 2^53

// RFC 8785 §3.2.3 order: true when name `a` sorts before `b` as UTF-16 code unit sequences.
// Both must be valid UTF-8 (the result is unspecified otherwise).
bool name_less(std::string_view a, std::string_view b);

// True when `bytes` is well-formed UTF-8 (RFC 3629): no overlongs, surrogates or values > U+10FFFF.
bool valid_utf8(std::string_view bytes);

}  // namespace custody::jcs
