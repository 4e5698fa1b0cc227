// TLS peer verification shared by custody's HTTP clients (net::HttpClient and the gateway's
// upstream client), so that both verify servers the same way and neither can be configured not to.
//
// Contract:
//  - make_verifying_context(): a TLS ≥ 1.2 client context that trusts OpenSSL's default paths
//    (so SSL_CERT_FILE / SSL_CERT_DIR work for private CAs); an Error (kUnavailable) when those
//    cannot be loaded.
//  - prepare_tls_peer(): per connection, before the handshake: the certificate must match the
//    host name (or the IP literal, which RFC 6066 keeps out of SNI), SNI carries host names, and
//    the peer is verified.
//  - certificate_failure(): after a failed handshake, the verification failure if that was the
//    cause ("TLS certificate verification failed: <reason>").
#pragma once

#include <openssl/ssl.h>

#include <boost/asio/ssl/context.hpp>
#include <optional>
#include <string>

#include "common/result.h"
#include "net/url.h"

namespace custody::net {

Status make_verifying_context(boost::asio::ssl::context& context);

Status prepare_tls_peer(SSL* handle, const ServerUrl& server);

std::optional<std::string> certificate_failure(SSL* handle);

}  // namespace custody::net
