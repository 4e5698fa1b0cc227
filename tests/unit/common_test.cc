// ids, encodings, RFC 3339 times and configuration loading (src/common).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <set>

#include "common/clock.h"
#include "common/config.h"
#include "common/encoding.h"
#include "common/ids.h"

namespace custody {
namespace {

TEST(Ids, AreValidPrefixedUlidsInCreationOrder) {
  std::string previous;
  std::set<std::string> seen;
  for (int i = 0; i < 2000; ++i) {
    // The same millisecond many times over: ordering must come from the monotonic increment.
    std::string id = new_id("agt", 1'796'000'000'000'000);
    ASSERT_TRUE(is_valid_id(id, "agt")) << id;
    ASSERT_TRUE(looks_like_id(id)) << id;
    ASSERT_GT(id, previous);
    previous = id;
    seen.insert(id);
  }
  EXPECT_EQ(seen.size(), 2000u);
  // A later time sorts later; an earlier one never goes back (ids stay monotonic per process).
  std::string later = new_id("usr", 2'000'000'000'000'000);
  EXPECT_GT(later, "usr_" + previous.substr(4));
  EXPECT_GT(new_id("usr", 1'000'000'000), later);
}

TEST(Ids, RefuseWrongShapes) {
  std::string id = new_id("usr", 1'796'000'000'000'000);
  EXPECT_FALSE(is_valid_id(id, "agt"));
  EXPECT_FALSE(is_valid_id(id + "0", "usr"));
  EXPECT_FALSE(is_valid_id("usr_0123456789ABCDEFGHJKMNPQRI", "usr"));  // I is not Crockford
  EXPECT_FALSE(is_valid_id("usr_8ZZZZZZZZZZZZZZZZZZZZZZZZZ", "usr"));  // beyond 128 bits
  EXPECT_FALSE(looks_like_id("no-underscore"));
  EXPECT_FALSE(looks_like_id("../etc/passwd"));
}

TEST(Encoding, Base64UrlRoundTripsEveryLength) {
  std::string bytes;
  for (int n = 0; n < 70; ++n) {
    auto decoded = base64url_decode(base64url_encode(bytes));
    ASSERT_TRUE(decoded);
    EXPECT_EQ(*decoded, bytes);
    bytes += static_cast<char>(n * 37);
  }
  EXPECT_EQ(base64url_encode("\xfb\xff"), "-_8");
  EXPECT_FALSE(base64url_decode("a+b/"));   // standard alphabet is not base64url
  EXPECT_FALSE(base64url_decode("abcde"));  // impossible length
  EXPECT_EQ(base64_encode("hi"), "aGk=");
}

TEST(Encoding, HexRoundTripsAndRefusesOddOrBadInput) {
  EXPECT_EQ(hex_encode(std::string("\x00\xff\x10", 3)), "00ff10");
  EXPECT_EQ(*hex_decode("00FF10"), std::string("\x00\xff\x10", 3));
  EXPECT_FALSE(hex_decode("abc"));
  EXPECT_FALSE(hex_decode("zz"));
}

TEST(Rfc3339, FormatsAndParsesUtcAndOffsets) {
  Micros t = 0;
  ASSERT_TRUE(parse_rfc3339("2026-11-29T21:55:00Z", &t));
  EXPECT_EQ(format_rfc3339(t), "2026-11-29T21:55:00.000Z");
  Micros with_offset = 0;
  ASSERT_TRUE(parse_rfc3339("2026-11-29T23:55:00.5+02:00", &with_offset));
  EXPECT_EQ(with_offset - t, 500'000);
  for (const char* bad : {"", "2026-11-29", "2026-13-01T00:00:00Z", "2026-11-29T21:55:00",
                          "2026-11-29T21:55:00Zjunk", "2026-11-29T21:55:00.Z"}) {
    EXPECT_FALSE(parse_rfc3339(bad, &t)) << bad;
  }
}

class ConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("custody-config-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string write(const std::string& yaml) {
    auto path = (dir_ / "custody.yaml").string();
    std::ofstream(path) << yaml;
    return path;
  }
  std::filesystem::path dir_;
};

TEST_F(ConfigTest, DefaultsFileThenEnvironment) {
  auto file = write("listen: 127.0.0.1:9000\nlimits:\n  max_body_bytes: 4096\n");
  auto c = load_config(file, {{"CUSTODY_LIMITS_MAX_BODY_BYTES", "8192"}, {"PATH", "/bin"}});
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->listen, "127.0.0.1:9000");                // from the file
  EXPECT_EQ(c->limits.max_body_bytes, 8192);             // the environment wins
  EXPECT_EQ(c->limits.max_json_depth, 32);               // default
  EXPECT_EQ(c->store_url(), "sqlite:./var/custody.db");  // derived from data_dir
}

// The group commit's pacing interval: 2 ms unless set, 0 turns it off, a negative value or one
// over a second is refused naming the key.
TEST_F(ConfigTest, StoreCommitIntervalDefaultsRangeAndEnvironment) {
  auto defaults = load_config(std::nullopt, {});
  ASSERT_TRUE(defaults.ok()) << defaults.error().message;
  EXPECT_EQ(defaults->store_commit_interval_us, 2000);
  auto off = load_config(std::nullopt, {{"CUSTODY_STORE_COMMIT_INTERVAL_US", "0"}});
  ASSERT_TRUE(off.ok()) << off.error().message;
  EXPECT_EQ(off->store_commit_interval_us, 0);
  for (const char* bad : {"-1", "1000001", "2ms"}) {
    auto refused = load_config(std::nullopt, {{"CUSTODY_STORE_COMMIT_INTERVAL_US", bad}});
    ASSERT_FALSE(refused.ok()) << bad;
    EXPECT_EQ(refused.error().field, "store_commit_interval_us") << bad;
  }
}

TEST_F(ConfigTest, ErrorsNameTheKey) {
  auto unknown = load_config(write("limits:\n  max_bodybytes: 1\n"), {});
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.error().field, "limits.max_bodybytes");
  auto bad_type = load_config(std::nullopt, {{"CUSTODY_LIMITS_MAX_BODY_BYTES", "abc"}});
  ASSERT_FALSE(bad_type.ok());
  EXPECT_EQ(bad_type.error().field, "limits.max_body_bytes");
  EXPECT_NE(bad_type.error().message.find("CUSTODY_LIMITS_MAX_BODY_BYTES"), std::string::npos);
  auto range = load_config(std::nullopt, {{"CUSTODY_LIMITS_MAX_BODY_BYTES", "1"}});
  ASSERT_FALSE(range.ok());
  EXPECT_NE(range.error().message.find("outside"), std::string::npos);
  auto listen = load_config(std::nullopt, {{"CUSTODY_LISTEN", "8080"}});
  ASSERT_FALSE(listen.ok());
  EXPECT_EQ(listen.error().field, "listen");
  auto tls = load_config(std::nullopt, {{"CUSTODY_TLS_CERT_FILE", "/x.pem"}});
  ASSERT_FALSE(tls.ok());
  EXPECT_EQ(tls.error().field, "tls.cert_file");
  auto yaml = load_config(write("listen: [1, 2]\n"), {});
  ASSERT_FALSE(yaml.ok());
  EXPECT_EQ(yaml.error().field, "listen");
}

TEST_F(ConfigTest, EveryKeyHasItsEnvironmentVariable) {
  for (const auto& [key, env] : config_keys()) {
    std::string expected = "CUSTODY_";
    for (char ch : key) expected += ch == '.' ? '_' : static_cast<char>(std::toupper(ch));
    EXPECT_EQ(env, expected);
  }
}

}  // namespace
}  // namespace custody
