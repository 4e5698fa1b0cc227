// A trusted external issuer's keys from its jwks_uri. See remote_jwks.h.
#include "oauth/remote_jwks.h"

#include <nlohmann/json.hpp>

#include "common/log.h"
#include "common/thread_name.h"
#include "net/http_client.h"

namespace custody::oauth {

RemoteJwks::RemoteJwks(std::string issuer, net::EndpointUrl url, std::string url_text,
                       Options options, const Clock& clock)
    : issuer_(std::move(issuer)),
      url_(std::move(url)),
      url_text_(std::move(url_text)),
      options_(options),
      clock_(clock) {}

RemoteJwks::~RemoteJwks() {
  stop();
}

void RemoteJwks::start() {
  {
    std::lock_guard lock(mu_);
    if (started_) return;
    started_ = true;
  }
  Status first = fetch();
  if (!first.ok())
    log::warn("cannot fetch a trusted issuer's keys; its tokens are refused until a fetch succeeds",
              {{"issuer", issuer_},
               {options_.discovery ? "openid_configuration" : "jwks_uri", url_text_},
               {"error", first.error().message}});
  std::lock_guard lock(mu_);
  if (stopping_) return;
  refresher_ = std::thread([this, failing = !first.ok()] { refresher_loop(failing); });
  set_thread_name(refresher_, "jwks-refresh");
}

void RemoteJwks::stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (refresher_.joinable()) refresher_.join();
}

Result<std::shared_ptr<const crypto::JwkSet>> RemoteJwks::current(Micros now) const {
  std::lock_guard lock(mu_);
  if (keys_ && now - fetched_at_ <= options_.max_age) return keys_;
  const std::string source = "the keys of issuer " + issuer_ + " (" + url_text_ + ")";
  if (!keys_)
    return Error::unavailable(source + " have not been fetched" +
                              (last_error_.empty() ? std::string() : ": " + last_error_));
  return Error::unavailable(
      source + " were fetched " + std::to_string((now - fetched_at_) / kMicrosPerSecond) +
      " s ago, longer than its jwks_max_age_seconds allows" +
      (last_error_.empty() ? std::string() : "; the last fetch failed: " + last_error_));
}

bool RemoteJwks::refetch_for_unknown_kid() {
  std::lock_guard lock(mu_);
  if (!started_ || stopping_) return false;
  if (fetch_asked_) return true;
  if (clock_.now() - fetch_began_at_ < options_.cooldown) return false;
  fetch_asked_ = true;
  cv_.notify_all();
  return true;
}

Result<nlohmann::json> RemoteJwks::get_json(const net::EndpointUrl& url, const std::string& text,
                                            const char* accept) const {
  net::HttpClientOptions http;
  http.connect_timeout = options_.timeout;
  http.io_timeout = options_.timeout;
  http.max_body_bytes = options_.max_bytes;
  http.user_agent = "custodyd";
  net::HttpRequest request;
  request.method = net::Method::kGet;
  request.target = url.target;
  request.headers = {{"Accept", accept}};
  auto response = net::HttpClient(url.server, http).send(request);
  if (!response.ok())
    return Error::unavailable("cannot fetch " + text + ": " + response.error().message);
  if (response->status != 200)
    return Error::unavailable(text + " answered HTTP " + std::to_string(response->status));
  auto doc = nlohmann::json::parse(response->body, nullptr, false);
  if (doc.is_discarded()) return Error::unavailable(text + " did not answer JSON");
  return doc;
}

Status RemoteJwks::discovered_jwks_uri_allowed(const net::EndpointUrl& configuration,
                                               const net::EndpointUrl& jwks_uri,
                                               const std::string& jwks_uri_text) {
  if (jwks_uri.server.tls) return ok_status();
  if (!jwks_uri.server.is_loopback())
    return Error::unavailable("its jwks_uri " + jwks_uri_text + " is not https");
  if (configuration.server.tls || !configuration.server.is_loopback())
    return Error::unavailable("its jwks_uri " + jwks_uri_text +
                              " is http to a loopback address, allowed only for a loopback issuer");
  return ok_status();
}

