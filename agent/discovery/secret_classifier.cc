#include "discovery/secret_classifier.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <cmath>
#include <regex>

#include "common/encoding.h"
#include "crypto/keyed_hash.h"

namespace custody::discovery {

namespace {

std::string upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

double shannon_bits_per_char(std::string_view s) {
  std::array<int, 256> counts{};
  for (unsigned char c : s) ++counts[c];
  double h = 0;
  for (int c : counts) {
    if (c == 0) continue;
    double p = static_cast<double>(c) / static_cast<double>(s.size());
    h -= p * std::log2(p);
  }
  return h;
}

bool looks_high_entropy(std::string_view s) {
  if (s.size() < 20) return false;
  bool lower = false, up = false, digit = false;
  for (char c : s) {
    if (std::isspace(static_cast<unsigned char>(c))) return false;  // prose, not a key
    lower |= std::islower(static_cast<unsigned char>(c)) != 0;
    up |= std::isupper(static_cast<unsigned char>(c)) != 0;
    digit |= std::isdigit(static_cast<unsigned char>(c)) != 0;
  }
  if (s.find('/') != std::string_view::npos && s.front() == '/') return false;  // a path
  int classes = int(lower) + int(up) + int(digit);
  return classes >= 2 && shannon_bits_per_char(s) >= 3.5;
}

struct Pattern {
  const char* name;
  std::regex re;
};

const std::vector<Pattern>& patterns() {
  // Prefixes are general knowledge (DISCOVERY.md §4), not each vendor's exact grammar: a hit says
  // "looks like", which is what the report claims. Order: most specific first.
  static const std::vector<Pattern> kPatterns = [] {
    auto rx = [](const char* s) { return std::regex(s, std::regex::ECMAScript); };
    return std::vector<Pattern>{
        {"github-token", rx("^(gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,})$")},
        {"anthropic-key", rx("^sk-ant-[A-Za-z0-9_\\-]{10,}$")},
        {"openai-key", rx("^sk-[A-Za-z0-9_\\-]{16,}$")},
        {"slack-token", rx("^xox[abposr]-[A-Za-z0-9\\-]{10,}$")},
        {"aws-access-key", rx("^(AKIA|ASIA)[A-Z0-9]{16}$")},
        {"google-api-key", rx("^AIza[A-Za-z0-9_\\-]{30,}$")},
        {"gitlab-token", rx("^glpat-[A-Za-z0-9_\\-]{16,}$")},
        {"jwt", rx("^eyJ[A-Za-z0-9_\\-]+\\.eyJ[A-Za-z0-9_\\-]+\\.[A-Za-z0-9_\\-]*$")},
    };
  }();
  return kPatterns;
}

const std::regex& reference_re() {
  // One reference token in any of the syntaxes clients expand.
  static const std::regex kRe(
      "\\$\\{\\{\\s*secrets\\.([A-Za-z0-9_\\-]+)\\s*\\}\\}"  // Continue
      "|\\$\\{(env|input|file):([^}]+)\\}"                   // ${env:X} ${input:x} ${file:/p}
      "|\\{env:([A-Za-z_][A-Za-z0-9_]*)\\}"                  // opencode {env:X}
      "|\\$\\{([A-Za-z_][A-Za-z0-9_]*)(:-[^}]*)?\\}"         // ${X} ${X:-default}
      "|\\$([A-Za-z_][A-Za-z0-9_]*)"                         // $X
      "|%([A-Za-z_][A-Za-z0-9_]*)%",                         // %X%
      std::regex::ECMAScript);
  return kRe;
}

// Longest value matched against the patterns; credentials are far shorter.
constexpr std::size_t kMaxPatternInput = 2048;

}  // namespace

bool SecretClassifier::is_reference(std::string_view value, std::string* name) {
  if (value.size() > kMaxPatternInput) return false;
  std::string v(value);
  std::smatch m;
  if (!std::regex_search(v, m, reference_re())) return false;
  std::string rest = m.prefix().str() + m.suffix().str();
  // What is left may only be an auth scheme word and spaces: "Bearer ${TOKEN}".
  std::string trimmed;
  for (char c : rest) {
    if (!std::isspace(static_cast<unsigned char>(c))) trimmed += c;
  }
  std::string up = upper(trimmed);
  if (!(trimmed.empty() || up == "BEARER" || up == "TOKEN" || up == "BASIC")) return false;
  if (name) {
    if (m[1].matched) {
      *name = "secrets." + m[1].str();
    } else if (m[2].matched) {
      *name = m[2].str() + ":" + m[3].str();
    } else {
      for (int g : {4, 5, 7, 8}) {
        if (m[g].matched) *name = m[g].str();
      }
    }
  }
  return true;
}

std::string SecretClassifier::pattern_of(std::string_view value) {
  // libstdc++'s regex recurses per character: a multi-megabyte value would exhaust the stack.
  // Nothing that long is a token; it is still a literal, of unknown shape.
  if (value.size() > kMaxPatternInput) return "oversized";
  std::string v(value);
  std::string up = upper(v.substr(0, 7));
  if (up.rfind("BEARER ", 0) == 0) {
    std::string inner = pattern_of(std::string_view(v).substr(7));
    return inner.empty() ? "bearer-literal" : inner;
  }
  if (up.rfind("BASIC ", 0) == 0) return "basic-literal";
  for (const auto& p : patterns()) {
    if (std::regex_match(v, p.re)) return p.name;
  }
  if (looks_high_entropy(v)) return "high-entropy";
  return "";
}

bool SecretClassifier::secret_like_name(std::string_view name) {
  // Long words match anywhere ("GITHUB_PERSONAL_ACCESS_TOKEN", "clientSecret"); short ones only
  // as a whole word, so that PATH, PATTERN, KEYBOARD or BYPASS are not credentials.
  static const std::array<const char*, 11> kAnywhere = {
      "TOKEN", "SECRET", "PASSWORD", "PASSWD", "CREDENTIAL", "APIKEY",
      "AUTH",  "COOKIE", "PRIVATE",  "BEARER", "SESSION"};
  static const std::array<const char*, 4> kWords = {"KEY", "PAT", "PASS", "PWD"};
  std::string up = upper(name);
  for (const char* w : kAnywhere) {
    if (up.find(w) != std::string::npos) return true;
  }
  // Words: split at non-alphanumerics and at lower-to-upper case changes ("apiKey").
  std::string word;
  auto check = [&]() {
    std::string w = upper(word);
    word.clear();
    for (const char* k : kWords) {
      if (w == k) return true;
    }
    return false;
  };
  for (std::size_t i = 0; i < name.size(); ++i) {
    char c = name[i];
    bool boundary = !std::isalnum(static_cast<unsigned char>(c)) ||
                    (i > 0 && std::isupper(static_cast<unsigned char>(c)) &&
                     std::islower(static_cast<unsigned char>(name[i - 1])));
    if (boundary && !word.empty() && check()) return true;
    if (std::isalnum(static_cast<unsigned char>(c))) word += c;
  }
  return !word.empty() && check();
}

bool SecretClassifier::plausible_credential(std::string_view value) {
  if (value.empty() || is_reference(value)) return true;
  std::string pat = pattern_of(value);
  if (!pat.empty() && pat != "high-entropy") return true;
  if (std::all_of(value.begin(), value.end(),
                  [](char c) { return std::isdigit(static_cast<unsigned char>(c)) != 0; }))
    return false;
  std::string up = upper(value);
  if (up == "TRUE" || up == "FALSE" || up == "YES" || up == "NO" || up == "ON" || up == "OFF")
    return false;
  if (value[0] == '/' || value.substr(0, 2) == "~/" || value.substr(0, 2) == "./" ||
      value.substr(0, 3) == "../")
    return false;
  return true;
}

SecretFlag SecretClassifier::classify(std::string field, std::string_view value) const {
  SecretFlag f;
  f.field = std::move(field);
  f.length = value.size();
  if (value.empty()) {
    f.classification = SecretClass::kEmpty;
    return f;
  }
  std::string ref;
  if (is_reference(value, &ref)) {
    f.classification = SecretClass::kReference;
    f.reference = ref;
    return f;
  }
  f.classification = SecretClass::kLiteral;
  f.pattern = pattern_of(value);
  if (f.pattern.empty()) f.pattern = "literal";
  f.hmac = hex_encode(crypto::hmac_sha256(key_, value));
  return f;
}

}  // namespace custody::discovery
