// Trusted external issuers (oauth/settings.h) and the keys of those configured by jwks_uri
// (oauth/remote_jwks.h): what the configuration accepts, and how fetched keys fail closed. The
// fetch itself against a live provider, rotation included, is tested end to end in
// tests/interop/external-issuer-jwks-uri.test.js.
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <thread>

#include "common/config.h"
#include "oauth/remote_jwks.h"
#include "oauth/settings.h"

namespace custody::oauth {
namespace {

constexpr char kIssuer[] = "https://custody.example";

// Writes `entries` as the trusted issuers file of a config and resolves the settings.
Result<Settings> resolve_with(const nlohmann::json& entries) {
  const auto path = std::filesystem::temp_directory_path() /
                    ("custody-trusted-" + std::to_string(::getpid()) + ".json");
  std::ofstream(path) << entries.dump();
  Config config;
  config.oauth.trusted_issuers_file = path.string();
  auto settings = resolve_settings(config, kIssuer);
  std::filesystem::remove(path);
  return settings;
}

::testing::AssertionResult RefusedNaming(const Result<Settings>& r, std::string_view part) {
  if (r.ok()) return ::testing::AssertionFailure() << "accepted";
  if (r.error().code != Code::kInvalidArgument || r.error().message.find(part) == std::string::npos)
    return ::testing::AssertionFailure() << "refused with: " << r.error().message;
  return ::testing::AssertionSuccess();
}

TEST(TrustedIssuers, AJwksUriIsKeptToFetchAndItsTimingsAreChecked) {
  auto ok = resolve_with(nlohmann::json::array(
      {{{"issuer", "https://idp.example"}, {"jwks_uri", "https://idp.example/jwks"}},
       {{"issuer", "https://local.example"},
        {"jwks_uri", "http://127.0.0.1:9/jwks"},
        {"jwks_refresh_seconds", 10},
        {"jwks_max_age_seconds", 10},
        {"jwks_refetch_cooldown_seconds", 0},
        {"jwks_timeout_seconds", 1}}}));
  ASSERT_TRUE(ok.ok()) << ok.error().message;
  ASSERT_EQ(ok->trusted_issuers.size(), 2u);
  for (const auto& t : ok->trusted_issuers) {
    ASSERT_NE(t.remote, nullptr) << t.issuer;
    EXPECT_TRUE(t.keys.empty());
  }
  EXPECT_EQ(ok->trusted("https://idp.example")->remote->url_text(), "https://idp.example/jwks");

  auto entry = [](nlohmann::json more) {
    nlohmann::json e = {{"issuer", "https://idp.example"}, {"jwks_uri", "https://idp.example/k"}};
    e.update(more);
    return nlohmann::json::array({e});
  };
  EXPECT_TRUE(RefusedNaming(resolve_with(entry({{"jwks_uri", "http://idp.example/jwks"}})),
                            "jwks_uri must be https (http only to a loopback address)"));
  EXPECT_TRUE(
      RefusedNaming(resolve_with(entry({{"jwks_uri", "ftp://idp.example/jwks"}})), "jwks_uri: "));
  EXPECT_TRUE(RefusedNaming(resolve_with(entry({{"jwks_uri", 7}})), "\"jwks_uri\" must be a URL"));
  EXPECT_TRUE(RefusedNaming(resolve_with(entry({{"jwks", {{"keys", nlohmann::json::array()}}}})),
                            "needs one of \"jwks\", \"jwks_file\" or \"jwks_uri\""));
  EXPECT_TRUE(
      RefusedNaming(resolve_with(entry({{"jwks_refresh_seconds", 0}})),
                    "\"jwks_refresh_seconds\" must be a whole number of seconds in 1..86400"));
  EXPECT_TRUE(RefusedNaming(
      resolve_with(entry({{"jwks_refresh_seconds", 600}, {"jwks_max_age_seconds", 300}})),
      "\"jwks_max_age_seconds\" must be a whole number of seconds in 600.."));
  EXPECT_TRUE(RefusedNaming(resolve_with(entry({{"jwks_timeout_seconds", "5"}})),
                            "\"jwks_timeout_seconds\""));
  EXPECT_TRUE(RefusedNaming(
      resolve_with(nlohmann::json::array({{{"issuer", "https://idp.example"}}})), "needs one of"));
}

// Nothing listens on 127.0.0.1:1, so a fetch fails at once (connection refused).
TEST(RemoteJwks, KeysNeverFetchedFailClosedWithTheFetchError) {
  FixedClock clock(1'000 * kMicrosPerSecond);
  RemoteJwks jwks("https://idp.example", net::parse_endpoint_url("http://127.0.0.1:1/jwks").value(),
                  "http://127.0.0.1:1/jwks", {}, clock);
  auto before = jwks.current(clock.now());
  ASSERT_FALSE(before.ok());
  EXPECT_EQ(before.error().code, Code::kUnavailable);
  EXPECT_EQ(
      before.error().message,
      "the keys of issuer https://idp.example (http://127.0.0.1:1/jwks) have not been fetched");

  Status fetched = jwks.fetch();
  ASSERT_FALSE(fetched.ok());
  EXPECT_NE(fetched.error().message.find("cannot fetch http://127.0.0.1:1/jwks: "),
            std::string::npos)
      << fetched.error().message;
  auto after = jwks.current(clock.now());
  ASSERT_FALSE(after.ok());
  EXPECT_NE(after.error().message.find("have not been fetched: cannot fetch"), std::string::npos)
      << after.error().message;
}

TEST(RemoteJwks, UnknownKidsAskForAFetchAtMostOncePerCooldown) {
  FixedClock clock(1'000 * kMicrosPerSecond);
  RemoteJwks::Options o;
  o.cooldown = 30 * kMicrosPerSecond;
  auto url = net::parse_endpoint_url("http://127.0.0.1:1/jwks").value();
  RemoteJwks jwks("https://idp.example", url, "http://127.0.0.1:1/jwks", o, clock);
  EXPECT_FALSE(jwks.refetch_for_unknown_kid()) << "not started: nothing fetches";
  jwks.start();  // its first fetch fails at once (connection refused)
  EXPECT_FALSE(jwks.refetch_for_unknown_kid()) << "the start-up fetch began less than 30 s ago";
  clock.advance(31 * kMicrosPerSecond);
  EXPECT_TRUE(jwks.refetch_for_unknown_kid());
  // The refresher takes the request and fetches; the cooldown then runs from that fetch.
  for (int i = 0; i < 200 && jwks.refetch_for_unknown_kid(); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_FALSE(jwks.refetch_for_unknown_kid());
  clock.advance(31 * kMicrosPerSecond);
  EXPECT_TRUE(jwks.refetch_for_unknown_kid());
  jwks.stop();
  EXPECT_FALSE(jwks.refetch_for_unknown_kid()) << "stopped";
}

}  // namespace
}  // namespace custody::oauth
