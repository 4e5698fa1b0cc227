// The Shared Signals transmitter in custodyd (docs/ssf.md): signs queued SETs with custody's
// OAuth signing keys and pushes them (RFC 8935) to the streams that asked for push, on one
// background thread. Poll delivery (RFC 8936) is served by src/api/ssf_routes.cc with sign().
//
// Push delivery, per stream, in queue order:
//  - the receiver answers 2xx (RFC 8935 says 202): the SET is delivered;
//  - it answers 400 with {"err", "description"}: the SET is failed at once, logged and audited
//    ("ssf.set.failed"), and the next SET goes out — the receiver has judged this one;
//  - anything else (no connection, timeout, 5xx, other statuses): the SET is retried after
//    ssf.push_retry_base_ms, doubling per attempt up to ssf.push_retry_max_ms, and the stream's
//    later SETs wait behind it so that order is kept; after ssf.push_max_attempts attempts it is
//    failed like a 400 and the stream moves on.
// Only enabled streams are pushed to; a paused stream's SETs wait in the outbox.
//
// The worker also deletes settled SETs (delivered or failed, pushed or polled) a week after they
// were settled, once an hour.
//
// Thread safety: sign() from any thread; start()/stop() from the owning thread.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>

#include "common/clock.h"
#include "common/config.h"
#include "common/result.h"
#include "crypto/signing_keys.h"
#include "store/store.h"

namespace custody::ssf {

struct Stream;

class Transmitter {
 public:
  Transmitter(store::Store& store, const crypto::SigningKeys& keys, const Clock& clock,
              SsfConfig config);
  ~Transmitter();
  Transmitter(const Transmitter&) = delete;
  Transmitter& operator=(const Transmitter&) = delete;

  // Starts the push worker and listens for queued SETs (streams.h set_queue_listener).
  void start();
  // Stops the worker (an in-flight POST finishes first, bounded by ssf.push_timeout_ms).
  void stop();

  // Signs SET claims with the current OAuth key (typ secevent+jwt).
  Result<std::string> sign(const nlohmann::json& claims) const;
  // Asks the worker to look at the outbox now (and for a short while, since the SETs that woke
  // it commit a moment later).
  void wake();

  // One pass over every enabled push stream; the number of SETs delivered or failed.
  std::size_t push_once();

  const SsfConfig& config() const { return config_; }

 private:
  // Delivers the due SETs of one stream in order; stops at the first one to retry.
  std::size_t push_stream(const Stream& stream);
  Micros backoff(std::int64_t attempts) const;
  void run();

  store::Store& store_;
  const crypto::SigningKeys& keys_;
  const Clock& clock_;
  SsfConfig config_;

  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  bool woken_ = false;
  std::chrono::steady_clock::time_point eager_until_{};
  std::chrono::steady_clock::time_point next_purge_{};
  std::thread worker_;
};

}  // namespace custody::ssf
