#include "ssf/transmitter.h"

#include <algorithm>

#include "audit/events.h"
#include "common/log.h"
#include "common/thread_name.h"
#include "net/http_client.h"
#include "ssf/set.h"
#include "ssf/streams.h"

namespace custody::ssf {
namespace {

// While SETs were queued recently, the outbox is looked at this often: the queue listener fires
// inside the writer's transaction, before the SETs are visible.
constexpr auto kEagerScan = std::chrono::milliseconds(20);
constexpr auto kEagerWindow = std::chrono::milliseconds(1000);
constexpr std::int64_t kBatch = 50;
constexpr Micros kKeepSettled = 7LL * 24 * 3600 * kMicrosPerSecond;
constexpr auto kPurgeEvery = std::chrono::hours(1);

// The receiver's RFC 8935 §2.3 error, or the start of whatever it sent.
std::string describe_refusal(const net::HttpResponse& response) {
  auto body = nlohmann::json::parse(response.body, nullptr, false);
  if (body.is_object() && body.contains("err") && body["err"].is_string()) {
    std::string text = body["err"].get<std::string>();
    if (body.contains("description") && body["description"].is_string())
      text += ": " + body["description"].get<std::string>();
    return text;
  }
  return "HTTP " + std::to_string(response.status) + " " + response.body.substr(0, 200);
}

}  // namespace

Transmitter::Transmitter(store::Store& store, const crypto::SigningKeys& keys, const Clock& clock,
                         SsfConfig config)
    : store_(store), keys_(keys), clock_(clock), config_(std::move(config)) {}

Transmitter::~Transmitter() {
  stop();
}

void Transmitter::start() {
  set_queue_listener([this] { wake(); });
  worker_ = std::thread([this] { run(); });
  set_thread_name(worker_, "ssf-push");
}

void Transmitter::stop() {
  set_queue_listener({});
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (worker_.joinable()) worker_.join();
}

void Transmitter::wake() {
  {
    std::lock_guard lock(mu_);
    woken_ = true;
    eager_until_ = std::chrono::steady_clock::now() + kEagerWindow;
  }
  cv_.notify_all();
}

Result<std::string> Transmitter::sign(const nlohmann::json& claims) const {
  auto key = keys_.current();
  if (!key) return Error::unavailable("no signing key is installed");
  return sign_set(claims, key->key);
}

Micros Transmitter::backoff(std::int64_t attempts) const {
  Micros delay = config_.push_retry_base_ms * 1000;
  for (std::int64_t i = 1; i < attempts && delay < config_.push_retry_max_ms * 1000; ++i)
    delay *= 2;
  return std::min<Micros>(delay, config_.push_retry_max_ms * 1000);
}

void Transmitter::run() {
  std::unique_lock lock(mu_);
  while (!stop_) {
    lock.unlock();
    push_once();
    if (std::chrono::steady_clock::now() >= next_purge_) {
      next_purge_ = std::chrono::steady_clock::now() + kPurgeEvery;
      Micros before = clock_.now() - kKeepSettled;
      Status purged = store_.write_sync([before](store::Tx& tx) -> Status {
        CUSTODY_TRY(purge_settled(tx, before));
        return ok_status();
      });
      if (!purged.ok())
        log::error("ssf: cannot purge settled SETs", {{"error", purged.error().message}});
    }
    lock.lock();
    auto wait = std::chrono::steady_clock::now() < eager_until_
                    ? std::chrono::milliseconds(kEagerScan)
                    : std::chrono::milliseconds(config_.push_scan_ms);
    cv_.wait_for(lock, wait, [this] { return stop_ || woken_; });
    woken_ = false;
  }
}

std::size_t Transmitter::push_once() {
  std::vector<Stream> streams;
  Status s = store_.read([&](store::Tx& tx) -> Status {
    CUSTODY_ASSIGN(auto all, list_streams(tx, std::nullopt));
    for (auto& stream : all)
      if (stream.status == "enabled" && stream.method == kPushMethod)
        streams.push_back(std::move(stream));
    return ok_status();
  });
  if (!s.ok()) {
    log::error("ssf: cannot read the streams", {{"error", s.error().message}});
    return 0;
  }
  std::size_t settled = 0;
  for (const auto& stream : streams) {
    {
      std::lock_guard lock(mu_);
      if (stop_) break;
    }
    settled += push_stream(stream);
  }
  return settled;
}

std::size_t Transmitter::push_stream(const Stream& stream) {
  std::vector<QueuedSet> sets;
  Status s = store_.read([&](store::Tx& tx) -> Status {
    CUSTODY_ASSIGN(sets, pending_sets(tx, stream.id, kBatch));
    return ok_status();
  });
  if (!s.ok() || sets.empty()) return 0;
  auto url = net::parse_endpoint_url(stream.endpoint_url);
  std::size_t settled = 0;
  for (const auto& set : sets) {
    Micros now = clock_.now();
    if (set.next_attempt_at > now) break;  // a retry that is not due holds the stream's order
    {
      std::lock_guard lock(mu_);
      if (stop_) break;
    }
    std::string outcome;  // "delivered", "failed" or "retry"
    std::string error;
    auto jwt = sign(set.claims);
    if (!jwt.ok()) {
      outcome = "retry";
      error = "cannot sign: " + jwt.error().message;
    } else if (!url.ok()) {
      outcome = "failed";
      error = "bad endpoint_url: " + url.error().message;
    } else {
      net::Headers headers = {{"Accept", "application/json"}};
      if (!stream.authorization_header.empty())
        headers.emplace_back("Authorization", stream.authorization_header);
      auto response =
          net::post_to(*url, *jwt, "application/secevent+jwt", std::move(headers),
                       std::chrono::milliseconds(config_.push_timeout_ms), "custody-ssf");
      if (!response.ok()) {
        outcome = "retry";
        error = response.error().message;
      } else if (response->status >= 200 && response->status < 300) {
        outcome = "delivered";
      } else if (response->status == 400) {
        outcome = "failed";
        error = describe_refusal(*response);
      } else {
        outcome = "retry";
        error = describe_refusal(*response);
      }
    }
    if (outcome == "retry" && set.attempts + 1 >= config_.push_max_attempts) {
      outcome = "failed";
      error = "gave up after " + std::to_string(set.attempts + 1) + " attempts: " + error;
    }
    now = clock_.now();
    Status written = store_.write_sync([&](store::Tx& tx) -> Status {
      if (outcome == "delivered") return mark_delivered(tx, stream.id, set.jti, now);
      if (outcome == "retry")
        return mark_retry(tx, stream.id, set.jti, error, now + backoff(set.attempts + 1));
      CUSTODY_TRY(mark_failed(tx, stream.id, set.jti, error, now));
      audit::Event event;
      event.time = now;
      event.actor = "system";
      event.action = "ssf.set.failed";
      event.target = stream.id;
      event.outcome = "success";
      event.details = {{"jti", set.jti}, {"event_type", set.event_type}, {"error", error}};
      return audit::append(tx, event);
    });
    if (!written.ok()) {
      log::error("ssf: cannot record a delivery",
                 {{"stream_id", stream.id}, {"jti", set.jti}, {"error", written.error().message}});
      break;
    }
    if (outcome == "retry") {
      log::warn("ssf: push failed, will retry",
                {{"stream_id", stream.id}, {"jti", set.jti}, {"error", error}});
      break;
    }
    if (outcome == "failed")
      log::warn("ssf: SET failed, not retried",
                {{"stream_id", stream.id}, {"jti", set.jti}, {"error", error}});
    ++settled;
  }
  return settled;
}

}  // namespace custody::ssf