Result<std::pair<net::EndpointUrl, std::string>> RemoteJwks::discover_jwks_uri() const {
  CUSTODY_ASSIGN(auto doc, get_json(url_, url_text_, "application/json"));
  // OpenID Connect Discovery 1.0 §4.3: the issuer the document names MUST be the one whose
  // configuration was asked for, or its keys could vouch for another issuer's tokens.
  if (!doc.is_object() || !doc.contains("issuer") || doc["issuer"] != issuer_)
    return Error::unavailable(url_text_ + " names issuer " +
                              (doc.is_object() && doc.contains("issuer")
                                   ? doc["issuer"].dump().substr(0, 120)
                                   : std::string("none")) +
                              ", not " + issuer_);
  if (!doc["jwks_uri"].is_string()) return Error::unavailable(url_text_ + " names no jwks_uri");
  std::string text = doc["jwks_uri"].get<std::string>();
  auto url = net::parse_endpoint_url(text);
  if (!url.ok()) return Error::unavailable(url_text_ + ": jwks_uri: " + url.error().message);
  if (Status allowed = discovered_jwks_uri_allowed(url_, *url, text); !allowed.ok())
    return Error::unavailable(url_text_ + ": " + allowed.error().message);
  return std::pair{std::move(url).value(), std::move(text)};
}

Status RemoteJwks::fetch() {
  const Micros began = clock_.now();
  {
    std::lock_guard lock(mu_);
    fetch_began_at_ = began;
  }
  auto failed = [&](const std::string& why) -> Status {
    std::lock_guard lock(mu_);
    last_error_ = why;
    return Error::unavailable(why);
  };
  // Discovery is read at every fetch, so that a provider that moves its jwks_uri is followed.
  std::pair<net::EndpointUrl, std::string> jwks_uri{url_, url_text_};
  if (options_.discovery) {
    auto discovered = discover_jwks_uri();
    if (!discovered.ok()) return failed(discovered.error().message);
    jwks_uri = std::move(discovered).value();
  }
  const auto& [url, text] = jwks_uri;
  auto doc = get_json(url, text, "application/jwk-set+json, application/json");
  if (!doc.ok()) return failed(doc.error().message);
  auto keys = crypto::JwkSet::parse(*doc, "jwks_uri");
  if (!keys.ok()) return failed(text + ": " + keys.error().message);
  if (keys->empty()) return failed(text + " has no usable signing key");

  auto fresh = std::make_shared<const crypto::JwkSet>(std::move(keys).value());
  std::lock_guard lock(mu_);
  const bool changed = !keys_ || keys_->to_json() != fresh->to_json();
  keys_ = std::move(fresh);
  fetched_at_ = clock_.now();
  last_error_.clear();
  if (changed) {
    nlohmann::json kids = nlohmann::json::array();
    for (const auto& k : keys_->keys()) kids.push_back(k.kid());
    log::info("trusted issuer keys fetched",
              {{"issuer", issuer_}, {"jwks_uri", text}, {"kids", kids}});
  }
  return ok_status();
}

void RemoteJwks::refresher_loop(bool failing) {
  const auto period = std::chrono::microseconds(options_.refresh);
  std::unique_lock lock(mu_);
  for (;;) {
    cv_.wait_for(lock, period, [&] { return stopping_ || fetch_asked_; });
    if (stopping_) return;
    lock.unlock();
    Status st = fetch();
    // Said once per run of failures, not at every retry.
    if (!st.ok() && !failing)
      log::warn(
          "cannot refresh a trusted issuer's keys; the keys held stay in use until "
          "jwks_max_age_seconds",
          {{"issuer", issuer_}, {"error", st.error().message}});
    failing = !st.ok();
    lock.lock();
    fetch_asked_ = false;
  }
}

}  // namespace custody::oauth
