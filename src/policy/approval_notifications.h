// The outbox of notifications about approvals (docs/approvals.md, "Notifications"): approver
// webhooks queued when an approval request is created, and OpenID CIBA ping notifications held
// with a backchannel request and released when its approval is decided. Rows are written inside
// the caller's transaction, so a notification commits with the change that caused it or not at
// all; the approval notifier (approval_notifier.h) delivers them after the commit, with retries.
// Domain code without HTTP; every function runs inside the caller's transaction.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.h"
#include "common/result.h"
#include "store/store.h"

namespace custody::policy {

inline constexpr std::string_view kWebhookNotification = "webhook";
inline constexpr std::string_view kCibaPing = "ciba_ping";

struct ApprovalNotification {
  std::int64_t seq = 0;
  std::string approval_id;
  std::string kind;    // kWebhookNotification | kCibaPing
  std::string url;     // ciba_ping: the client's endpoint; webhook: '' (resolved at delivery)
  std::string bearer;  // ciba_ping: the client_notification_token
  std::string state;   // held | pending | delivered | failed | skipped
  std::int64_t attempts = 0;
  Micros next_attempt_at = 0;
  std::string last_error;
};

// Queues the approver's webhook for a new approval request (pending at once).
Status queue_approver_webhook(store::Tx& tx, const std::string& approval_id, Micros now);
// Holds a CIBA ping to `url` carrying `bearer` until the approval is decided.
Status hold_ciba_ping(store::Tx& tx, const std::string& approval_id, const std::string& url,
                      const std::string& bearer, Micros now);
// The approval was decided: its held notifications become pending (due now).
Status release_held_notifications(store::Tx& tx, const std::string& approval_id, Micros now);

// Pending notifications due at `now`, oldest first, at most `limit`.
Result<std::vector<ApprovalNotification>> due_notifications(store::Tx& tx, Micros now,
                                                            std::int64_t limit);
// Settles a pending notification: "delivered", "failed" or "skipped", with a reason.
Status settle_notification(store::Tx& tx, std::int64_t seq, const std::string& state,
                           const std::string& error, Micros now);
// Records a failed attempt; it stays pending until `next_attempt_at`.
Status retry_notification(store::Tx& tx, std::int64_t seq, const std::string& error,
                          Micros next_attempt_at);
// One approval's notifications (for status and tests), oldest first.
Result<std::vector<ApprovalNotification>> notifications_of(store::Tx& tx,
                                                           const std::string& approval_id);
// Deletes settled notifications settled before `before`, and held ones created before
// `held_before` (their approval expired unanswered long ago); the number deleted.
Result<std::int64_t> purge_notifications(store::Tx& tx, Micros before, Micros held_before);

// Called on the writer thread (inside the transaction) whenever a notification becomes pending,
// so that the notifier looks sooner than its periodic scan. One listener per process; an empty
// function removes it.
void set_notification_listener(std::function<void()> listener);

}  // namespace custody::policy
