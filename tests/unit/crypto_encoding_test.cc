// The strict decoders under JOSE parsing: canonical base64url and duplicate-free JSON objects.
#include <gtest/gtest.h>

#include "common/encoding.h"
#include "common/random.h"
#include "crypto/jose_encoding.h"

namespace custody::crypto {
namespace {

TEST(CryptoEncoding, Base64urlRoundTripsEveryLength) {
  for (std::size_t n = 0; n < 100; ++n) {
    const std::string bytes = random_bytes(n);
    const std::string text = base64url_encode(bytes);
    auto back = base64url_decode_strict(text);
    ASSERT_TRUE(back.has_value()) << n;
    EXPECT_EQ(*back, bytes) << n;
  }
  EXPECT_EQ(base64url_decode_strict("").value(), "");
  EXPECT_EQ(base64url_decode_strict("-_8").value(), "\xfb\xff");
}

TEST(CryptoEncoding, Base64urlRefusesEverySecondSpelling) {
  for (const char* bad : {"A", "AAAAA", "QQ==", "QQ=", "Q+", "Q/", "Q Q", "QR", "QUF", "QUE\n"}) {
    EXPECT_FALSE(base64url_decode_strict(bad).has_value()) << bad;
  }
  EXPECT_FALSE(base64url_decode_strict(std::string_view("QUE\0", 4)).has_value());
  // "QQ" and "QUE" are the canonical spellings of "A" and "AA".
  EXPECT_EQ(base64url_decode_strict("QQ").value(), "A");
  EXPECT_EQ(base64url_decode_strict("QUE").value(), "AA");
}

TEST(CryptoEncoding, StrictJsonParsesObjects) {
  StrictJson j = parse_json_object_strict(R"({"a":[1,{"b":null}],"c":{"d":"e"},"f":1.5,"g":-2})");
  ASSERT_EQ(j.defect, JsonDefect::kNone) << describe(j);
  EXPECT_EQ(j.value, nlohmann::json::parse(R"({"a":[1,{"b":null}],"c":{"d":"e"},"f":1.5,"g":-2})"));
}

TEST(CryptoEncoding, StrictJsonRefusesDuplicatesAtAnyDepth) {
  for (const char* text : {R"({"a":1,"a":2})", R"({"x":{"a":1,"a":1}})", R"({"x":[{"a":1,"a":2}]})",
                           R"({"alg":"ES256","\u0061lg":"none"})"}) {
    StrictJson j = parse_json_object_strict(text);
    EXPECT_EQ(j.defect, JsonDefect::kDuplicateMember) << text;
    EXPECT_TRUE(j.value.is_null());
  }
  EXPECT_EQ(describe(parse_json_object_strict(R"({"a\n":1,"a\n":2})")),
            "has duplicate member \"a?\"");
  // The same name in different objects is fine.
  EXPECT_EQ(parse_json_object_strict(R"({"a":{"a":{"a":1}}})").defect, JsonDefect::kNone);
}

TEST(CryptoEncoding, StrictJsonRefusesOtherDefects) {
  EXPECT_EQ(parse_json_object_strict("[1]").defect, JsonDefect::kNotObject);
  EXPECT_EQ(parse_json_object_strict("\"s\"").defect, JsonDefect::kNotObject);
  EXPECT_EQ(parse_json_object_strict("{} x").defect, JsonDefect::kSyntax);
  EXPECT_EQ(parse_json_object_strict("{").defect, JsonDefect::kSyntax);
  EXPECT_EQ(parse_json_object_strict("").defect, JsonDefect::kSyntax);
  EXPECT_EQ(parse_json_object_strict("{\"a\":\"\xff\"}").defect, JsonDefect::kSyntax);
  std::string deep = "{\"a\":" + std::string(31, '[') + std::string(31, ']') + "}";
  EXPECT_EQ(parse_json_object_strict(deep).defect, JsonDefect::kNone);
  deep = "{\"a\":" + std::string(32, '[') + std::string(32, ']') + "}";
  EXPECT_EQ(parse_json_object_strict(deep).defect, JsonDefect::kTooDeep);
  EXPECT_EQ(parse_json_object_strict("{\"a\":" + std::string(100000, '[') +
                                     std::string(100000, ']') + "}")
                .defect,
            JsonDefect::kTooDeep);
  // Unbalanced: refused before any depth is reached (simdjson checks the structure first).
  EXPECT_EQ(parse_json_object_strict(std::string(100000, '[')).defect, JsonDefect::kSyntax);
}

// Numbers keep the types nlohmann's own parser gives them, so claim checks that ask
// is_number_unsigned() or get<std::int64_t>() see what they saw before; a number no 64-bit type
// holds is refused rather than rounded.
TEST(CryptoEncoding, StrictJsonKeepsNumberTypesAndText) {
  StrictJson j = parse_json_object_strict(
      R"({"exp":1796071204,"neg":-5,"big":18446744073709551615,"f":2.5e3,"t":true,"n":null,)"
      R"("s":"caf\u00e9 \"q\" \ud83d\ude00","nested":{"act":{"sub":"agt_1"}}})");
  ASSERT_EQ(j.defect, JsonDefect::kNone) << describe(j);
  EXPECT_TRUE(j.value["exp"].is_number_unsigned());
  EXPECT_EQ(j.value["exp"].get<std::int64_t>(), 1796071204);
  EXPECT_TRUE(j.value["neg"].is_number_integer());
  EXPECT_FALSE(j.value["neg"].is_number_unsigned());
  EXPECT_EQ(j.value["big"].get<std::uint64_t>(), 18446744073709551615ull);
  EXPECT_TRUE(j.value["f"].is_number_float());
  EXPECT_EQ(j.value["f"].get<double>(), 2500.0);
  EXPECT_EQ(j.value["t"], true);
  EXPECT_TRUE(j.value["n"].is_null());
  EXPECT_EQ(j.value["s"], "caf\u00e9 \"q\" \U0001F600");
  EXPECT_EQ(j.value["nested"]["act"]["sub"], "agt_1");
  for (const char* text :
       {R"({"x":123456789012345678901234567890})", R"({"x":18446744073709551616})",
        R"({"x":-9223372036854775809})", R"({"x":1e400})"})
    EXPECT_EQ(parse_json_object_strict(text).defect, JsonDefect::kSyntax) << text;
  // Lone surrogates and bytes that are not UTF-8 are not text.
  EXPECT_EQ(parse_json_object_strict(R"({"x":"\ud800"})").defect, JsonDefect::kSyntax);
  EXPECT_EQ(parse_json_object_strict("{\"x\":\"\xc3\x28\"}").defect, JsonDefect::kSyntax);
}

TEST(CryptoEncoding, QuotesUntrustedText) {
  EXPECT_EQ(quote_untrusted("kid-1"), "\"kid-1\"");
  EXPECT_EQ(quote_untrusted("a\"b\\c\x01"), "\"a?b?c?\"");
  EXPECT_EQ(quote_untrusted(std::string(50, 'x')), "\"" + std::string(40, 'x') + "...\"");
}

}  // namespace
}  // namespace custody::crypto
