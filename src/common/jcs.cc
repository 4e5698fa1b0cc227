// RFC 8785 canonical JSON. See jcs.h.
#include "common/jcs.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstring>
#include <set>
#include <vector>

namespace custody::jcs {
namespace {

using nlohmann::json;

constexpr std::uint64_t kMaxExactInteger = std::uint64_t{1} << 53;

// Length of the well-formed UTF-8 sequence that starts at s[i] (a byte ≥ 0x80), or 0 when it is
// ill-formed. The ranges are RFC 3629 §4's: they exclude overlongs (C0, C1, E0 80..9F, F0 80..8F),
// UTF-16 surrogates (ED A0..BF) and code points above U+10FFFF (F4 90.., F5..FF).
std::size_t sequence_length(std::string_view s, std::size_t i) {
  auto at = [&](std::size_t k) -> unsigned {
    return i + k < s.size() ? static_cast<unsigned char>(s[i + k]) : 0u;
  };
  auto cont = [](unsigned b) { return b >= 0x80 && b <= 0xBF; };
  const unsigned c = at(0);
  if (c >= 0xC2 && c <= 0xDF) return cont(at(1)) ? 2 : 0;
  if (c >= 0xE0 && c <= 0xEF) {
    const unsigned lo = c == 0xE0 ? 0xA0 : 0x80, hi = c == 0xED ? 0x9F : 0xBF;
    return at(1) >= lo && at(1) <= hi && cont(at(2)) ? 3 : 0;
  }
  if (c >= 0xF0 && c <= 0xF4) {
    const unsigned lo = c == 0xF0 ? 0x90 : 0x80, hi = c == 0xF4 ? 0x8F : 0xBF;
    return at(1) >= lo && at(1) <= hi && cont(at(2)) && cont(at(3)) ? 4 : 0;
  }
  return 0;
}

// A JSON pointer token for an error's `field`. Invalid UTF-8 in a name becomes U+FFFD so that the
// error itself can be serialised as JSON.
std::string pointer_token(std::string_view name) {
  std::string t;
  for (std::size_t i = 0; i < name.size();) {
    const char c = name[i];
    if (static_cast<unsigned char>(c) >= 0x80) {
      const std::size_t len = sequence_length(name, i);
      if (len == 0) {
        t += "\xEF\xBF\xBD";
        ++i;
      } else {
        t.append(name, i, len);
        i += len;
      }
      continue;
    }
    if (c == '~') {
      t += "~0";
    } else if (c == '/') {
      t += "~1";
    } else {
      t += c;
    }
    ++i;
  }
  return t;
}

// Prefixes the error of `s` (if any) with the pointer token of the member or element it came from.
Status under(Status s, std::string_view token) {
  if (s.ok()) return s;
  Error e = s.error();
  e.field = "/" + pointer_token(token) + e.field;
  return e;
}

Status append_unsigned(std::uint64_t value, bool negative, std::string& out) {
  if (value > kMaxExactInteger)
    return Error::invalid(
        "integer beyond ±2^53 cannot be represented exactly in I-JSON; send it as a string");
  if (negative) out += '-';
  char buf[24];
  const auto r = std::to_chars(buf, buf + sizeof buf, value);
  out.append(buf, r.ptr);
  return ok_status();
}

Status append_at(const json& value, std::string& out, int depth) {
  switch (value.type()) {
    case json::value_t::null:
      out += "null";
      return ok_status();
    case json::value_t::boolean:
      out += value.get<bool>() ? "true" : "false";
      return ok_status();
    case json::value_t::number_integer:
      return append_integer(value.get<std::int64_t>(), out);
    case json::value_t::number_unsigned:
      return append_unsigned(value.get<std::uint64_t>(), false, out);
    case json::value_t::number_float:
      return append_number(value.get<double>(), out);
    case json::value_t::string:
      return append_string(value.get_ref<const std::string&>(), out);
    case json::value_t::array: {
      if (depth >= kMaxDepth) return Error::invalid("JSON nested too deeply");
      out += '[';
      std::size_t i = 0;
      for (const json& element : value) {
        if (i != 0) out += ',';
        CUSTODY_TRY(under(append_at(element, out, depth + 1), std::to_string(i)));
        ++i;
      }
      out += ']';
      return ok_status();
    }
    case json::value_t::object: {
      if (depth >= kMaxDepth) return Error::invalid("JSON nested too deeply");
      const auto& members = value.get_ref<const json::object_t&>();
      std::vector<const json::object_t::value_type*> sorted;
      sorted.reserve(members.size());
      for (const auto& m : members) sorted.push_back(&m);
      // Validate every name first: name_less is only meaningful on valid UTF-8.
      for (const auto* m : sorted)
        if (!valid_utf8(m->first))
          return under(Error::invalid("member name is not valid UTF-8"), m->first);
      // nlohmann keeps members in UTF-8 byte order, which differs from UTF-16 order only around
      // supplementary characters, so this sort rarely moves anything.
      std::sort(sorted.begin(), sorted.end(),
                [](const auto* a, const auto* b) { return name_less(a->first, b->first); });
      out += '{';
      bool first = true;
      for (const auto* m : sorted) {
        if (!first) out += ',';
        first = false;
        CUSTODY_TRY(append_string(m->first, out));
        out += ':';
        CUSTODY_TRY(under(append_at(m->second, out, depth + 1), m->first));
      }
      out += '}';
      return ok_status();
    }
    case json::value_t::binary:
      return Error::invalid("binary values have no JSON form");
    case json::value_t::discarded:
      break;
  }
  return Error::invalid("discarded JSON value");
}

}  // namespace

bool valid_utf8(std::string_view bytes) {
  for (std::size_t i = 0; i < bytes.size();) {
    if (static_cast<unsigned char>(bytes[i]) < 0x80) {
      ++i;
      continue;
    }
    const std::size_t len = sequence_length(bytes, i);
    if (len == 0) return false;
    i += len;
  }
  return true;
}

// UTF-8 byte order is code point order. UTF-16 code unit order agrees with it except that the
// surrogates (D800..DFFF) of a supplementary character (≥ U+10000, lead byte F0..F4) sort below
// U+E000..U+FFFF (lead byte EE or EF). Two valid UTF-8 strings first differ either inside a code
// point that starts at the same offset in both (same lead byte: byte order decides) or at the lead
// bytes themselves; only there can that one inversion apply. So no UTF-16 conversion is needed;
// jcs_test checks this against an explicit conversion.
bool name_less(std::string_view a, std::string_view b) {
  const std::size_t n = std::min(a.size(), b.size());
  std::size_t i = 0;
  while (i < n && a[i] == b[i]) ++i;
  if (i == n) return a.size() < b.size();
  const unsigned x = static_cast<unsigned char>(a[i]);
  const unsigned y = static_cast<unsigned char>(b[i]);
  const bool x_supplementary = x >= 0xF0, y_supplementary = y >= 0xF0;
  const bool x_high_bmp = x == 0xEE || x == 0xEF, y_high_bmp = y == 0xEE || y == 0xEF;
  if (x_supplementary && y_high_bmp) return true;
  if (y_supplementary && x_high_bmp) return false;
  return x < y;
}

Status append_string(std::string_view s, std::string& out) {
  static constexpr char kHex[] = "0123456789abcdef";
  out.reserve(out.size() + s.size() + 2);
  out += '"';
  std::size_t run = 0;  // start of the bytes not yet copied
  std::size_t i = 0;
  while (i < s.size()) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (c >= 0x80) {
      const std::size_t len = sequence_length(s, i);
      if (len == 0)
        return Error::invalid("string is not valid UTF-8 (byte " + std::to_string(i) + ")");
      i += len;
      continue;
    }
    if (c >= 0x20 && c != '"' && c != '\\') {
      ++i;
      continue;
    }
    out.append(s.data() + run, i - run);
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\f':
        out += "\\f";
        break;
      case '\r':
        out += "\\r";
        break;
      default:
        out += "\\u00";
        out += kHex[c >> 4];
        out += kHex[c & 0xF];
    }
    run = ++i;
  }
  out.append(s.data() + run, i - run);
  out += '"';
  return ok_status();
}

