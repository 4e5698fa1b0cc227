// Cedar's extension types: ipaddr, decimal, datetime and duration.
//
// Constructors parse the textual forms Cedar accepts and return std::nullopt for any other text
// (the evaluator turns that into an evaluation error). Arithmetic helpers return std::nullopt on
// 64-bit overflow. Everything here is pure and thread-safe.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "policy/cedar/value.h"

namespace custody::cedar {

// "192.168.0.1", "10.0.0.0/8", "::1", "2001:db8::/32". IPv4 octets and prefixes take no leading
// zeros; IPv6 groups are 1-4 hex digits with at most one "::".
std::optional<ExtensionValue> parse_ipaddr(std::string_view text);
// "-12.3456": digits, a dot, one to four digits; the value must fit in 64 bits times 10^4.
std::optional<ExtensionValue> parse_decimal(std::string_view text);
// "2024-10-15", "2024-10-15T11:35:00Z", "...T11:35:00.123Z", "...T11:35:00+0100",
// "...T11:35:00.123-0230"; normalized to UTC milliseconds.
std::optional<ExtensionValue> parse_datetime(std::string_view text);
// "1d2h3m4s5ms" (units in that order, each optional, at least one), optionally led by "-".
std::optional<ExtensionValue> parse_duration(std::string_view text);

ExtensionValue make_duration(int64_t ms);
ExtensionValue make_datetime(int64_t ms);

// True when every address of `inner` lies in `outer` (false across IPv4/IPv6).
bool ip_in_range(const ExtensionValue& inner, const ExtensionValue& outer);
bool ip_is_loopback(const ExtensionValue& ip);
bool ip_is_multicast(const ExtensionValue& ip);

// The Cedar constructor call that rebuilds the value, e.g. decimal("1.5000").
std::string extension_to_string(const ExtensionValue& v);
// Name of the extension type as Cedar writes it ("ipaddr", "decimal", "datetime", "duration").
std::string_view extension_type_name(ExtensionKind kind);

// Checked 64-bit arithmetic: std::nullopt on overflow.
std::optional<int64_t> checked_add(int64_t a, int64_t b);
std::optional<int64_t> checked_sub(int64_t a, int64_t b);
std::optional<int64_t> checked_mul(int64_t a, int64_t b);

}  // namespace custody::cedar
