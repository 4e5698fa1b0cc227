// RFC 8785 canonical JSON (common/jcs.h) against the RFC's examples and number table and the
// reference implementation's test data, and the canonical audit event built on it.
#include "common/jcs.h"

#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <limits>
#include <random>

#include "audit/canonical_event.h"
#include "audit/merkle.h"
#include "common/encoding.h"

namespace custody::jcs {
namespace {

using nlohmann::json;

std::string canon_text(std::string_view text) {
  auto r = canonicalize_text(text);
  EXPECT_TRUE(r.ok()) << r.error().message << " at " << r.error().field;
  return r.ok() ? *r : std::string();
}

std::string canon(const json& value) {
  auto r = canonicalize(value);
  EXPECT_TRUE(r.ok()) << r.error().message << " at " << r.error().field;
  return r.ok() ? *r : std::string();
}

std::string number(double v) {
  std::string out;
  EXPECT_TRUE(append_number(v, out).ok());
  return out;
}

// RFC 8785 §3.2.2: the sample input and its canonical form.
TEST(Jcs, Rfc8785SampleObject) {
  constexpr std::string_view kInput = R"json({
  "numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],
  "string": "\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/",
  "literals": [null, true, false]
})json";
  EXPECT_EQ(
      canon_text(kInput),
      R"json({"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],"string":"€$\u000f\nA'B\"\\\\\"/"})json");
}

// RFC 8785 §3.2.3: names sort by UTF-16 code units. U+FB33 (one unit) comes after U+1F600,
// whose surrogates D83D DE00 are below FB33, although its UTF-8 bytes (F0…) are above EF AC B3.
TEST(Jcs, Rfc8785SortingExample) {
  constexpr std::string_view kInput = R"json({
  "\u20ac": "Euro Sign",
  "\r": "Carriage Return",
  "\ufb33": "Hebrew Letter Dalet With Dagesh",
  "1": "One",
  "\ud83d\ude00": "Emoji: Grinning Face",
  "\u0080": "Control",
  "\u00e9": "e acute",
  "\u00f6": "Latin Small Letter O With Diaeresis"
})json";
  EXPECT_EQ(canon_text(kInput),
            "{\"\\r\":\"Carriage Return\",\"1\":\"One\",\"\xC2\x80\":\"Control\","
            "\"\xC3\xA9\":\"e acute\",\"\xC3\xB6\":\"Latin Small Letter O With Diaeresis\","
            "\"\xE2\x82\xAC\":\"Euro Sign\",\"\xF0\x9F\x98\x80\":\"Emoji: Grinning Face\","
            "\"\xEF\xAC\xB3\":\"Hebrew Letter Dalet With Dagesh\"}");
}

// Input/output pairs of the reference implementation's test data
// (github.com/cyberphone/json-canonicalization, testdata/).
TEST(Jcs, ReferenceTestData) {
  EXPECT_EQ(canon_text(R"([ 56, { "d": true, "10": null, "1": [ ] } ])"),
            R"([56,{"1":[],"10":null,"d":true}])");
  EXPECT_EQ(
      canon_text(R"json({
  "peach": "This sorting order",
  "péché": "is wrong according to French",
  "pêche": "but canonicalization MUST",
  "sin":   "ignore locale"
})json"),
      R"json({"peach":"This sorting order","péché":"is wrong according to French","pêche":"but canonicalization MUST","sin":"ignore locale"})json");
  EXPECT_EQ(
      canon_text(R"json({
  "1": {"f": {"f": "hi","F": 5} ,"\n": 56.0},
  "10": { },
  "": "empty",
  "a": { },
  "111": [ {"e": "yes","E": "no" } ],
  "A": { }
})json"),
      R"json({"":"empty","1":{"\n":56,"f":{"F":5,"f":"hi"}},"10":{},"111":[{"E":"no","e":"yes"}],"A":{},"a":{}})json");
  // No Unicode normalisation: A + combining ring stays two code points.
  EXPECT_EQ(canon_text(R"({"Unnormalized Unicode":"A\u030a"})"),
            "{\"Unnormalized Unicode\":\"A\xCC\x8A\"}");
  EXPECT_EQ(
      canon_text(R"json({
  "\u20ac": "Euro Sign",
  "\r": "Carriage Return",
  "\u000a": "Newline",
  "1": "One",
  "\u0080": "Control\u007f",
  "\ud83d\ude02": "Smiley",
  "\u00f6": "Latin Small Letter O With Diaeresis",
  "\ufb33": "Hebrew Letter Dalet With Dagesh",
  "</script>": "Browser Challenge"
})json"),
      "{\"\\n\":\"Newline\",\"\\r\":\"Carriage Return\",\"1\":\"One\","
      "\"</script>\":\"Browser Challenge\",\"\xC2\x80\":\"Control\x7F\","
      "\"\xC3\xB6\":\"Latin Small Letter O With Diaeresis\",\"\xE2\x82\xAC\":\"Euro Sign\","
      "\"\xF0\x9F\x98\x82\":\"Smiley\",\"\xEF\xAC\xB3\":\"Hebrew Letter Dalet With Dagesh\"}");
}

