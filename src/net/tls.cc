#include "net/tls.h"

#include <openssl/x509v3.h>

namespace custody::net {

Status make_verifying_context(boost::asio::ssl::context& context) {
  boost::system::error_code ec;
  context.set_default_verify_paths(ec);
  if (ec)
    return Error::unavailable("cannot load the system's trusted certificates: " + ec.message());
  SSL_CTX_set_min_proto_version(context.native_handle(), TLS1_2_VERSION);
  return ok_status();
}

Status prepare_tls_peer(SSL* handle, const ServerUrl& server) {
  if (server.is_ip_literal()) {
    // RFC 6066 forbids IP literals in SNI; the certificate must carry the IP in its SAN.
    if (X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(handle), server.host.c_str()) != 1) {
      return Error::unavailable("cannot verify IP address " + server.host);
    }
  } else {
    if (SSL_set1_host(handle, server.host.c_str()) != 1 ||
        SSL_set_tlsext_host_name(handle, server.host.c_str()) != 1) {
      return Error::unavailable("cannot set up TLS for host " + server.host);
    }
  }
  SSL_set_verify(handle, SSL_VERIFY_PEER, SSL_get_verify_callback(handle));
  return ok_status();
}

std::optional<std::string> certificate_failure(SSL* handle) {
  long verify = SSL_get_verify_result(handle);
  if (verify == X509_V_OK) return std::nullopt;
  return std::string("TLS certificate verification failed: ") +
         X509_verify_cert_error_string(verify);
}

}  // namespace custody::net
