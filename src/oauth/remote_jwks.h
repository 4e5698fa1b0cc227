// RemoteJwks: the signing keys of a trusted external issuer, fetched from its jwks_uri and kept
// fresh (docs/oauth.md, "Trusted external issuers").
//
// Contract:
//  - start() fetches once, synchronously (so that a reachable issuer's tokens verify as soon as
//    custodyd is ready), then a thread of its own fetches again every `refresh`. A failed fetch
//    keeps the keys already held; custodyd starts whether or not the issuer answers.
//  - current(now) gives the keys to verify with, or fails closed (kUnavailable, with the reason)
//    when none was ever fetched or the last successful fetch is older than `max_age`: a key the
//    issuer withdrew is never trusted longer than that.
//  - A token whose "kid" the keys lack (the issuer rotated) asks for a fetch now through
//    refetch_for_unknown_kid(), at most once per `cooldown`: the request that saw the new kid is
//    refused (nothing waits on the network on an io thread), and a retry once the fetch is in
//    succeeds. The cooldown bounds what tokens with made-up kids can make custodyd fetch.
//  - A fetch accepts only a 200 whose body is a JWK Set (crypto::JwkSet::parse) with at least one
//    usable key, of at most `max_bytes`, within `timeout` for connecting and again for the
//    exchange. The URL is https, or http to a loopback address (checked by the caller).
//  - With `discovery`, the URL is the issuer's OpenID configuration
//    (<issuer>/.well-known/openid-configuration): each fetch first reads it (same limits), which
//    must name exactly this issuer (OpenID Connect Discovery 1.0 §4.3) and a jwks_uri that
//    discovered_jwks_uri_allowed() accepts, then fetches the keys from that jwks_uri.
//
// Thread safety: every member may be called from any thread.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <utility>

#include "common/clock.h"
#include "common/result.h"
#include "crypto/jwk.h"
#include "net/url.h"

namespace custody::oauth {

class RemoteJwks {
 public:
  struct Options {
    Micros refresh = 300 * kMicrosPerSecond;   // fetch again this often
    Micros max_age = 3600 * kMicrosPerSecond;  // keys fetched longer ago are not used
    Micros cooldown = 30 * kMicrosPerSecond;   // least time between fetches for unknown kids
    std::chrono::milliseconds timeout{5000};
    std::size_t max_bytes = 1024 * 1024;
    bool discovery = false;  // the URL is the issuer's OpenID configuration, not its jwks_uri
  };

  // `issuer` is the issuer's exact "iss" (named in errors and logs; with discovery, the
  // configuration must name it); `url_text` is `url` as configured.
  RemoteJwks(std::string issuer, net::EndpointUrl url, std::string url_text, Options options,
             const Clock& clock);
  ~RemoteJwks();
  RemoteJwks(const RemoteJwks&) = delete;
  RemoteJwks& operator=(const RemoteJwks&) = delete;

  // The first fetch, then the refresher thread. Idempotent.
  void start();
  // Stops the refresher thread (the destructor does it too).
  void stop();

  // Whether a jwks_uri named by the OpenID configuration at `configuration` may be fetched:
  // https; http only to a loopback address and only when the configuration itself was read over
  // http from loopback. A remote provider must not steer custodyd to its own loopback services
  // (whose answers would show in refusal texts).
  static Status discovered_jwks_uri_allowed(const net::EndpointUrl& configuration,
                                            const net::EndpointUrl& jwks_uri,
                                            const std::string& jwks_uri_text);

  // The keys fetched last, unless there are none or they are older than max_age.
  Result<std::shared_ptr<const crypto::JwkSet>> current(Micros now) const;
  // Asks the refresher to fetch now, unless a fetch began less than `cooldown` ago. True when
  // a fetch was asked for (or is under way).
  bool refetch_for_unknown_kid();
  // One fetch, on the caller's thread: the new keys replace the old on success.
  Status fetch();

  const std::string& url_text() const { return url_text_; }

 private:
  // `failing`: the fetch before the loop failed (and was logged).
  void refresher_loop(bool failing);
  // One GET of a JSON document within the limits; errors name `text` (the URL as written).
  Result<nlohmann::json> get_json(const net::EndpointUrl& url, const std::string& text,
                                  const char* accept) const;
  // The jwks_uri the issuer's OpenID configuration (url_) names, parsed and as written.
  Result<std::pair<net::EndpointUrl, std::string>> discover_jwks_uri() const;

  const std::string issuer_;
  const net::EndpointUrl url_;
  const std::string url_text_;
  const Options options_;
  const Clock& clock_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::shared_ptr<const crypto::JwkSet> keys_;  // null until a fetch succeeds
  Micros fetched_at_ = 0;                       // of keys_
  Micros fetch_began_at_ = 0;                   // of the latest fetch, successful or not
  std::string last_error_;                      // of the latest fetch; "" when it succeeded
  bool fetch_asked_ = false;
  bool started_ = false;
  bool stopping_ = false;
  std::thread refresher_;
};

}  // namespace custody::oauth