// RFC 8785 Appendix B: IEEE 754 bit patterns and their ECMAScript text.
TEST(Jcs, Rfc8785NumberTable) {
  const std::pair<std::uint64_t, std::string_view> kTable[] = {
      {0x0000000000000000, "0"},
      {0x8000000000000000, "0"},
      {0x0000000000000001, "5e-324"},
      {0x8000000000000001, "-5e-324"},
      {0x7fefffffffffffff, "1.7976931348623157e+308"},
      {0xffefffffffffffff, "-1.7976931348623157e+308"},
      {0x4340000000000000, "9007199254740992"},
      {0xc340000000000000, "-9007199254740992"},
      {0x4430000000000000, "295147905179352830000"},
      {0x44b52d02c7e14af5, "9.999999999999997e+22"},
      {0x44b52d02c7e14af6, "1e+23"},
      {0x44b52d02c7e14af7, "1.0000000000000001e+23"},
      {0x444b1ae4d6e2ef4e, "999999999999999700000"},
      {0x444b1ae4d6e2ef4f, "999999999999999900000"},
      {0x444b1ae4d6e2ef50, "1e+21"},
      {0x3eb0c6f7a0b5ed8c, "9.999999999999997e-7"},
      {0x3eb0c6f7a0b5ed8d, "0.000001"},
      {0x41b3de4355555553, "333333333.3333332"},
      {0x41b3de4355555554, "333333333.33333325"},
      {0x41b3de4355555555, "333333333.3333333"},
      {0x41b3de4355555556, "333333333.3333334"},
      {0x41b3de4355555557, "333333333.33333343"},
      {0xbecbf647612f3696, "-0.0000033333333333333333"},
      {0x43143ff3c1cb0959, "1424953923781206.2"},
  };
  for (const auto& [bits, text] : kTable)
    EXPECT_EQ(number(std::bit_cast<double>(bits)), text) << std::hex << bits;
  for (std::uint64_t bits : {0x7ff0000000000000ull, 0xfff0000000000000ull, 0x7ff8000000000000ull}) {
    std::string out;
    EXPECT_FALSE(append_number(std::bit_cast<double>(bits), out).ok()) << std::hex << bits;
  }
}

// The boundaries of ECMAScript's notation choice, checked against node's String(x).
TEST(Jcs, NumberNotationBoundaries) {
  EXPECT_EQ(number(1e21), "1e+21");
  EXPECT_EQ(number(1e20), "100000000000000000000");
  EXPECT_EQ(number(1e-7), "1e-7");
  EXPECT_EQ(number(1e-6), "0.000001");
  EXPECT_EQ(number(1.5e-7), "1.5e-7");
  EXPECT_EQ(number(123e-20), "1.23e-18");
  EXPECT_EQ(number(-1e21), "-1e+21");
  EXPECT_EQ(number(0.1), "0.1");
  EXPECT_EQ(number(0.1 + 0.2), "0.30000000000000004");
  EXPECT_EQ(number(1.0), "1");
  EXPECT_EQ(number(-1.5), "-1.5");
  EXPECT_EQ(number(123456789012345680000.0), "123456789012345680000");
  EXPECT_EQ(number(std::numeric_limits<double>::min()), "2.2250738585072014e-308");
  EXPECT_EQ(canon(json(-0.0)), "0");
  EXPECT_EQ(canon(json::parse("-0")), "0");
  EXPECT_EQ(canon(json::parse("-0.0")), "0");
  EXPECT_EQ(canon(json::parse("[1.0, 1, 1e0, 10e-1, 0.1e1]")), "[1,1,1,1,1]");
}

