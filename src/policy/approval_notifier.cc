#include "policy/approval_notifier.h"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "audit/events.h"
#include "common/log.h"
#include "common/thread_name.h"
#include "directory/identity_rows.h"
#include "net/http_client.h"
#include "policy/approval_callbacks.h"
#include "policy/approvals.h"

namespace custody::policy {
namespace {

// While notifications were queued recently, the outbox is looked at this often: the listener
// fires inside the writer's transaction, before the rows are visible.
constexpr auto kEagerScan = std::chrono::milliseconds(20);
constexpr auto kEagerWindow = std::chrono::milliseconds(1000);
constexpr std::int64_t kBatch = 50;
constexpr Micros kKeepSettled = 7LL * 24 * 3600 * kMicrosPerSecond;
// Approvals live at most 30 days (pdp.approval_ttl_seconds); a ping still held after that never
// will be released.
constexpr Micros kKeepHeld = 31LL * 24 * 3600 * kMicrosPerSecond;
constexpr auto kPurgeEvery = std::chrono::hours(1);
constexpr const char* kWebhookLabel = "approvals.webhook_url";

std::string text_member(const nlohmann::json& j, const char* key) {
  return j.is_object() && j.contains(key) && j[key].is_string() ? j[key].get<std::string>() : "";
}

// One line for the approver: who asks to do what to what (and the client's binding message).
std::string summary_of(const Approval& a) {
  const auto& q = a.question;
  const nlohmann::json none = nlohmann::json::object();
  const auto& subject = q.contains("subject") ? q["subject"] : none;
  const auto& resource = q.contains("resource") ? q["resource"] : none;
  std::string text = text_member(subject, "id") + " asks to " + text_member(q, "action") + " " +
                     text_member(resource, "type") + " " + text_member(resource, "id");
  std::string message = q.contains("context") ? text_member(q["context"], "binding_message") : "";
  if (!message.empty()) text += " (\"" + message + "\")";
  return text;
}

}  // namespace

ApprovalNotifier::ApprovalNotifier(store::Store& store, const Clock& clock,
                                   const crypto::SecretHasher& hasher, ApprovalsConfig config)
    : store_(store), clock_(clock), hasher_(hasher), config_(std::move(config)) {}

ApprovalNotifier::~ApprovalNotifier() {
  stop();
}

void ApprovalNotifier::start(const std::string& issuer) {
  base_url_ = config_.callback_base_url.empty() ? issuer : config_.callback_base_url;
  while (!base_url_.empty() && base_url_.back() == '/') base_url_.pop_back();
  set_notification_listener([this] { wake(); });
  worker_ = std::thread([this] { run(); });
  set_thread_name(worker_, "approval-notify");
}

void ApprovalNotifier::stop() {
  set_notification_listener({});
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (worker_.joinable()) worker_.join();
}

void ApprovalNotifier::wake() {
  {
    std::lock_guard lock(mu_);
    woken_ = true;
    eager_until_ = std::chrono::steady_clock::now() + kEagerWindow;
  }
  cv_.notify_all();
}

Micros ApprovalNotifier::backoff(std::int64_t attempts) const {
  Micros delay = config_.notify_retry_base_ms * 1000;
  for (std::int64_t i = 1; i < attempts && delay < config_.notify_retry_max_ms * 1000; ++i)
    delay *= 2;
  return std::min<Micros>(delay, config_.notify_retry_max_ms * 1000);
}

void ApprovalNotifier::run() {
  std::unique_lock lock(mu_);
  while (!stop_) {
    lock.unlock();
    deliver_once();
    if (std::chrono::steady_clock::now() >= next_purge_) {
      next_purge_ = std::chrono::steady_clock::now() + kPurgeEvery;
      Micros now = clock_.now();
      Status purged = store_.write_sync([now](store::Tx& tx) -> Status {
        CUSTODY_TRY(purge_notifications(tx, now - kKeepSettled, now - kKeepHeld));
        return ok_status();
      });
      if (!purged.ok())
        log::error("approvals: cannot purge settled notifications",
                   {{"error", purged.error().message}});
    }
    lock.lock();
    auto wait = std::chrono::steady_clock::now() < eager_until_
                    ? std::chrono::milliseconds(kEagerScan)
                    : std::chrono::milliseconds(config_.notify_scan_ms);
    cv_.wait_for(lock, wait, [this] { return stop_ || woken_; });
    woken_ = false;
  }
}

std::size_t ApprovalNotifier::deliver_once() {
  std::vector<ApprovalNotification> due;
  Status s = store_.read([&](store::Tx& tx) -> Status {
    CUSTODY_ASSIGN(due, due_notifications(tx, clock_.now(), kBatch));
    return ok_status();
  });
  if (!s.ok()) {
    log::error("approvals: cannot read the notification outbox", {{"error", s.error().message}});
    return 0;
  }
  std::size_t settled = 0;
  for (const auto& n : due) {
    {
      std::lock_guard lock(mu_);
      if (stop_) break;
    }
    Attempt a = attempt(n);
    if (a.outcome == "retry" && n.attempts + 1 >= config_.notify_max_attempts) {
      a.outcome = "failed";
      a.error = "gave up after " + std::to_string(n.attempts + 1) + " attempts: " + a.error;
    }
    Micros now = clock_.now();
    Status written = store_.write_sync([&](store::Tx& tx) -> Status {
      if (a.outcome == "retry")
        return retry_notification(tx, n.seq, a.error, now + backoff(n.attempts + 1));
      CUSTODY_TRY(settle_notification(tx, n.seq, a.outcome, a.error, now));
      if (a.outcome == "skipped") return ok_status();
      audit::Event event;
      event.time = now;
      event.actor = "system";
      event.action = "approval.notification." + a.outcome;
      event.target = n.approval_id;
      event.outcome = "success";
      event.details = {{"kind", n.kind}, {"attempts", n.attempts + 1}};
      if (!a.error.empty()) event.details["error"] = a.error;
      return audit::append(tx, event);
    });
    if (!written.ok()) {
      log::error("approvals: cannot record a notification",
                 {{"approval_id", n.approval_id}, {"error", written.error().message}});
      continue;
    }
    if (a.outcome == "retry") {
      log::warn("approvals: notification failed, will retry",
                {{"approval_id", n.approval_id}, {"kind", n.kind}, {"error", a.error}});
      continue;
    }
    if (a.outcome == "failed")
      log::warn("approvals: notification failed, not retried",
                {{"approval_id", n.approval_id}, {"kind", n.kind}, {"error", a.error}});
    ++settled;
  }
  return settled;
}

ApprovalNotifier::Attempt ApprovalNotifier::attempt(const ApprovalNotification& n) {
  if (n.kind == kCibaPing) return send_ping(n);
  if (n.kind == kWebhookNotification) return send_webhook(n);
  return {"failed", "unknown notification kind " + n.kind};
}

ApprovalNotifier::Attempt ApprovalNotifier::send_ping(const ApprovalNotification& n) {
  nlohmann::json body = {{"auth_req_id", n.approval_id}};
  return post(n.url, body.dump(), {{"Authorization", "Bearer " + n.bearer}});
}

ApprovalNotifier::Attempt ApprovalNotifier::send_webhook(const ApprovalNotification& n) {
  std::optional<Approval> approval;
  std::string url = config_.webhook_url;
  Status s = store_.read([&](store::Tx& tx) -> Status {
    auto found = get_approval(tx, n.approval_id);
    if (!found.ok()) {
      if (found.error().code == Code::kNotFound) return ok_status();
      return found.error();
    }
    approval = std::move(found).value();
    if (approval->approver == "admins") return ok_status();
    CUSTODY_ASSIGN(auto human, directory::rows::find_identity(tx, approval->approver));
    if (human) {
      auto label = human->labels.find(kWebhookLabel);
      if (label != human->labels.end() && !label->second.empty()) url = label->second;
    }
    return ok_status();
  });
  if (!s.ok()) return {"retry", "cannot read the approval: " + s.error().message};
  if (!approval) return {"skipped", "the approval no longer exists"};
  Micros now = clock_.now();
  if (approval->status != "pending" || approval->expired(now))
    return {"skipped", "the approval was decided or expired before the webhook went out"};
  if (url.empty()) return {"skipped", "no webhook is configured for " + approval->approver};
  if (config_.webhook_secret.empty())
    return {"failed", "approvals.webhook_secret is not set, so the webhook cannot be signed"};

  const Approval& a = *approval;
  nlohmann::json body = {{"type", "approval.requested"},
                         {"approval",
                          {{"id", a.id},
                           {"summary", summary_of(a)},
                           {"labels", a.labels},
                           {"approver", a.approver},
                           {"subject_id", a.subject_id},
                           {"requested_by", a.requested_by},
                           {"created_at", format_rfc3339(a.created_at)},
                           {"expires_at", format_rfc3339(a.expires_at)},
                           {"question", a.question}}},
                         {"callbacks",
                          {{"approve", callback_url(base_url_, hasher_, a, "approve")},
                           {"deny", callback_url(base_url_, hasher_, a, "deny")},
                           {"method", "POST"}}}};
  std::string text = body.dump();
  return post(url, text,
              {{"Custody-Signature",
                webhook_signature(config_.webhook_secret, now / kMicrosPerSecond, text)}});
}

ApprovalNotifier::Attempt ApprovalNotifier::post(
    const std::string& url, const std::string& body,
    std::vector<std::pair<std::string, std::string>> headers) {
  auto endpoint = net::parse_endpoint_url(url);
  if (!endpoint.ok()) return {"failed", "bad URL: " + endpoint.error().message};
  auto response =
      net::post_to(*endpoint, body, "application/json", std::move(headers),
                   std::chrono::milliseconds(config_.notify_timeout_ms), "custody-approvals");
  if (!response.ok()) return {"retry", response.error().message};
  int status = response->status;
  if (status >= 200 && status < 300) return {"delivered", ""};
  std::string error = "HTTP " + std::to_string(status) + " " + response->body.substr(0, 200);
  if (status >= 400 && status < 500 && status != 408 && status != 429) return {"failed", error};
  return {"retry", error};
}

}  // namespace custody::policy
