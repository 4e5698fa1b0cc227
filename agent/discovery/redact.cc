#include "discovery/redact.h"

#include <array>
#include <cctype>

namespace custody::discovery {

namespace {

bool looks_like_url(std::string_view s) {
  return s.rfind("http://", 0) == 0 || s.rfind("https://", 0) == 0 || s.rfind("ws://", 0) == 0 ||
         s.rfind("wss://", 0) == 0;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// Length of the well-formed UTF-8 sequence at the start of `s`, 0 when there is none.
std::size_t utf8_sequence(std::string_view s) {
  auto b = [&](std::size_t i) { return static_cast<unsigned char>(s[i]); };
  auto cont = [&](std::size_t i, unsigned lo = 0x80, unsigned hi = 0xBF) {
    return i < s.size() && b(i) >= lo && b(i) <= hi;
  };
  unsigned c = b(0);
  if (c < 0x80) return 1;
  if (c >= 0xC2 && c <= 0xDF) return cont(1) ? 2 : 0;
  if (c >= 0xE0 && c <= 0xEF) {
    unsigned lo = c == 0xE0 ? 0xA0 : 0x80;  // no overlong forms
    unsigned hi = c == 0xED ? 0x9F : 0xBF;  // no surrogates
    return cont(1, lo, hi) && cont(2) ? 3 : 0;
  }
  if (c >= 0xF0 && c <= 0xF4) {
    unsigned lo = c == 0xF0 ? 0x90 : 0x80;
    unsigned hi = c == 0xF4 ? 0x8F : 0xBF;  // nothing above U+10FFFF
    return cont(1, lo, hi) && cont(2) && cont(3) ? 4 : 0;
  }
  return 0;
}

}  // namespace

std::string utf8_or_replaced(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  while (!s.empty()) {
    std::size_t n = utf8_sequence(s);
    if (n == 0) {
      out += '?';
      n = 1;
    } else {
      out.append(s.substr(0, n));
    }
    s.remove_prefix(n);
  }
  return out;
}

bool Redactor::credential_flag(std::string_view flag) {
  if (flag.size() < 2 || flag[0] != '-') return false;
  std::string f = lower(flag.substr(0, flag.find('=')));
  if (f == "-h" || f == "--header") return true;
  if (f.rfind("--", 0) != 0) return false;
  static const std::array<const char*, 8> kWords = {"token",  "secret", "key",    "password",
                                                    "passwd", "auth",   "bearer", "credential"};
  for (const char* w : kWords) {
    if (f.find(w) != std::string::npos) return true;
  }
  return false;
}

std::string Redactor::path(std::string_view p) const {
  for (const auto& h : homes_) {
    if (h.empty()) continue;
    if (p == h) return "~";
    if (p.size() > h.size() && p.substr(0, h.size()) == h && p[h.size()] == '/') {
      return "~" + std::string(p.substr(h.size()));
    }
  }
  // A Windows path (C:\Users\alice\x or C:/Users/alice/x) under a home (/Users/alice): the
  // drive letter is dropped and the home compared without regard to case, as Windows does.
  if (p.size() > 2 && p[1] == ':' && std::isalpha(static_cast<unsigned char>(p[0]))) {
    std::string rest = lower(p.substr(2));
    for (char& c : rest) c = c == '\\' ? '/' : c;
    for (const auto& h : homes_) {
      std::string lh = lower(h);
      if (lh.empty() || rest.compare(0, lh.size(), lh) != 0) continue;
      if (rest.size() == lh.size()) return "~";
      if (rest[lh.size()] == '/') return "~" + std::string(p.substr(2 + lh.size()));
    }
  }
  return std::string(p);
}

std::vector<std::string> Redactor::args(const std::vector<std::string>& in,
                                        std::string_view field_prefix,
                                        std::vector<SecretFlag>& flags) const {
  std::vector<std::string> out;
  out.reserve(in.size());
  auto field = [&](std::size_t i) {
    return std::string(field_prefix) + ".args[" + std::to_string(i) + "]";
  };
  // For "-H 'Authorization: Bearer x'" the credential is the header's value.
  auto header_value = [](std::string_view v) {
    auto colon = v.find(':');
    if (colon == std::string_view::npos || v.substr(0, colon).find(' ') != std::string_view::npos)
      return v;
    v.remove_prefix(colon + 1);
    while (!v.empty() && v.front() == ' ') v.remove_prefix(1);
    return v;
  };
  bool value_is_credential = false;
  for (std::size_t i = 0; i < in.size(); ++i) {
    const std::string& a = in[i];
    // A port after --oauth-port or a path after --key-file is no credential: kept (paths with
    // the home shortened) and not flagged.
    if (value_is_credential) {
      value_is_credential = false;
      std::string_view v = header_value(a);
      if (!SecretClassifier::plausible_credential(v)) {
        out.push_back(path(a));
        continue;
      }
      flags.push_back(classifier_.classify(field(i), v));
      out.emplace_back(kRedacted);
      continue;
    }
    if (credential_flag(a)) {
      auto eq = a.find('=');
      if (eq == std::string::npos) {
        value_is_credential = true;
        out.push_back(a);
      } else if (std::string_view v = header_value(std::string_view(a).substr(eq + 1));
                 !SecretClassifier::plausible_credential(v)) {
        out.push_back(a.substr(0, eq + 1) + path(a.substr(eq + 1)));
      } else {
        flags.push_back(classifier_.classify(field(i), v));
        out.push_back(a.substr(0, eq + 1) + std::string(kRedacted));
      }
      continue;
    }
    if (looks_like_url(a)) {
      out.push_back(url(a, field(i), flags));
      continue;
    }
    // NAME=value (docker -e, env wrappers) with a credential-like name.
    auto eq = a.find('=');
    if (eq != std::string::npos && eq > 0 && a[0] != '-' &&
        SecretClassifier::secret_like_name(a.substr(0, eq)) &&
        SecretClassifier::plausible_credential(std::string_view(a).substr(eq + 1))) {
      flags.push_back(classifier_.classify(field(i), a.substr(eq + 1)));
      out.push_back(a.substr(0, eq + 1) + std::string(kRedacted));
      continue;
    }
    std::string pat = SecretClassifier::pattern_of(a);
    // A bare argument that matches a vendor pattern is a credential; "high-entropy" alone is not
    // enough here (hashes, image digests and base64 paths are normal arguments).
    if (!pat.empty() && pat != "high-entropy") {
      flags.push_back(classifier_.classify(field(i), a));
      out.emplace_back(kRedacted);
      continue;
    }
    out.push_back(path(a));
  }
  return out;
}

std::string Redactor::url(std::string_view u, std::string_view field,
                          std::vector<SecretFlag>& flags) const {
  std::string out;
  auto scheme_end = u.find("://");
  std::string_view rest = u;
  if (scheme_end != std::string_view::npos) {
    out = std::string(u.substr(0, scheme_end + 3));
    rest = u.substr(scheme_end + 3);
  }
  // Authority ends at the first '/', '?' or '#'.
  auto auth_end = rest.find_first_of("/?#");
  std::string_view authority = rest.substr(0, auth_end);
  auto at = authority.rfind('@');
  if (at != std::string_view::npos) {
    std::string_view userinfo = authority.substr(0, at);
    auto colon = userinfo.find(':');
    std::string_view secret =
        colon == std::string_view::npos ? userinfo : userinfo.substr(colon + 1);
    flags.push_back(classifier_.classify(std::string(field) + "#userinfo", secret));
    authority = authority.substr(at + 1);
  }
  out += authority;
  if (auth_end == std::string_view::npos) return out;
  rest = rest.substr(auth_end);
  auto q = rest.find('?');
  if (q == std::string_view::npos) {
    out += rest;
    return out;
  }
  out += rest.substr(0, q);
  std::string_view query = rest.substr(q + 1);
  std::string_view fragment;
  auto hash = query.find('#');
  if (hash != std::string_view::npos) {
    fragment = query.substr(hash);
    query = query.substr(0, hash);
  }
  out += '?';
  bool first = true;
  while (!query.empty()) {
    auto amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
    auto eq = pair.find('=');
    std::string_view name = pair.substr(0, eq);
    if (!first) out += '&';
    first = false;
    out += name;
    if (eq == std::string_view::npos) continue;
    std::string_view value = pair.substr(eq + 1);
    if ((SecretClassifier::secret_like_name(name) &&
         SecretClassifier::plausible_credential(value)) ||
        !SecretClassifier::pattern_of(value).empty()) {
      flags.push_back(classifier_.classify(std::string(field) + "?" + std::string(name), value));
    }
    out += '=';
    out += kRedacted;
  }
  out += fragment;
  return out;
}

}  // namespace custody::discovery