// nlohmann holds integers exactly; I-JSON readers hold doubles. Magnitudes up to 2^53 survive.
TEST(Jcs, IntegersBeyondTwoToThe53AreRefused) {
  constexpr std::int64_t kMax = std::int64_t{1} << 53;
  EXPECT_EQ(canon(json(kMax)), "9007199254740992");
  EXPECT_EQ(canon(json(-kMax)), "-9007199254740992");
  EXPECT_EQ(canon(json(std::uint64_t{1} << 53)), "9007199254740992");
  EXPECT_EQ(canon(json(0)), "0");
  EXPECT_EQ(canon(json(-42)), "-42");
  for (const json& big :
       {json(kMax + 1), json(-kMax - 1), json(std::numeric_limits<std::int64_t>::min()),
        json(std::numeric_limits<std::int64_t>::max()),
        json(std::numeric_limits<std::uint64_t>::max()), json((std::uint64_t{1} << 53) + 1)}) {
    auto r = canonicalize(json{{"n", big}});
    ASSERT_FALSE(r.ok()) << big.dump();
    EXPECT_EQ(r.error().code, Code::kInvalidArgument);
    EXPECT_EQ(r.error().field, "/n");
    EXPECT_NE(r.error().message.find("string"), std::string::npos) << r.error().message;
  }
  EXPECT_FALSE(canonicalize_text("9007199254740993").ok());
  // Above 2^64 nlohmann parses a double, as JSON.parse would.
  EXPECT_EQ(canon_text("18446744073709551616"), "18446744073709552000");
}

TEST(Jcs, NonFiniteNumbersAreRefused) {
  for (double v : {std::nan(""), std::numeric_limits<double>::infinity(),
                   -std::numeric_limits<double>::infinity()}) {
    auto r = canonicalize(json{{"a", {1, v}}});
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().field, "/a/1");
  }
}

TEST(Jcs, StringEscapes) {
  std::string all_controls;
  for (int c = 0; c < 0x20; ++c) all_controls += static_cast<char>(c);
  EXPECT_EQ(canon(json(all_controls)),
            R"("\u0000\u0001\u0002\u0003\u0004\u0005\u0006\u0007\b\t\n\u000b\f\r\u000e\u000f)"
            R"(\u0010\u0011\u0012\u0013\u0014\u0015\u0016\u0017\u0018\u0019\u001a\u001b\u001c)"
            R"(\u001d\u001e\u001f")");
  EXPECT_EQ(canon(json("\"\\/")), R"("\"\\/")");
  // DEL, U+2028, U+2029 and U+FEFF stay raw.
  EXPECT_EQ(canon(json("\x7F\xE2\x80\xA8\xE2\x80\xA9\xEF\xBB\xBF")),
            "\"\x7F\xE2\x80\xA8\xE2\x80\xA9\xEF\xBB\xBF\"");
  EXPECT_EQ(canon(json("\xF4\x8F\xBF\xBF")), "\"\xF4\x8F\xBF\xBF\"");  // U+10FFFF
  EXPECT_EQ(canon(json("")), R"("")");
}

TEST(Jcs, InvalidUtf8IsRefused) {
  const std::string_view kBad[] = {
      "\x80",              // lone continuation byte
      "\xC0\x80",          // overlong NUL
      "\xC1\xBF",          // overlong
      "\xE0\x80\x80",      // overlong 3-byte
      "\xED\xA0\x80",      // encoded surrogate U+D800
      "\xED\xBF\xBF",      // encoded surrogate U+DFFF
      "\xF0\x80\x80\x80",  // overlong 4-byte
      "\xF4\x90\x80\x80",  // above U+10FFFF
      "\xF5\x80\x80\x80",  // not a lead byte
      "\xFF",              //
      "\xE2\x82",          // truncated
      "a\xC3",             // truncated at the end
  };
  for (std::string_view bad : kBad) {
    EXPECT_FALSE(valid_utf8(bad)) << hex_encode(bad);
    auto value = canonicalize(json{{"k", std::string(bad)}});
    ASSERT_FALSE(value.ok()) << hex_encode(bad);
    EXPECT_EQ(value.error().field, "/k");
    auto name = canonicalize(json{{"ok", {{std::string(bad), 1}}}});
    ASSERT_FALSE(name.ok()) << hex_encode(bad);
    EXPECT_TRUE(name.error().field.starts_with("/ok/")) << name.error().field;
    EXPECT_TRUE(valid_utf8(name.error().field));  // the error itself must be serialisable
  }
  // The JSON text forms are refused by the parser: a lone surrogate escape, raw bad bytes.
  EXPECT_FALSE(canonicalize_text(R"(["\ud800"])").ok());
  EXPECT_FALSE(canonicalize_text(R"(["\udc00\ud800"])").ok());
  EXPECT_FALSE(canonicalize_text("[\"\xED\xA0\x80\"]").ok());
}

