#include "crypto/jose_encoding.h"

#include <vector>

#include "common/encoding.h"

namespace custody::crypto {
namespace {

// Value of a base64url character, or -1.
int b64url_value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '-') return 62;
  if (c == '_') return 63;
  return -1;
}

}  // namespace

std::optional<std::string> base64url_decode_strict(std::string_view text) {
  if (text.size() % 4 == 1) return std::nullopt;
  for (char c : text) {
    if (b64url_value(c) < 0) return std::nullopt;
  }
  if (!text.empty()) {
    // 2 trailing characters carry 12 bits for one byte (4 unused), 3 carry 18 for two (2 unused).
    const int last = b64url_value(text.back());
    if (text.size() % 4 == 2 && (last & 0x0f) != 0) return std::nullopt;
    if (text.size() % 4 == 3 && (last & 0x03) != 0) return std::nullopt;
  }
  return base64url_decode(text);
}

StrictJson parse_json_object_strict(std::string_view text) {
  using nlohmann::json;
  StrictJson out;
  // One list of member names per open object; an entry per open array keeps the depths aligned.
  std::vector<std::vector<std::string>> open;
  auto callback = [&](int depth, json::parse_event_t event, json& parsed) {
    if (out.defect != JsonDefect::kNone) return false;
    switch (event) {
      case json::parse_event_t::object_start:
      case json::parse_event_t::array_start:
        if (depth >= kMaxJsonDepth) {
          out.defect = JsonDefect::kTooDeep;
          return false;
        }
        open.emplace_back();
        break;
      case json::parse_event_t::object_end:
      case json::parse_event_t::array_end:
        if (!open.empty()) open.pop_back();
        break;
      case json::parse_event_t::key: {
        if (open.empty() || !parsed.is_string()) break;
        const std::string& name = parsed.get_ref<const std::string&>();
        for (const std::string& seen : open.back()) {
          if (seen == name) {
            out.defect = JsonDefect::kDuplicateMember;
            out.member = name;
            return false;
          }
        }
        open.back().push_back(name);
        break;
      }
      case json::parse_event_t::value:
        break;
    }
    return true;
  };
  json value = json::parse(text.begin(), text.end(), callback, /*allow_exceptions=*/false);
  if (out.defect != JsonDefect::kNone) return out;
  if (value.is_discarded()) {
    out.defect = JsonDefect::kSyntax;
    return out;
  }
  if (!value.is_object()) {
    out.defect = JsonDefect::kNotObject;
    return out;
  }
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
    case JsonDefect::kDuplicateMember: {
      // The name comes from the token: quote at most a short printable prefix of it.
      std::string name;
      for (char c : parsed.member.substr(0, 40)) name += (c >= 0x20 && c < 0x7f) ? c : '?';
      return "has duplicate member \"" + name + "\"";
    }
    case JsonDefect::kTooDeep:
      return "nests deeper than " + std::to_string(kMaxJsonDepth) + " levels";
  }
  return "is invalid";
}

std::optional<std::string> dump_compact(const nlohmann::json& value) {
  try {
    return value.dump();
  } catch (const nlohmann::json::exception&) {
    return std::nullopt;
  }
}

}  // namespace custody::crypto
