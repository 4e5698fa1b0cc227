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

#include "harness.h"

namespace custody::apitest {
namespace {

namespace net = boost::asio;
namespace beast = boost::beast;

// Writes a self-signed certificate for IP 127.0.0.1 and its key as PEM files into `dir`.
bool write_self_signed(const std::filesystem::path& dir) {
  EVP_PKEY* key = EVP_EC_gen("P-256");
  X509* cert = X509_new();
  bool ok = key && cert;
  if (ok) {
    ASN1_INTEGER_set(X509_get_serialNumber(cert), 1);
    X509_gmtime_adj(X509_getm_notBefore(cert), -60);
    X509_gmtime_adj(X509_getm_notAfter(cert), 3600);
    X509_set_pubkey(cert, key);
    X509_NAME* name = X509_get_subject_name(cert);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                               reinterpret_cast<const unsigned char*>("127.0.0.1"), -1, -1, 0);
    X509_set_issuer_name(cert, name);
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, cert, cert, nullptr, nullptr, 0);
    X509_EXTENSION* san = X509V3_EXT_conf_nid(nullptr, &ctx, NID_subject_alt_name, "IP:127.0.0.1");
    ok = san && X509_add_ext(cert, san, -1) == 1 && X509_sign(cert, key, EVP_sha256()) > 0;
    X509_EXTENSION_free(san);
  }
  if (ok) {
    FILE* c = std::fopen((dir / "tls.crt").c_str(), "w");
    FILE* k = std::fopen((dir / "tls.key").c_str(), "w");
    ok = c && k && PEM_write_X509(c, cert) == 1 &&
         PEM_write_PrivateKey(k, key, nullptr, nullptr, 0, nullptr, nullptr) == 1;
    if (c) std::fclose(c);
    if (k) std::fclose(k);
  }
  X509_free(cert);
  EVP_PKEY_free(key);
  return ok;
}

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
