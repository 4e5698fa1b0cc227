#include "policy/cedar/extensions.h"

#include <cstdio>

namespace custody::cedar {
namespace {

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Decimal digits without a leading zero (except "0"), at most max_len of them, value ≤ max.
std::optional<int> parse_small_number(std::string_view s, std::size_t max_len, int max) {
  if (s.empty() || s.size() > max_len) return std::nullopt;
  if (s[0] == '0' && s.size() > 1) return std::nullopt;
  int n = 0;
  for (char c : s) {
    if (!is_digit(c)) return std::nullopt;
    n = n * 10 + (c - '0');
  }
  if (n > max) return std::nullopt;
  return n;
}

std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> parts;
  std::size_t start = 0;
  while (true) {
    std::size_t pos = s.find(sep, start);
    if (pos == std::string_view::npos) {
      parts.push_back(s.substr(start));
      return parts;
    }
    parts.push_back(s.substr(start, pos - start));
    start = pos + 1;
  }
}

bool parse_ipv4(std::string_view s, ExtensionValue& out) {
  auto parts = split(s, '.');
  if (parts.size() != 4) return false;
  for (int i = 0; i < 4; ++i) {
    auto n = parse_small_number(parts[i], 3, 255);
    if (!n) return false;
    out.addr[i] = static_cast<uint8_t>(*n);
  }
  return true;
}

bool parse_ipv6_groups(std::string_view s, std::vector<uint16_t>& groups) {
  if (s.empty()) return true;
  for (auto part : split(s, ':')) {
    if (part.empty() || part.size() > 4) return false;
    int n = 0;
    for (char c : part) {
      int h = hex_value(c);
      if (h < 0) return false;
      n = n * 16 + h;
    }
    groups.push_back(static_cast<uint16_t>(n));
  }
  return true;
}

bool parse_ipv6(std::string_view s, ExtensionValue& out) {
  std::vector<uint16_t> groups;
  std::size_t gap = s.find("::");
  if (gap == std::string_view::npos) {
    if (!parse_ipv6_groups(s, groups) || groups.size() != 8) return false;
  } else {
    if (s.find("::", gap + 1) != std::string_view::npos) return false;
    std::vector<uint16_t> head, tail;
    if (!parse_ipv6_groups(s.substr(0, gap), head)) return false;
    if (!parse_ipv6_groups(s.substr(gap + 2), tail)) return false;
    if (head.size() + tail.size() >= 8) return false;
    groups = head;
    groups.resize(8 - tail.size(), 0);
    groups.insert(groups.end(), tail.begin(), tail.end());
  }
  for (int i = 0; i < 8; ++i) {
    out.addr[2 * i] = static_cast<uint8_t>(groups[i] >> 8);
    out.addr[2 * i + 1] = static_cast<uint8_t>(groups[i] & 0xff);
  }
  return true;
}

// The lowest and highest address of the range, as 128-bit numbers.
std::pair<unsigned __int128, unsigned __int128> ip_range(const ExtensionValue& ip) {
  unsigned __int128 n = 0;
  int bytes = ip.v6 ? 16 : 4;
  for (int i = 0; i < bytes; ++i) n = (n << 8) | ip.addr[i];
  int width = (ip.v6 ? 128 : 32) - ip.prefix;
  unsigned __int128 span = width >= 128 ? ~static_cast<unsigned __int128>(0)
                                        : (static_cast<unsigned __int128>(1) << width) - 1;
  unsigned __int128 lo = n & ~span;
  return {lo, lo + span};
}

std::optional<int64_t> fits(__int128 n) {
  if (n < INT64_MIN || n > INT64_MAX) return std::nullopt;
  return static_cast<int64_t>(n);
}

// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

bool is_leap(int y) {
  return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

int days_in_month(int y, int m) {
  static const int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && is_leap(y) ? 29 : kDays[m - 1];
}

// Exactly `n` decimal digits at s[pos..].
std::optional<int> fixed_digits(std::string_view s, std::size_t pos, std::size_t n) {
  if (pos + n > s.size()) return std::nullopt;
  int v = 0;
  for (std::size_t i = pos; i < pos + n; ++i) {
    if (!is_digit(s[i])) return std::nullopt;
    v = v * 10 + (s[i] - '0');
  }
  return v;
}

}  // namespace

std::optional<int64_t> checked_add(int64_t a, int64_t b) {
  int64_t r;
  if (__builtin_add_overflow(a, b, &r)) return std::nullopt;
  return r;
}
std::optional<int64_t> checked_sub(int64_t a, int64_t b) {
  int64_t r;
  if (__builtin_sub_overflow(a, b, &r)) return std::nullopt;
  return r;
}
std::optional<int64_t> checked_mul(int64_t a, int64_t b) {
  int64_t r;
  if (__builtin_mul_overflow(a, b, &r)) return std::nullopt;
  return r;
}

std::optional<ExtensionValue> parse_ipaddr(std::string_view text) {
  ExtensionValue v;
  v.kind = ExtensionKind::kIpAddr;
  auto parts = split(text, '/');
  if (parts.size() > 2) return std::nullopt;
  if (parse_ipv4(parts[0], v)) {
    v.v6 = false;
    v.prefix = 32;
    if (parts.size() == 2) {
      auto p = parse_small_number(parts[1], 2, 32);
      if (!p) return std::nullopt;
      v.prefix = static_cast<uint8_t>(*p);
    }
    return v;
  }
  v.addr = {};
  if (!parse_ipv6(parts[0], v)) return std::nullopt;
  v.v6 = true;
  v.prefix = 128;
  if (parts.size() == 2) {
    auto p = parse_small_number(parts[1], 3, 128);
    if (!p) return std::nullopt;
    v.prefix = static_cast<uint8_t>(*p);
  }
  return v;
}

std::optional<ExtensionValue> parse_decimal(std::string_view text) {
  std::string_view s = text;
  bool negative = false;
  if (!s.empty() && s[0] == '-') {
    negative = true;
    s.remove_prefix(1);
  }
  std::size_t dot = s.find('.');
  if (dot == std::string_view::npos || dot == 0) return std::nullopt;
  std::string_view whole = s.substr(0, dot), frac = s.substr(dot + 1);
  if (frac.empty() || frac.size() > 4) return std::nullopt;
  __int128 n = 0;
  for (char c : whole) {
    if (!is_digit(c)) return std::nullopt;
    n = n * 10 + (c - '0');
    if (n > static_cast<__int128>(INT64_MAX) + 1) return std::nullopt;
  }
  int scale = 1;
  int f = 0;
  for (char c : frac) {
    if (!is_digit(c)) return std::nullopt;
    f = f * 10 + (c - '0');
    scale *= 10;
  }
  n = n * 10000 + static_cast<__int128>(f) * (10000 / scale);
  if (negative) n = -n;
  auto r = fits(n);
  if (!r) return std::nullopt;
  ExtensionValue v;
  v.kind = ExtensionKind::kDecimal;
  v.number = *r;
  return v;
}

std::optional<ExtensionValue> parse_datetime(std::string_view s) {
  // Date part: YYYY-MM-DD.
  auto year = fixed_digits(s, 0, 4);
  if (!year || s.size() < 10 || s[4] != '-' || s[7] != '-') return std::nullopt;
  auto month = fixed_digits(s, 5, 2), day = fixed_digits(s, 8, 2);
  if (!month || !day || *month < 1 || *month > 12 || *day < 1 ||
      *day > days_in_month(*year, *month))
    return std::nullopt;
  __int128 ms = static_cast<__int128>(days_from_civil(*year, *month, *day)) * 86400000;
  if (s.size() > 10) {
    // Time part: Thh:mm:ss[.SSS](Z|±hhmm).
    if (s.size() < 20 || s[10] != 'T' || s[13] != ':' || s[16] != ':') return std::nullopt;
    auto h = fixed_digits(s, 11, 2), mi = fixed_digits(s, 14, 2), sec = fixed_digits(s, 17, 2);
    if (!h || !mi || !sec || *h > 23 || *mi > 59 || *sec > 59) return std::nullopt;
    std::size_t pos = 19;
    int millis = 0;
    if (s[pos] == '.') {
      auto m = fixed_digits(s, pos + 1, 3);
      if (!m) return std::nullopt;
      millis = *m;
      pos += 4;
    }
    if (pos >= s.size()) return std::nullopt;
    int64_t offset_ms = 0;
    if (s[pos] == 'Z') {
      if (pos + 1 != s.size()) return std::nullopt;
    } else if (s[pos] == '+' || s[pos] == '-') {
      if (pos + 5 != s.size()) return std::nullopt;
      auto oh = fixed_digits(s, pos + 1, 2), om = fixed_digits(s, pos + 3, 2);
      if (!oh || !om || *oh > 23 || *om > 59) return std::nullopt;
      offset_ms = (static_cast<int64_t>(*oh) * 60 + *om) * 60000;
      if (s[pos] == '-') offset_ms = -offset_ms;
    } else {
      return std::nullopt;
    }
    ms += ((static_cast<int64_t>(*h) * 60 + *mi) * 60 + *sec) * 1000 + millis;
    ms -= offset_ms;
  }
  auto r = fits(ms);
  if (!r) return std::nullopt;
  return make_datetime(*r);
}

std::optional<ExtensionValue> parse_duration(std::string_view text) {
  std::string_view s = text;
  bool negative = false;
  if (!s.empty() && s[0] == '-') {
    negative = true;
    s.remove_prefix(1);
  }
  if (s.empty()) return std::nullopt;
  // Units from largest to smallest; each may appear once, in this order.
  static const struct {
    std::string_view name;
    int64_t ms;
  } kUnits[] = {{"d", 86400000}, {"h", 3600000}, {"m", 60000}, {"s", 1000}, {"ms", 1}};
  __int128 total = 0;
  std::size_t next_unit = 0;
  std::size_t pos = 0;
  while (pos < s.size()) {
    std::size_t start = pos;
    __int128 n = 0;
    while (pos < s.size() && is_digit(s[pos])) {
      n = n * 10 + (s[pos] - '0');
      if (n > INT64_MAX) return std::nullopt;
      ++pos;
    }
    if (pos == start) return std::nullopt;
    std::size_t unit_start = pos;
    while (pos < s.size() && !is_digit(s[pos])) ++pos;
    std::string_view unit = s.substr(unit_start, pos - unit_start);
    bool found = false;
    for (; next_unit < std::size(kUnits); ++next_unit) {
      if (kUnits[next_unit].name == unit) {
        total += n * kUnits[next_unit].ms;
        if (total > INT64_MAX) return std::nullopt;
        ++next_unit;
        found = true;
        break;
      }
    }
    if (!found) return std::nullopt;
  }
  if (negative) total = -total;
  return make_duration(static_cast<int64_t>(total));
}

ExtensionValue make_duration(int64_t ms) {
  ExtensionValue v;
  v.kind = ExtensionKind::kDuration;
  v.number = ms;
  return v;
}

ExtensionValue make_datetime(int64_t ms) {
  ExtensionValue v;
  v.kind = ExtensionKind::kDatetime;
  v.number = ms;
  return v;
}

bool ip_in_range(const ExtensionValue& inner, const ExtensionValue& outer) {
  if (inner.v6 != outer.v6) return false;
  auto a = ip_range(inner), b = ip_range(outer);
  return b.second >= a.second && a.first >= b.first;
}

bool ip_is_loopback(const ExtensionValue& ip) {
  static const ExtensionValue v4 = *parse_ipaddr("127.0.0.0/8");
  static const ExtensionValue v6 = *parse_ipaddr("::1");
  return ip_in_range(ip, ip.v6 ? v6 : v4);
}

bool ip_is_multicast(const ExtensionValue& ip) {
  static const ExtensionValue v4 = *parse_ipaddr("224.0.0.0/4");
  static const ExtensionValue v6 = *parse_ipaddr("ff00::/8");
  return ip_in_range(ip, ip.v6 ? v6 : v4);
}

std::string_view extension_type_name(ExtensionKind kind) {
  switch (kind) {
    case ExtensionKind::kIpAddr:
      return "ipaddr";
    case ExtensionKind::kDecimal:
      return "decimal";
    case ExtensionKind::kDatetime:
      return "datetime";
    case ExtensionKind::kDuration:
      return "duration";
  }
  return "?";
}

std::string extension_to_string(const ExtensionValue& v) {
  char buf[64];
  switch (v.kind) {
    case ExtensionKind::kIpAddr: {
      std::string addr;
      if (!v.v6) {
        std::snprintf(buf, sizeof buf, "%d.%d.%d.%d", v.addr[0], v.addr[1], v.addr[2], v.addr[3]);
        addr = buf;
      } else {
        for (int i = 0; i < 8; ++i) {
          std::snprintf(buf, sizeof buf, "%s%x", i ? ":" : "",
                        (v.addr[2 * i] << 8) | v.addr[2 * i + 1]);
          addr += buf;
        }
      }
      return "ip(\"" + addr + "/" + std::to_string(v.prefix) + "\")";
    }
    case ExtensionKind::kDecimal: {
      __int128 n = v.number;
      bool neg = n < 0;
      if (neg) n = -n;
      std::snprintf(buf, sizeof buf, "%s%lld.%04lld", neg ? "-" : "",
                    static_cast<long long>(n / 10000), static_cast<long long>(n % 10000));
      return std::string("decimal(\"") + buf + "\")";
    }
    case ExtensionKind::kDatetime:
      return "datetime(" + std::to_string(v.number) + "ms)";
    case ExtensionKind::kDuration:
      return "duration(\"" + std::to_string(v.number) + "ms\")";
  }
  return "?";
}

}  // namespace custody::cedar
