// The approval notifier in custodyd (docs/approvals.md, "Notifications"): delivers the outbox of
// approval_notifications.h on one background thread, after the commits that queued it, so that
// no request ever waits on a receiver.
//
// Per notification:
//  - webhook: when the approval is still pending and unexpired, POSTs to the approver's webhook
//    (the approver's approvals.webhook_url label, else approvals.webhook_url) a JSON description
//    of the request with its signed callback links (approval_callbacks.h), signed with
//    Custody-Signature under approvals.webhook_secret. Skipped when there is no URL or the
//    approval was decided or expired first; failed when there is a URL but no secret.
//  - ciba_ping: POSTs {"auth_req_id"} with Authorization: Bearer <client_notification_token> to
//    the client's notification endpoint (OpenID CIBA Core 1.0 §10.2).
// The receiver answers 2xx: delivered. It answers 4xx (but 408 and 429): failed at once, as it
// has judged the request. Anything else (no connection, timeout, 5xx): retried after
// approvals.notify_retry_base_ms, doubling per attempt up to approvals.notify_retry_max_ms, and
// failed after approvals.notify_max_attempts attempts. Deliveries and failures are audited
// (approval.notification.delivered / approval.notification.failed, actor "system").
//
// Settled notifications are deleted a week after they settled (once an hour).
//
// Thread safety: wake() from any thread; start()/stop() from the owning thread.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <mutex>
#include <string>
#include <thread>

#include "common/clock.h"
#include "common/config.h"
#include "crypto/keyed_hash.h"
#include "policy/approval_notifications.h"
#include "store/store.h"

namespace custody::policy {

class ApprovalNotifier {
 public:
  // `hasher` keys the callback signatures (the server secret); it must outlive the notifier.
  ApprovalNotifier(store::Store& store, const Clock& clock, const crypto::SecretHasher& hasher,
                   ApprovalsConfig config);
  ~ApprovalNotifier();
  ApprovalNotifier(const ApprovalNotifier&) = delete;
  ApprovalNotifier& operator=(const ApprovalNotifier&) = delete;

  // Starts the worker; callback links are built under approvals.callback_base_url, else under
  // `issuer` (custody's public URL).
  void start(const std::string& issuer);
  // Stops the worker (an in-flight POST finishes first, bounded by approvals.notify_timeout_ms).
  void stop();
  // Asks the worker to look at the outbox now (and for a short while after).
  void wake();
  // One pass over the due notifications; the number settled (delivered, failed or skipped).
  std::size_t deliver_once();

 private:
  struct Attempt {
    std::string outcome;  // delivered | failed | skipped | retry
    std::string error;
  };
  Attempt attempt(const ApprovalNotification& n);
  Attempt send_webhook(const ApprovalNotification& n);
  Attempt send_ping(const ApprovalNotification& n);
  Attempt post(const std::string& url, const std::string& body,
               std::vector<std::pair<std::string, std::string>> headers);
  Micros backoff(std::int64_t attempts) const;
  void run();

  store::Store& store_;
  const Clock& clock_;
  const crypto::SecretHasher& hasher_;
  ApprovalsConfig config_;
  std::string base_url_;

  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  bool woken_ = false;
  std::chrono::steady_clock::time_point eager_until_{};
  std::chrono::steady_clock::time_point next_purge_{};
  std::thread worker_;
};

}  // namespace custody::policy
