// TLS: custodyd serves HTTPS when tls.cert_file and tls.key_file are set. The test makes a
// self-signed P-256 certificate for 127.0.0.1, trusts exactly that certificate, and talks to the
// server through Beast's TLS stream.
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <cstdio>
#include <filesystem>

#include "../common/self_signed_cert.h"
#include "harness.h"

namespace custody::apitest {
namespace {

namespace net = boost::asio;
namespace beast = boost::beast;

using custody::test_support::write_self_signed;

class TlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (auto reason = backend_skip_reason(); !reason.empty()) GTEST_SKIP() << reason;
    dir_ = std::filesystem::temp_directory_path() / ("custody-tls-" + random_hex(6));
    std::filesystem::create_directories(dir_);
    ASSERT_TRUE(write_self_signed(dir_));
  }
  void TearDown() override {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  std::filesystem::path dir_;
};

TEST_F(TlsTest, ServesHttpsWithTheConfiguredCertificate) {
  Custodyd server(Custodyd::Env{{"CUSTODY_TLS_CERT_FILE", (dir_ / "tls.crt").string()},
                                {"CUSTODY_TLS_KEY_FILE", (dir_ / "tls.key").string()}});
  ASSERT_TRUE(server.start());
  EXPECT_TRUE(server.wait_for_log("listening on https://127.0.0.1:", Millis(1000)));

  net::io_context io;
  net::ssl::context tls(net::ssl::context::tls_client);
  tls.load_verify_file((dir_ / "tls.crt").string());
  tls.set_verify_mode(net::ssl::verify_peer);
  beast::ssl_stream<beast::tcp_stream> stream(io, tls);
  stream.set_verify_callback(net::ssl::host_name_verification("127.0.0.1"));
  beast::get_lowest_layer(stream).expires_after(std::chrono::seconds(10));
  beast::get_lowest_layer(stream).connect(
      net::ip::tcp::endpoint(net::ip::make_address("127.0.0.1"), server.port()));
  beast::error_code ec;
  stream.handshake(net::ssl::stream_base::client, ec);
  ASSERT_FALSE(ec) << "TLS handshake: " << ec.message();

  beast::http::request<beast::http::empty_body> req(beast::http::verb::get, "/api/v1/identities",
                                                    11);
  req.set(beast::http::field::host, "127.0.0.1");
  req.set(beast::http::field::authorization, "Bearer " + server.admin_token());
  beast::http::write(stream, req, ec);
  ASSERT_FALSE(ec) << ec.message();
  beast::flat_buffer buffer;
  beast::http::response<beast::http::string_body> res;
  beast::http::read(stream, buffer, res, ec);
  ASSERT_FALSE(ec) << ec.message();
  EXPECT_EQ(res.result_int(), 200u) << res.body();
  EXPECT_NE(res.body().find("\"items\""), std::string::npos) << res.body();
}

TEST_F(TlsTest, PlainHttpOnTheTlsPortGetsNoAnswer) {
  Custodyd server(Custodyd::Env{{"CUSTODY_TLS_CERT_FILE", (dir_ / "tls.crt").string()},
                                {"CUSTODY_TLS_KEY_FILE", (dir_ / "tls.key").string()}});
  ASSERT_TRUE(server.start());
  RawConnection raw(server.port());
  ASSERT_TRUE(raw.connected());
  raw.send("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
  EXPECT_TRUE(raw.wait_closed(Millis(5000)));
  EXPECT_EQ(raw.received().find("HTTP/1.1 200"), std::string::npos) << raw.received();
}

TEST(TlsConfigTest, OnlyOneOfCertAndKeyStopsStartUpNamingTheKey) {
  if (auto reason = backend_skip_reason(); !reason.empty()) GTEST_SKIP() << reason;
  Custodyd server(Custodyd::Env{{"CUSTODY_TLS_CERT_FILE", "/nonexistent.crt"}});
  ASSERT_TRUE(server.launch());
  auto code = server.wait_exit(Millis(10'000));
  ASSERT_TRUE(code.has_value());
  EXPECT_NE(*code, 0);
  EXPECT_NE(server.logs().find("tls.cert_file"), std::string::npos) << server.logs();
}

}  // namespace
}  // namespace custody::apitest
