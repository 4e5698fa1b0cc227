#include "crypto/jose_encoding.h"

#include <simdjson.h>

#include <array>
#include <cstdint>
#include <vector>

namespace custody::crypto {
namespace {

// Value of each byte as a base64url digit, or -1.
constexpr std::array<std::int8_t, 256> kDigit = [] {
  std::array<std::int8_t, 256> t{};
  t.fill(-1);
  constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  for (int i = 0; i < 64; ++i)
    t[static_cast<unsigned char>(kAlphabet[i])] = static_cast<std::int8_t>(i);
  return t;
}();

}  // namespace

// One pass that validates and decodes: this runs on every part of every token verified, where
// the general decoder (a table built per call, one append per byte) showed up in profiles.
std::optional<std::string> base64url_decode_strict(std::string_view text) {
  const std::size_t rest = text.size() % 4;
  if (rest == 1) return std::nullopt;
  const auto* in = reinterpret_cast<const unsigned char*>(text.data());
  std::string out(text.size() / 4 * 3 + (rest == 0 ? 0 : rest - 1), '\0');
  auto* o = reinterpret_cast<unsigned char*>(out.data());
  const std::size_t whole = text.size() - rest;
  for (std::size_t i = 0; i < whole; i += 4) {
    const int a = kDigit[in[i]], b = kDigit[in[i + 1]], c = kDigit[in[i + 2]],
              d = kDigit[in[i + 3]];
    if ((a | b | c | d) < 0) return std::nullopt;
    const std::uint32_t v = (std::uint32_t(a) << 18) | (std::uint32_t(b) << 12) |
                            (std::uint32_t(c) << 6) | std::uint32_t(d);
    *o++ = static_cast<unsigned char>(v >> 16);
    *o++ = static_cast<unsigned char>(v >> 8);
    *o++ = static_cast<unsigned char>(v);
  }
  // 2 trailing characters carry 12 bits for one byte (4 unused), 3 carry 18 for two (2 unused);
  // the unused bits must be zero.
  if (rest == 2) {
    const int a = kDigit[in[whole]], b = kDigit[in[whole + 1]];
    if ((a | b) < 0 || (b & 0x0f) != 0) return std::nullopt;
    *o = static_cast<unsigned char>((a << 2) | (b >> 4));
  } else if (rest == 3) {
    const int a = kDigit[in[whole]], b = kDigit[in[whole + 1]], c = kDigit[in[whole + 2]];
    if ((a | b | c) < 0 || (c & 0x03) != 0) return std::nullopt;
    o[0] = static_cast<unsigned char>((a << 2) | (b >> 4));
    o[1] = static_cast<unsigned char>(((b & 0x0f) << 4) | (c >> 2));
  }
  return out;
}

namespace {

using nlohmann::json;

// One DOM parser per thread: simdjson's parser keeps its buffers between documents, and is not
// safe to share.
// Its depth limit is one above ours, so that a document nested too deeply (even one that never
// closes) stops at simdjson's limit as DEPTH_ERROR, while StrictCopy decides the exact bound.
simdjson::dom::parser& thread_parser() {
  thread_local simdjson::dom::parser parser = [] {
    simdjson::dom::parser p;
    // On failure parse() tries to allocate again and, failing, refuses every document.
    [[maybe_unused]] const simdjson::error_code allocated =
        p.allocate(simdjson::SIMDJSON_PADDING, kMaxJsonDepth + 1);
    return p;
  }();
  return parser;
}

// Copies simdjson's DOM into nlohmann's, refusing a member name the object already has (checked
// against the object being built, so no extra bookkeeping) and nesting beyond kMaxJsonDepth.
// Numbers keep nlohmann's own types: a non-negative integer is unsigned, a negative one signed,
// anything with a fraction or exponent a double.
class StrictCopy {
 public:
  explicit StrictCopy(StrictJson& out) : out_(out) {}

  bool copy(simdjson::dom::element from, json& to, int depth) {
    using simdjson::dom::element_type;
    switch (from.type()) {
      case element_type::OBJECT: {
        if (depth >= kMaxJsonDepth) return defect(JsonDefect::kTooDeep);
        to = json::object();
        auto& members = to.get_ref<json::object_t&>();
        for (auto [name, value] : simdjson::dom::object(from)) {
          auto [it, inserted] = members.try_emplace(std::string(name));
          if (!inserted) {
            out_.member = std::string(name);
            return defect(JsonDefect::kDuplicateMember);
          }
          if (!copy(value, it->second, depth + 1)) return false;
        }
        return true;
      }
      case element_type::ARRAY: {
        if (depth >= kMaxJsonDepth) return defect(JsonDefect::kTooDeep);
        to = json::array();
        auto& items = to.get_ref<json::array_t&>();
        for (simdjson::dom::element item : simdjson::dom::array(from)) {
          items.emplace_back();
          if (!copy(item, items.back(), depth + 1)) return false;
        }
        return true;
      }
      case element_type::STRING:
        to = std::string(std::string_view(from));
        return true;
      case element_type::INT64: {
        const std::int64_t v = std::int64_t(from);
        to = v < 0 ? json(v) : json(static_cast<std::uint64_t>(v));
        return true;
      }
      case element_type::UINT64:
        to = std::uint64_t(from);
        return true;
      case element_type::DOUBLE:
        to = double(from);
        return true;
      case element_type::BOOL:
        to = bool(from);
        return true;
      case element_type::NULL_VALUE:
        to = nullptr;
        return true;
    }
    return defect(JsonDefect::kSyntax);
  }

 private:
  bool defect(JsonDefect d) {
    out_.defect = d;
    return false;
  }

  StrictJson& out_;
};

}  // namespace

StrictJson parse_json_object_strict(std::string_view text) {
  StrictJson out;
  simdjson::dom::element root;
  // The copy into a padded buffer is simdjson's (realloc_if_needed): `text` has no padding.
  const simdjson::error_code parsed =
      thread_parser().parse(text.data(), text.size(), /*realloc_if_needed=*/true).get(root);
  if (parsed != simdjson::SUCCESS) {
    out.defect = parsed == simdjson::DEPTH_ERROR ? JsonDefect::kTooDeep : JsonDefect::kSyntax;
    return out;
  }
  if (root.type() != simdjson::dom::element_type::OBJECT) {
    out.defect = JsonDefect::kNotObject;
    return out;
  }
  json value;
  if (!StrictCopy(out).copy(root, value, 0)) return out;
  out.value = std::move(value);
  return out;
}

std::string describe(const StrictJson& parsed) {
  switch (parsed.defect) {
    case JsonDefect::kNone:
      return "is valid";
    case JsonDefect::kSyntax:
      return "is not valid JSON";
    case JsonDefect::kNotObject:
      return "is not a JSON object";
    case JsonDefect::kDuplicateMember:
      return "has duplicate member " + quote_untrusted(parsed.member);
    case JsonDefect::kTooDeep:
      return "nests deeper than " + std::to_string(kMaxJsonDepth) + " levels";
  }
  return "is invalid";
}

std::string quote_untrusted(std::string_view text) {
  constexpr std::size_t kMax = 40;
  std::string out = "\"";
  for (char c : text.substr(0, kMax))
    out += (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') ? c : '?';
  if (text.size() > kMax) out += "...";
  return out + "\"";
}

std::optional<std::string> dump_compact(const nlohmann::json& value) {
  try {
    return value.dump();
  } catch (const nlohmann::json::exception&) {
    return std::nullopt;
  }
}

}  // namespace custody::crypto