// ECMAScript Number::toString (ECMA-262 §6.1.6.1.20): with x = s × 10^(n−k), s the k shortest
// digits that round-trip (nearest to x on a tie, which std::to_chars also guarantees):
//   k ≤ n ≤ 21        digits then n−k zeros        1e20 → "100000000000000000000"
//   0 < n ≤ 21        digits with a point after n  1.5 → "1.5"
//   −6 < n ≤ 0        "0." then −n zeros, digits   1e-6 → "0.000001"
//   otherwise         d[.ddd]e±(n−1)               1e21 → "1e+21", 1e-7 → "1e-7"
Status append_number(double value, std::string& out) {
  if (!std::isfinite(value)) return Error::invalid("NaN and Infinity have no JSON form");
  if (value == 0) {  // both +0 and -0
    out += '0';
    return ok_status();
  }
  char buf[40];
  const auto r = std::to_chars(buf, buf + sizeof buf, value, std::chars_format::scientific);
  // buf is "[-]d[.ddd]e±xx"
  std::string_view sci(buf, static_cast<std::size_t>(r.ptr - buf));
  if (sci.front() == '-') {
    out += '-';
    sci.remove_prefix(1);
  }
  const std::size_t e_pos = sci.find('e');
  char digits[24];
  int k = 0;
  for (char c : sci.substr(0, e_pos))
    if (c != '.') digits[k++] = c;
  int exponent = 0;
  std::string_view exp_text = sci.substr(e_pos + 1);
  const bool exp_negative = exp_text.front() == '-';
  exp_text.remove_prefix(1);  // to_chars always writes the exponent's sign
  std::from_chars(exp_text.data(), exp_text.data() + exp_text.size(), exponent);
  if (exp_negative) exponent = -exponent;
  const int n = exponent + 1;

  if (k <= n && n <= 21) {
    out.append(digits, k);
    out.append(static_cast<std::size_t>(n - k), '0');
  } else if (0 < n && n <= 21) {
    out.append(digits, n);
    out += '.';
    out.append(digits + n, k - n);
  } else if (-6 < n && n <= 0) {
    out += "0.";
    out.append(static_cast<std::size_t>(-n), '0');
    out.append(digits, k);
  } else {
    out += digits[0];
    if (k > 1) {
      out += '.';
      out.append(digits + 1, k - 1);
    }
    out += n - 1 < 0 ? "e-" : "e+";
    char e[8];
    const auto er = std::to_chars(e, e + sizeof e, std::abs(n - 1));
    out.append(e, er.ptr);
  }
  return ok_status();
}