TEST(Jcs, ErrorFieldIsAJsonPointer) {
  auto r = canonicalize(json{{"a", {{"b/c~d", json::array({1, std::nan("")})}}}});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().field, "/a/b~1c~0d/1");
}

TEST(Jcs, TextMustBeIJson) {
  EXPECT_FALSE(canonicalize_text(R"({"a":1,"a":2})").ok());
  EXPECT_FALSE(canonicalize_text(R"({"x":{"a":1,"b":{"a":3},"a":2}})").ok());
  EXPECT_EQ(canon_text(R"([{"a":1},{"a":2}])"), R"([{"a":1},{"a":2}])");  // not duplicates
  EXPECT_EQ(canon_text(R"({"a":{"a":{"a":1}}})"), R"({"a":{"a":{"a":1}}})");
  auto r = canonicalize_text(R"({"a": tru})");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Code::kInvalidArgument);
  EXPECT_FALSE(canonicalize_text("").ok());
  EXPECT_FALSE(canonicalize_text("[1,]").ok());
  EXPECT_FALSE(canonicalize_text("1e400").ok());
  EXPECT_FALSE(canonicalize_text("NaN").ok());
  EXPECT_EQ(canon_text(" \n\t{ } "), "{}");
}

TEST(Jcs, DepthIsBounded) {
  const std::string deep_ok = std::string(kMaxDepth, '[') + std::string(kMaxDepth, ']');
  EXPECT_EQ(canon_text(deep_ok), deep_ok);
  const std::string too_deep = "[" + deep_ok + "]";
  EXPECT_FALSE(canonicalize_text(too_deep).ok());
  const std::string very_deep = std::string(100'000, '[') + std::string(100'000, ']');
  EXPECT_FALSE(canonicalize_text(very_deep).ok());
}

// Keys given out of order in any form come out in one order.
TEST(Jcs, MemberOrderDoesNotMatter) {
  const json a = json::parse(R"({"b":[{"y":1,"x":2}],"a":{"d":null,"c":true},"\u00e9":1})");
  const json b = json::parse(R"({"\u00e9":1,"a":{"c":true,"d":null},"b":[{"x":2,"y":1}]})");
  EXPECT_EQ(canon(a), canon(b));
  EXPECT_EQ(canon(a), "{\"a\":{\"c\":true,\"d\":null},\"b\":[{\"x\":2,\"y\":1}],\"\xC3\xA9\":1}");
  // A json built in code (nlohmann keeps bytewise order) is re-sorted by UTF-16 units.
  json built;
  built["\xEF\xAC\xB3"] = 1;      // U+FB33
  built["\xF0\x9F\x98\x80"] = 2;  // U+1F600
  built["\xE2\x82\xAC"] = 3;      // U+20AC
  EXPECT_EQ(canon(built), "{\"\xE2\x82\xAC\":3,\"\xF0\x9F\x98\x80\":2,\"\xEF\xAC\xB3\":1}");
}

// name_less compares UTF-8 directly; this checks it against an explicit UTF-16 conversion.
std::string utf8(char32_t cp) {
  std::string s;
  if (cp < 0x80) {
    s += static_cast<char>(cp);
  } else if (cp < 0x800) {
    s += static_cast<char>(0xC0 | (cp >> 6));
    s += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    s += static_cast<char>(0xE0 | (cp >> 12));
    s += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    s += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    s += static_cast<char>(0xF0 | (cp >> 18));
    s += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    s += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    s += static_cast<char>(0x80 | (cp & 0x3F));
  }
  return s;
}

std::u16string utf16(const std::vector<char32_t>& cps) {
  std::u16string s;
  for (char32_t cp : cps) {
    if (cp < 0x10000) {
      s += static_cast<char16_t>(cp);
    } else {
      s += static_cast<char16_t>(0xD800 + ((cp - 0x10000) >> 10));
      s += static_cast<char16_t>(0xDC00 + ((cp - 0x10000) & 0x3FF));
    }
  }
  return s;
}

TEST(Jcs, NameOrderIsUtf16CodeUnitOrder) {
  std::mt19937 rng(8785);
  // Few distinct values per range, so that strings often share prefixes and lead bytes.
  const std::pair<char32_t, char32_t> kRanges[] = {
      {0x00, 0x7F}, {0x80, 0x7FF}, {0x800, 0xD7FF}, {0xE000, 0xFFFF}, {0x10000, 0x10FFFF}};
  auto random_cp = [&] {
    const auto [lo, hi] = kRanges[rng() % 5];
    const char32_t picks[] = {lo, hi, lo + 1, static_cast<char32_t>(lo + rng() % (hi - lo + 1))};
    return picks[rng() % 4];
  };
  for (int i = 0; i < 200'000; ++i) {
    std::vector<char32_t> a(rng() % 4), b;
    for (auto& cp : a) cp = random_cp();
    b = a;
    if (!b.empty() && rng() % 2) b.resize(rng() % b.size());
    for (int extra = rng() % 3; extra > 0; --extra) b.push_back(random_cp());
    std::string a8, b8;
    for (char32_t cp : a) a8 += utf8(cp);
    for (char32_t cp : b) b8 += utf8(cp);
    ASSERT_EQ(name_less(a8, b8), utf16(a) < utf16(b)) << hex_encode(a8) << " " << hex_encode(b8);
    ASSERT_EQ(name_less(b8, a8), utf16(b) < utf16(a)) << hex_encode(a8) << " " << hex_encode(b8);
  }
}

}  // namespace
}  // namespace custody::jcs

