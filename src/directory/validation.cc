#include "directory/validation.h"

#include <set>

namespace custody::directory::validation {
namespace {

constexpr std::size_t kMaxLabels = 64;
constexpr std::size_t kMaxLabelKey = 63;
constexpr std::size_t kMaxLabelValue = 256;
constexpr std::size_t kMaxTools = 256;
constexpr std::size_t kMaxToolName = 256;

// Decodes the code points of valid UTF-8 into `out` (when given); false on invalid input.
bool decode_utf8(std::string_view s, std::vector<char32_t>* out) {
  std::size_t i = 0;
  while (i < s.size()) {
    const auto b0 = static_cast<unsigned char>(s[i]);
    char32_t cp = 0;
    std::size_t n = 0;
    if (b0 < 0x80) {
      cp = b0;
      n = 1;
    } else if (b0 >= 0xc2 && b0 <= 0xdf) {
      cp = b0 & 0x1f;
      n = 2;
    } else if (b0 >= 0xe0 && b0 <= 0xef) {
      cp = b0 & 0x0f;
      n = 3;
    } else if (b0 >= 0xf0 && b0 <= 0xf4) {
      cp = b0 & 0x07;
      n = 4;
    } else {
      return false;
    }
    if (i + n > s.size()) return false;
    for (std::size_t k = 1; k < n; ++k) {
      const auto b = static_cast<unsigned char>(s[i + k]);
      if ((b & 0xc0) != 0x80) return false;
      cp = (cp << 6) | (b & 0x3f);
    }
    // Overlong forms, UTF-16 surrogates and values past U+10FFFF are not valid UTF-8.
    if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
        (cp >= 0xd800 && cp <= 0xdfff))
      return false;
    if (out) out->push_back(cp);
    i += n;
  }
  return true;
}

bool is_control(char32_t cp) {
  return cp < 0x20 || (cp >= 0x7f && cp <= 0x9f);
}

Status check_utf8(std::string_view text, std::size_t min, std::size_t max, const char* field,
                  bool allow_line_breaks) {
  std::vector<char32_t> cps;
  if (!decode_utf8(text, &cps))
    return Error::invalid(std::string(field) + " is not valid UTF-8", field);
  if (cps.size() < min || cps.size() > max) {
    return Error::invalid(std::string(field) + " must be " + std::to_string(min) + " to " +
                              std::to_string(max) + " characters",
                          field);
  }
  for (char32_t cp : cps) {
    if (allow_line_breaks && (cp == '\n' || cp == '\r' || cp == '\t')) continue;
    if (is_control(cp))
      return Error::invalid(std::string(field) + " contains a control character", field);
  }
  return ok_status();
}

bool is_label_key_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-' ||
         c == '/';
}

}  // namespace

std::optional<std::size_t> utf8_length(std::string_view text) {
  std::vector<char32_t> cps;
  if (!decode_utf8(text, &cps)) return std::nullopt;
  return cps.size();
}

Status check_name(std::string_view text, std::size_t min, std::size_t max, const char* field) {
  CUSTODY_TRY(check_utf8(text, min, max, field, false));
  // A name of only spaces shows as blank everywhere it is listed.
  if (min > 0 && text.find_first_not_of(' ') == std::string_view::npos)
    return Error::invalid(std::string(field) + " must not be blank", field);
  return ok_status();
}

Status check_text(std::string_view text, std::size_t min, std::size_t max, const char* field) {
  return check_utf8(text, min, max, field, true);
}

Status check_token(std::string_view text, std::size_t min, std::size_t max, const char* field) {
  if (text.size() < min || text.size() > max) {
    return Error::invalid(std::string(field) + " must be " + std::to_string(min) + " to " +
                              std::to_string(max) + " characters",
                          field);
  }
  for (char c : text) {
    if (c < 0x21 || c > 0x7e)
      return Error::invalid(std::string(field) + " must be printable ASCII without spaces", field);
  }
  return ok_status();
}

Status check_labels(const std::map<std::string, std::string>& labels) {
  if (labels.size() > kMaxLabels)
    return Error::invalid("at most " + std::to_string(kMaxLabels) + " labels", "labels");
  for (const auto& [key, value] : labels) {
    if (key.empty() || key.size() > kMaxLabelKey)
      return Error::invalid("label keys must be 1 to 63 characters", "labels");
    for (char c : key) {
      // The key is not echoed: it may hold bytes that do not belong in a JSON message.
      if (!is_label_key_char(c))
        return Error::invalid("label keys may use only a-z 0-9 _ . - /", "labels");
    }
    std::vector<char32_t> cps;
    if (!decode_utf8(value, &cps) || cps.size() > kMaxLabelValue)
      return Error::invalid("label \"" + key + "\" needs a UTF-8 value of at most 256 characters",
                            "labels");
    for (char32_t cp : cps) {
      if (is_control(cp))
        return Error::invalid("label \"" + key + "\" has a control character", "labels");
    }
  }
  return ok_status();
}

Status check_scope(std::string_view scope) {
  return check_token(scope, 1, 256, "scope");
}

Status check_resource(std::string_view resource) {
  CUSTODY_TRY(check_token(resource, 1, 2048, "resource"));
  // A resource that is a URI (it has a scheme) must be absolute without a fragment (RFC 8707).
  const auto colon = resource.find(':');
  if (colon != std::string_view::npos && colon > 0) {
    const std::string_view scheme = resource.substr(0, colon);
    const bool is_scheme =
        ((scheme[0] | 0x20) >= 'a' && (scheme[0] | 0x20) <= 'z') &&
        scheme.find_first_not_of(
            "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+-.") ==
            std::string_view::npos;
    if (is_scheme && resource.find('#') != std::string_view::npos)
      return Error::invalid("resource must not contain a fragment", "resource");
  }
  return ok_status();
}

Status check_tools(const std::vector<std::string>& tools) {
  if (tools.empty())
    return Error::invalid("tools must not be empty; omit it to allow every tool", "tools");
  if (tools.size() > kMaxTools)
    return Error::invalid("at most " + std::to_string(kMaxTools) + " tools", "tools");
  std::set<std::string_view> seen;
  for (const auto& tool : tools) {
    CUSTODY_TRY(check_utf8(tool, 1, kMaxToolName, "tools", false));
    if (!seen.insert(tool).second)
      return Error::invalid("tool \"" + tool + "\" is listed twice", "tools");
  }
  return ok_status();
}

}  // namespace custody::directory::validation
