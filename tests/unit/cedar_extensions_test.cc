// Cedar extension types: ipaddr, decimal, datetime, duration, as functions and as parsers.
#include <gtest/gtest.h>

#include <string>

#include "policy/cedar/evaluator.h"
#include "policy/cedar/extensions.h"
#include "policy/cedar/parser.h"

namespace custody::cedar {
namespace {

std::string eval(const std::string& source) {
  static const EntityStore entities;
  static const Request request;
  auto expr = parse_expression(source);
  if (!expr.ok()) return "parse error: " + expr.error().message;
  auto v = Evaluator(request, entities).evaluate(*expr);
  return v.ok() ? v->to_string() : "error";
}

TEST(CedarExtensions, IpAddresses) {
  EXPECT_EQ(eval(R"(ip("10.0.0.1").isInRange(ip("10.0.0.0/8")))"), "true");
  EXPECT_EQ(eval(R"(ip("10.0.0.0/8").isInRange(ip("10.0.0.1")))"), "false");
  EXPECT_EQ(eval(R"(ip("::1").isLoopback())"), "true");
  EXPECT_EQ(eval(R"(ip("127.1.2.3").isLoopback())"), "true");
  EXPECT_EQ(eval(R"(ip("224.0.0.1").isMulticast())"), "true");
  EXPECT_EQ(eval(R"(ip("ff02::1").isMulticast())"), "true");
  EXPECT_EQ(eval(R"(ip("1.2.3.4").isIpv4() && ip("1::").isIpv6())"), "true");
  EXPECT_EQ(eval(R"(ip("10.0.0.1").isInRange(ip("::/0")))"), "false");
  EXPECT_EQ(eval(R"(ip("1.2.3.4") == ip("1.2.3.4/32"))"), "true");
  EXPECT_EQ(eval(R"(ip("01.2.3.4"))"), "error");  // leading zero
  EXPECT_EQ(eval(R"(ip("1.2.3.4/33"))"), "error");
  EXPECT_EQ(eval(R"(ip("1.2.3.4/08"))"), "error");
  EXPECT_EQ(eval(R"(ip("1:2:3:4:5:6:7:8:9"))"), "error");
  EXPECT_EQ(eval(R"(ip("1::2::3"))"), "error");
  EXPECT_EQ(eval(R"(ip("::ffff:1.2.3.4"))"), "error");
  EXPECT_EQ(eval(R"(ip("1.2.3.4", "x"))"), "error");  // arity is checked when evaluated
}

TEST(CedarExtensions, Decimals) {
  EXPECT_EQ(eval(R"(decimal("1.5").lessThan(decimal("1.50001")))"), "error");  // 5 digits
  EXPECT_EQ(eval(R"(decimal("1.5") == decimal("1.5000"))"), "true");
  EXPECT_EQ(eval(R"(decimal("-1.5").lessThan(decimal("0.1")))"), "true");
  EXPECT_EQ(eval(R"(decimal("922337203685477.5807").greaterThanOrEqual(decimal("0.0")))"), "true");
  EXPECT_EQ(eval(R"(decimal("922337203685477.5808"))"), "error");
  EXPECT_EQ(eval(R"(decimal("-922337203685477.5808"))"), "decimal(\"-922337203685477.5808\")");
  EXPECT_EQ(eval(R"(decimal("1"))"), "error");
  EXPECT_EQ(eval(R"(decimal(".5"))"), "error");
  EXPECT_EQ(eval(R"(decimal("1.5") < decimal("2.5"))"), "error");  // `<` is not for decimals
}

TEST(CedarExtensions, DatetimesAndDurations) {
  EXPECT_EQ(eval(R"(datetime("1970-01-02").toTime())"), "duration(\"0ms\")");
  EXPECT_EQ(eval(R"(datetime("1970-01-01T01:00:00+0100") == datetime("1970-01-01"))"), "true");
  EXPECT_EQ(eval(R"(datetime("2024-02-29T12:00:00.250Z").toTime().toMilliseconds())"), "43200250");
  EXPECT_EQ(eval(R"(datetime("2023-02-29"))"), "error");
  EXPECT_EQ(eval(R"(datetime("2024-01-01T00:00:60Z"))"), "error");
  EXPECT_EQ(eval(R"(datetime("2024-01-01T00:00:00"))"), "error");
  EXPECT_EQ(eval(R"(datetime("1969-12-31T23:00:00Z").toDate() == datetime("1969-12-31"))"), "true");
  EXPECT_EQ(eval(R"(datetime("1969-12-31T23:00:00Z").toTime().toHours())"), "23");
  EXPECT_EQ(eval(R"(datetime("2024-01-01").offset(duration("1d")) > datetime("2024-01-01"))"),
            "true");
  EXPECT_EQ(eval(R"(datetime("2024-01-02").durationSince(datetime("2024-01-01")).toDays())"), "1");
  EXPECT_EQ(eval(R"(duration("1d2h3m4s5ms").toMilliseconds())"), "93784005");
  EXPECT_EQ(eval(R"(duration("-90m").toHours())"), "-1");
  EXPECT_EQ(eval(R"(duration("1h1d"))"), "error");
  EXPECT_EQ(eval(R"(duration("1d1d"))"), "error");
  EXPECT_EQ(eval(R"(duration(""))"), "error");
  EXPECT_EQ(eval(R"(duration("9223372036854775807ms").toMilliseconds())"), "9223372036854775807");
  EXPECT_EQ(eval(R"(duration("9223372036854775808ms"))"), "error");
  EXPECT_EQ(eval(R"(duration("106751991168d"))"), "error");  // overflows 64-bit milliseconds
  EXPECT_EQ(eval(R"(datetime("2024-01-01").offset(duration("9223372036854775807ms")))"), "error");
  EXPECT_EQ(eval(R"(duration("1h") < duration("61m"))"), "true");
  EXPECT_EQ(eval(R"(duration("1h") < datetime("2024-01-01"))"), "error");
}

TEST(CedarExtensions, CheckedArithmetic) {
  EXPECT_FALSE(checked_add(INT64_MAX, 1).has_value());
  EXPECT_FALSE(checked_sub(INT64_MIN, 1).has_value());
  EXPECT_FALSE(checked_mul(INT64_MIN, -1).has_value());
  EXPECT_EQ(*checked_mul(-3, 4), -12);
}

}  // namespace
}  // namespace custody::cedar
