// Server URL parsing and request-target building for the CLI (src/cli/url.h).
#include <gtest/gtest.h>

#include "cli/http_client.h"

namespace custody::cli {
namespace {

TEST(CliServerUrl, ParsesHttpWithPort) {
  auto url = parse_server_url("http://127.0.0.1:8080");
  ASSERT_TRUE(url.ok()) << url.error().message;
  EXPECT_FALSE(url->tls);
  EXPECT_EQ(url->host, "127.0.0.1");
  EXPECT_EQ(url->port, 8080);
  EXPECT_EQ(url->base_path, "");
  EXPECT_EQ(url->host_header(), "127.0.0.1:8080");
  EXPECT_EQ(url->str(), "http://127.0.0.1:8080");
  EXPECT_TRUE(url->is_loopback());
  EXPECT_TRUE(url->is_ip_literal());
}

TEST(CliServerUrl, DefaultsPortsByScheme) {
  auto https = parse_server_url("HTTPS://custody.example.com/");
  ASSERT_TRUE(https.ok());
  EXPECT_TRUE(https->tls);
  EXPECT_EQ(https->port, 443);
  EXPECT_EQ(https->host_header(), "custody.example.com");
  EXPECT_EQ(https->str(), "https://custody.example.com");
  EXPECT_FALSE(https->is_loopback());
  EXPECT_FALSE(https->is_ip_literal());

  auto http = parse_server_url("http://localhost");
  ASSERT_TRUE(http.ok());
  EXPECT_EQ(http->port, 80);
  EXPECT_TRUE(http->is_loopback());
}

TEST(CliServerUrl, KeepsBasePathWithoutTrailingSlash) {
  auto url = parse_server_url("https://proxy.example:8443/custody//");
  ASSERT_TRUE(url.ok());
  EXPECT_EQ(url->base_path, "/custody");
  EXPECT_EQ(url->str(), "https://proxy.example:8443/custody");
}

TEST(CliServerUrl, ParsesIpv6Literals) {
  auto url = parse_server_url("http://[::1]:9000");
  ASSERT_TRUE(url.ok()) << url.error().message;
  EXPECT_EQ(url->host, "::1");
  EXPECT_EQ(url->port, 9000);
  EXPECT_EQ(url->host_header(), "[::1]:9000");
  EXPECT_TRUE(url->is_loopback());
  EXPECT_TRUE(url->is_ip_literal());
}

TEST(CliServerUrl, RefusesBadInput) {
  for (const char* bad :
       {"", "127.0.0.1:8080", "ftp://host", "http://", "http://:80", "http://host:0",
        "http://host:65536", "http://host:80x", "http://user:pw@host", "http://host/?x=1",
        "http://host/#f", "http://[::1", "http://[::1]x"}) {
    EXPECT_FALSE(parse_server_url(bad).ok()) << bad;
  }
}

TEST(CliPercentEncode, KeepsOnlyUnreserved) {
  EXPECT_EQ(percent_encode("AZaz09-._~"), "AZaz09-._~");
  EXPECT_EQ(percent_encode("team:billing & ops"), "team%3Abilling%20%26%20ops");
  EXPECT_EQ(percent_encode("a/b?c=d#e+f%"), "a%2Fb%3Fc%3Dd%23e%2Bf%25");
  EXPECT_EQ(percent_encode("\xc3\xa9"), "%C3%A9");
  EXPECT_EQ(percent_encode(""), "");
}

TEST(CliBuildQuery, EncodesInOrderWithRepeats) {
  EXPECT_EQ(build_query({}), "");
  EXPECT_EQ(build_query({{"kind", "agent"}, {"label", "team:billing"}, {"label", "env:prod"}}),
            "?kind=agent&label=team%3Abilling&label=env%3Aprod");
  EXPECT_EQ(build_query({{"since", "2026-01-01T00:00:00+01:00"}}),
            "?since=2026-01-01T00%3A00%3A00%2B01%3A00");
}

TEST(CliApiPath, EscapesEverySegment) {
  EXPECT_EQ(api_path({"identities"}), "/api/v1/identities");
  EXPECT_EQ(api_path({"identities", "agt_01JD", "suspend"}), "/api/v1/identities/agt_01JD/suspend");
  EXPECT_EQ(api_path({"identities", "../tokens"}), "/api/v1/identities/..%2Ftokens");
  EXPECT_EQ(api_path({"identities", ".."}), "/api/v1/identities/%2E%2E");
  EXPECT_EQ(api_path({"identities", "."}), "/api/v1/identities/%2E");
}

}  // namespace
}  // namespace custody::cli
