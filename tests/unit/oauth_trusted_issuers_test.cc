// Trusted external issuers (oauth/settings.h) and the keys of those configured by jwks_uri or
// discovery
// (oauth/remote_jwks.h): what the configuration accepts, and how fetched keys fail closed. The
// fetch itself against a live provider, rotation included, is tested end to end in
// tests/interop/external-issuer-jwks-uri.test.js.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
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

TEST(TrustedIssuers, AJwksUriIsKeptToFetchAndItsTimingsAndSizeAreChecked) {
  auto ok = resolve_with(nlohmann::json::array(
      {{{"issuer", "https://idp.example"}, {"jwks_uri", "https://idp.example/jwks"}},
       {{"issuer", "https://local.example"},
        {"jwks_uri", "http://127.0.0.1:9/jwks"},
        {"jwks_refresh_seconds", 10},
        {"jwks_max_age_seconds", 10},
        {"jwks_refetch_cooldown_seconds", 0},
        {"jwks_timeout_seconds", 1},
        {"jwks_max_bytes", 4096}}}));
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
                            "needs one of \"jwks\", \"jwks_file\", \"jwks_uri\" or \"discovery\""));
  EXPECT_TRUE(RefusedNaming(resolve_with(entry({{"discovery", true}})), "needs one of"));
  EXPECT_TRUE(
      RefusedNaming(resolve_with(entry({{"jwks_refresh_seconds", 0}})),
                    "\"jwks_refresh_seconds\" must be a whole number of seconds in 1..86400"));
  EXPECT_TRUE(RefusedNaming(
      resolve_with(entry({{"jwks_refresh_seconds", 600}, {"jwks_max_age_seconds", 300}})),
      "\"jwks_max_age_seconds\" must be a whole number of seconds in 600.."));
  EXPECT_TRUE(RefusedNaming(resolve_with(entry({{"jwks_timeout_seconds", "5"}})),
                            "\"jwks_timeout_seconds\""));
  EXPECT_TRUE(
      RefusedNaming(resolve_with(entry({{"jwks_max_bytes", 512}})),
                    "\"jwks_max_bytes\" must be a whole number of bytes in 1024..16777216"));
  EXPECT_TRUE(
      RefusedNaming(resolve_with(entry({{"jwks_max_bytes", 1.5e6}})), "\"jwks_max_bytes\""));
  EXPECT_TRUE(RefusedNaming(
      resolve_with(nlohmann::json::array({{{"issuer", "https://idp.example"}}})), "needs one of"));
}

TEST(TrustedIssuers, DiscoveryReadsTheIssuersOpenIdConfiguration) {
  auto ok = resolve_with(nlohmann::json::array(
      {{{"issuer", "https://idp.example/realms/a/"}, {"discovery", true}},
       {{"issuer", "http://127.0.0.1:9"}, {"discovery", true}, {"jwks_timeout_seconds", 1}}}));
  ASSERT_TRUE(ok.ok()) << ok.error().message;
  // OpenID Connect Discovery 1.0 §4: the issuer's terminating "/" is removed before appending.
  EXPECT_EQ(ok->trusted("https://idp.example/realms/a/")->remote->url_text(),
            "https://idp.example/realms/a/.well-known/openid-configuration");
  EXPECT_EQ(ok->trusted("http://127.0.0.1:9")->remote->url_text(),
            "http://127.0.0.1:9/.well-known/openid-configuration");

  auto one = [](nlohmann::json e) { return nlohmann::json::array({e}); };
  EXPECT_TRUE(RefusedNaming(
      resolve_with(one({{"issuer", "http://idp.example"}, {"discovery", true}})),
      "issuer http://idp.example: discovery needs an https issuer (http only to a loopback "
      "address)"));
  EXPECT_TRUE(RefusedNaming(resolve_with(one({{"issuer", "idp-without-url"}, {"discovery", true}})),
                            "issuer idp-without-url: discovery needs an issuer URL: "));
  EXPECT_TRUE(
      RefusedNaming(resolve_with(one({{"issuer", "https://idp.example"}, {"discovery", "yes"}})),
                    "\"discovery\" must be true"));
  EXPECT_TRUE(RefusedNaming(resolve_with(one({{"issuer", "https://idp.example"},
                                              {"discovery", true},
                                              {"jwks_uri", "https://idp.example/jwks"}})),
                            "needs one of"));
}

TEST(RemoteJwks, ADiscoveredJwksUriIsHttpsOrLoopbackForALoopbackIssuerOnly) {
  auto url = [](const char* text) { return net::parse_endpoint_url(text).value(); };
  auto allowed = [&](const char* configuration, const char* jwks) {
    return RemoteJwks::discovered_jwks_uri_allowed(url(configuration), url(jwks), jwks);
  };
  const char* remote = "https://idp.example/.well-known/openid-configuration";
  const char* local = "http://127.0.0.1:8081/.well-known/openid-configuration";
  EXPECT_TRUE(allowed(remote, "https://keys.idp.example/jwks").ok());
  EXPECT_TRUE(allowed(local, "https://keys.idp.example/jwks").ok());
  EXPECT_TRUE(allowed(local, "http://127.0.0.1:8082/jwks").ok());

  Status to_loopback = allowed(remote, "http://127.0.0.1:6379/jwks");
  ASSERT_FALSE(to_loopback.ok());
  EXPECT_EQ(to_loopback.error().message,
            "its jwks_uri http://127.0.0.1:6379/jwks is http to a loopback address, allowed only "
            "for a loopback issuer");
  Status plain = allowed(local, "http://keys.idp.example/jwks");
  ASSERT_FALSE(plain.ok());
  EXPECT_EQ(plain.error().message, "its jwks_uri http://keys.idp.example/jwks is not https");
}

// A loopback port that takes connections (the kernel completes them) but never answers.
class SilentPort {
 public:
  SilentPort() {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    if (fd_ < 0 || ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), len) != 0 ||
        ::listen(fd_, 16) != 0 || ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0)
      ADD_FAILURE() << "cannot listen on 127.0.0.1";
    port_ = ntohs(addr.sin_port);
  }
  ~SilentPort() { ::close(fd_); }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/jwks"; }

 private:
  int fd_ = -1;
  int port_ = 0;
};

// Three providers that never answer, each allowed 1 s: one after another start-up would wait
// 3 s, side by side it waits for one timeout. Each issuer keeps its own fetch error.
TEST(TrustedIssuers, FirstFetchesRunSideBySide) {
  SilentPort a, b, c;
  nlohmann::json entries = nlohmann::json::array();
  int n = 0;
  for (const SilentPort* p : {&a, &b, &c})
    entries.push_back({{"issuer", "https://idp" + std::to_string(++n) + ".example"},
                       {"jwks_uri", p->url()},
                       {"jwks_timeout_seconds", 1}});
  auto settings = resolve_with(entries);
  ASSERT_TRUE(settings.ok()) << settings.error().message;

  const auto began = std::chrono::steady_clock::now();
  start_remote_keys(settings->trusted_issuers);
  const auto waited = std::chrono::steady_clock::now() - began;
  EXPECT_GE(waited, std::chrono::milliseconds(900));
  EXPECT_LT(waited, std::chrono::milliseconds(2500)) << "the fetches ran one after another";
  for (const auto& t : settings->trusted_issuers) {
    auto keys = t.remote->current(SystemClock().now());
    ASSERT_FALSE(keys.ok()) << t.issuer;
    EXPECT_NE(
        keys.error().message.find("have not been fetched: cannot fetch " + t.remote->url_text() +
                                  ": timed out after 1s waiting for the response"),
        std::string::npos)
        << keys.error().message;
  }
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
