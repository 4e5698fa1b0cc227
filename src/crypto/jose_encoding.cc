#include "crypto/jose_encoding.h"

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

// Builds the DOM from nlohmann's SAX events, refusing a member name the open object already has
// (checked against the object itself, so no extra bookkeeping) and nesting beyond the limit.
// Returning false from an event stops the parse.
class StrictDomBuilder {
 public:
  explicit StrictDomBuilder(StrictJson& out) : out_(out) {}

  bool null() { return put(json(nullptr)); }
  bool boolean(bool v) { return put(json(v)); }
  bool number_integer(json::number_integer_t v) { return put(json(v)); }
  bool number_unsigned(json::number_unsigned_t v) { return put(json(v)); }
  bool number_float(json::number_float_t v, const json::string_t& /*text*/) { return put(json(v)); }
  bool string(json::string_t& v) { return put(json(std::move(v))); }
  bool binary(json::binary_t& v) { return put(json::binary(std::move(v))); }
  bool start_object(std::size_t /*size*/) { return open(json::object()); }
  bool start_array(std::size_t /*size*/) { return open(json::array()); }
  bool end_object() { return close(); }
  bool end_array() { return close(); }

  bool key(json::string_t& name) {
    auto& members = open_.back()->get_ref<json::object_t&>();
    auto [it, inserted] = members.try_emplace(name);
    if (!inserted) {
      out_.defect = JsonDefect::kDuplicateMember;
      out_.member = name;
      return false;
    }
    slot_ = &it->second;
    return true;
  }

  bool parse_error(std::size_t /*position*/, const std::string& /*token*/,
                   const json::exception& /*error*/) {
    if (out_.defect == JsonDefect::kNone) out_.defect = JsonDefect::kSyntax;
    return false;
  }

 private:
  // Where the next value goes: the root, the member named by the last key, or the end of the
  // innermost open array. Pointers to open containers stay valid: an array only grows again
  // after its nested container is closed, and map nodes never move.
  json* place(json&& value) {
    if (open_.empty()) {
      out_.value = std::move(value);
      return &out_.value;
    }
    json& top = *open_.back();
    if (top.is_array()) {
      auto& items = top.get_ref<json::array_t&>();
      items.push_back(std::move(value));
      return &items.back();
    }
    *slot_ = std::move(value);
    return slot_;
  }
  bool put(json&& value) {
    place(std::move(value));
    return true;
  }
  bool open(json&& container) {
    if (open_.size() >= static_cast<std::size_t>(kMaxJsonDepth)) {
      out_.defect = JsonDefect::kTooDeep;
      return false;
    }
    open_.push_back(place(std::move(container)));
    return true;
  }
  bool close() {
    open_.pop_back();
    return true;
  }

  StrictJson& out_;
  std::vector<json*> open_;
  json* slot_ = nullptr;
};

}  // namespace

StrictJson parse_json_object_strict(std::string_view text) {
  StrictJson out;
  StrictDomBuilder builder(out);
  const bool parsed = nlohmann::json::sax_parse(text.begin(), text.end(), &builder,
                                                nlohmann::json::input_format_t::json,
                                                /*strict=*/true);
  if (!parsed || out.defect != JsonDefect::kNone) {
    if (out.defect == JsonDefect::kNone) out.defect = JsonDefect::kSyntax;
    out.value = nullptr;
    return out;
  }
  if (!out.value.is_object()) {
    out.defect = JsonDefect::kNotObject;
    out.value = nullptr;
  }
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