namespace custody::audit {
namespace {

using nlohmann::json;

Event sample_event() {
  Event e;
  e.seq = 42;
  e.id = "evt_01J9ZQ4M5N6P7Q8R9S0T1V2W3X";
  e.time = 1'790'000'000'123'456;
  e.actor = "tok_admin";
  e.action = "credential.create";
  e.target = "crd_01J9ZQ4M5N6P7Q8R9S0T1V2W3Y";
  e.outcome = "success";
  e.request_id = "req_7f3a";
  e.details = json::parse(R"({"identity_id":"agt_1","kind":"jwk","scopes":["a","b"],"ttl":3600})");
  e.chain_root = "usr_01J9ZQ4M5N6P7Q8R9S0T1V2W3Z";
  e.delegation_id = "dlg_01J9ZQ4M5N6P7Q8R9S0T1V2W40";
  return e;
}

// The exact bytes are the contract with external verifiers: pin them.
TEST(CanonicalEvent, ExactBytesAndLeafHash) {
  auto bytes = canonical_event(sample_event());
  ASSERT_TRUE(bytes.ok()) << bytes.error().message;
  EXPECT_EQ(
      *bytes,
      R"({"action":"credential.create","actor":"tok_admin",)"
      R"("chain_root":"usr_01J9ZQ4M5N6P7Q8R9S0T1V2W3Z","delegation_id":"dlg_01J9ZQ4M5N6P7Q8R9S0T1V2W40",)"
      R"("details":{"identity_id":"agt_1",)"
      R"("kind":"jwk","scopes":["a","b"],"ttl":3600},"id":"evt_01J9ZQ4M5N6P7Q8R9S0T1V2W3X",)"
      R"("outcome":"success","request_id":"req_7f3a","seq":42,)"
      R"("target":"crd_01J9ZQ4M5N6P7Q8R9S0T1V2W3Y","time":1790000000123456})");
  auto leaf = event_leaf_hash(sample_event());
  ASSERT_TRUE(leaf.ok());
  EXPECT_EQ(*leaf, merkle::leaf_hash(*bytes));
  EXPECT_EQ(hex_encode(*leaf), "1ae74d44fff24f1769a5e8b94fb779370befd38a268975ed7d53be83c9e95b2f")
      << "update only together with docs/audit-integrity.md and a log format version";
}

TEST(CanonicalEvent, EqualsJcsOfTheEventObject) {
  Event e = sample_event();
  e.details = json::parse(R"({"z":[1.5,-0.0,{"\u00e9":"\u2028"}],"a":null,"\ud83d\ude00":"x"})");
  e.actor = "usr_\xC3\xA9\t\"";
  const json object = {{"seq", e.seq},
                       {"id", e.id},
                       {"time", e.time},
                       {"actor", e.actor},
                       {"action", e.action},
                       {"target", e.target},
                       {"outcome", e.outcome},
                       {"request_id", e.request_id},
                       {"details", e.details},
                       {"chain_root", e.chain_root},
                       {"delegation_id", e.delegation_id}};
  auto direct = canonical_event(e);
  auto via_json = jcs::canonicalize(object);
  ASSERT_TRUE(direct.ok() && via_json.ok());
  EXPECT_EQ(*direct, *via_json);
}

TEST(CanonicalEvent, DetailsMemberOrderDoesNotMatter) {
  Event a = sample_event(), b = sample_event();
  a.details = json::parse(R"({"x":{"q":1,"p":[{"n":2,"m":3}]},"a":"1","b":2.50})");
  b.details = json::parse(R"({"b":2.5,"a":"1","x":{"p":[{"m":3,"n":2}],"q":1}})");
  EXPECT_EQ(*canonical_event(a), *canonical_event(b));
  // Stored and reloaded (events.cc dumps details and parses them back) gives the same bytes.
  Event reloaded = a;
  reloaded.details = json::parse(a.details.dump());
  EXPECT_EQ(*canonical_event(a), *canonical_event(reloaded));
  // Null details are what append() stores as {}.
  a.details = nullptr;
  b.details = json::object();
  EXPECT_EQ(*canonical_event(a), *canonical_event(b));
}

TEST(CanonicalEvent, EveryFieldIsCovered) {
  const Event base = sample_event();
  const std::string base_bytes = *canonical_event(base);
  std::vector<std::pair<const char*, Event>> changed;
  auto vary = [&](const char* name, auto change) {
    Event e = base;
    change(e);
    changed.emplace_back(name, e);
  };
  vary("seq", [](Event& e) { e.seq += 1; });
  vary("id", [](Event& e) { e.id.back() = 'Z'; });
  vary("time", [](Event& e) { e.time += 1; });  // one microsecond
  vary("actor", [](Event& e) { e.actor = "tok_other"; });
  vary("action", [](Event& e) { e.action = "credential.revoke"; });
  vary("target", [](Event& e) { e.target = ""; });
  vary("outcome", [](Event& e) { e.outcome = "conflict"; });
  vary("request_id", [](Event& e) { e.request_id += "x"; });
  vary("chain_root", [](Event& e) { e.chain_root = ""; });
  vary("delegation_id", [](Event& e) { e.delegation_id += "x"; });
  vary("details value", [](Event& e) { e.details["ttl"] = 3601; });
  vary("details type", [](Event& e) { e.details["ttl"] = "3600"; });
  vary("details member", [](Event& e) { e.details["extra"] = nullptr; });
  vary("details array order", [](Event& e) { e.details["scopes"] = {"b", "a"}; });
  for (const auto& [name, e] : changed) {
    auto bytes = canonical_event(e);
    ASSERT_TRUE(bytes.ok()) << name;
    EXPECT_NE(*bytes, base_bytes) << name;
    EXPECT_NE(*event_leaf_hash(e), *event_leaf_hash(base)) << name;
  }
}

TEST(CanonicalEvent, UncanonicalisableEventsAreRefused) {
  Event e = sample_event();
  e.actor = "tok_\xFF";
  auto r = canonical_event(e);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().field, "actor");

  e = sample_event();
  e.details["count"] = std::uint64_t{1} << 60;
  r = canonical_event(e);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().field, "details/count");

  e = sample_event();
  e.time = (std::int64_t{1} << 53) + 1;
  EXPECT_EQ(canonical_event(e).error().field, "time");
}

}  // namespace
}  // namespace custody::audit