Status append_integer(std::int64_t value, std::string& out) {
  // Negate in unsigned arithmetic: -INT64_MIN overflows int64.
  const bool negative = value < 0;
  const std::uint64_t magnitude =
      negative ? std::uint64_t{0} - static_cast<std::uint64_t>(value) : value;
  return append_unsigned(magnitude, negative, out);
}

Status append_value(const json& value, std::string& out) {
  return append_at(value, out, 0);
}

Result<std::string> canonicalize(const json& value) {
  std::string out;
  CUSTODY_TRY(append_value(value, out));
  return out;
}

Result<std::string> canonicalize_text(std::string_view text) {
  // nlohmann keeps the last of duplicate names silently; I-JSON forbids them, so track the names
  // of every open object while parsing.
  std::vector<std::set<std::string>> open;
  bool duplicate = false;
  json::parser_callback_t track = [&](int, json::parse_event_t event, json& parsed) {
    switch (event) {
      case json::parse_event_t::object_start:
        open.emplace_back();
        break;
      case json::parse_event_t::object_end:
        if (!open.empty()) open.pop_back();
        break;
      case json::parse_event_t::key:
        if (!open.empty() && !open.back().insert(parsed.get<std::string>()).second)
          duplicate = true;
        break;
      default:
        break;
    }
    return true;
  };
  json value;
  try {
    value = json::parse(text, track);
  } catch (const json::parse_error& e) {
    // e.what() quotes the input; only the position is safe to echo.
    return Error::invalid("not valid I-JSON (byte " + std::to_string(e.byte) + ")");
  } catch (const json::exception&) {
    return Error::invalid("not valid I-JSON");
  }
  if (duplicate) return Error::invalid("duplicate member name in a JSON object");
  return canonicalize(value);
}

}  // namespace custody::jcs
