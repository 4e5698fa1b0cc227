#include "policy/approval_notifications.h"

#include <mutex>

namespace custody::policy {
namespace {

constexpr const char* kColumns =
    "seq, approval_id, kind, url, bearer, state, attempts, next_attempt_at, last_error";

ApprovalNotification from_row(const store::Row& r) {
  ApprovalNotification n;
  n.seq = r.integer(0);
  n.approval_id = r.text(1);
  n.kind = r.text(2);
  n.url = r.text(3);
  n.bearer = r.text(4);
  n.state = r.text(5);
  n.attempts = r.integer(6);
  n.next_attempt_at = r.integer(7);
  n.last_error = r.text(8);
  return n;
}

std::mutex listener_mu;
std::function<void()>& listener() {
  static std::function<void()> fn;
  return fn;
}

void notify_pending() {
  std::lock_guard lock(listener_mu);
  if (listener()) listener()();
}

Status insert(store::Tx& tx, const std::string& approval_id, std::string_view kind,
              const std::string& url, const std::string& bearer, std::string_view state,
              Micros now) {
  CUSTODY_TRY(tx.exec(
      "INSERT INTO approval_notifications (approval_id, kind, url, bearer, state, attempts, "
      "next_attempt_at, last_error, created_at) VALUES ($1, $2, $3, $4, $5, 0, $6, '', $6)",
      {approval_id, std::string(kind), url, bearer, std::string(state), now}));
  return ok_status();
}

}  // namespace

Status queue_approver_webhook(store::Tx& tx, const std::string& approval_id, Micros now) {
  CUSTODY_TRY(insert(tx, approval_id, kWebhookNotification, "", "", "pending", now));
  notify_pending();
  return ok_status();
}

Status hold_ciba_ping(store::Tx& tx, const std::string& approval_id, const std::string& url,
                      const std::string& bearer, Micros now) {
  return insert(tx, approval_id, kCibaPing, url, bearer, "held", now);
}

Status release_held_notifications(store::Tx& tx, const std::string& approval_id, Micros now) {
  CUSTODY_ASSIGN(auto changed, tx.exec("UPDATE approval_notifications SET state = 'pending', "
                                       "next_attempt_at = $2 WHERE approval_id = $1 AND state = "
                                       "'held'",
                                       {approval_id, now}));
  if (changed > 0) notify_pending();
  return ok_status();
}

Result<std::vector<ApprovalNotification>> due_notifications(store::Tx& tx, Micros now,
                                                            std::int64_t limit) {
  CUSTODY_ASSIGN(auto rows, tx.query(std::string("SELECT ") + kColumns +
                                         " FROM approval_notifications WHERE state = 'pending' "
                                         "AND next_attempt_at <= $1 ORDER BY seq LIMIT $2",
                                     {now, limit}));
  std::vector<ApprovalNotification> out;
  for (const auto& r : rows) out.push_back(from_row(r));
  return out;
}

Status settle_notification(store::Tx& tx, std::int64_t seq, const std::string& state,
                           const std::string& error, Micros now) {
  CUSTODY_TRY(tx.exec(
      "UPDATE approval_notifications SET state = $2, last_error = $3, done_at = $4, attempts = "
      "attempts + $5 WHERE seq = $1 AND state = 'pending'",
      {seq, state, error, now, std::int64_t{state == "skipped" ? 0 : 1}}));
  return ok_status();
}

Status retry_notification(store::Tx& tx, std::int64_t seq, const std::string& error,
                          Micros next_attempt_at) {
  CUSTODY_TRY(
      tx.exec("UPDATE approval_notifications SET attempts = attempts + 1, last_error = $2, "
              "next_attempt_at = $3 WHERE seq = $1 AND state = 'pending'",
              {seq, error, next_attempt_at}));
  return ok_status();
}

Result<std::vector<ApprovalNotification>> notifications_of(store::Tx& tx,
                                                           const std::string& approval_id) {
  CUSTODY_ASSIGN(auto rows, tx.query(std::string("SELECT ") + kColumns +
                                         " FROM approval_notifications WHERE approval_id = $1 "
                                         "ORDER BY seq",
                                     {approval_id}));
  std::vector<ApprovalNotification> out;
  for (const auto& r : rows) out.push_back(from_row(r));
  return out;
}

Result<std::int64_t> purge_notifications(store::Tx& tx, Micros before, Micros held_before) {
  CUSTODY_ASSIGN(auto settled,
                 tx.exec("DELETE FROM approval_notifications WHERE state IN ('delivered', "
                         "'failed', 'skipped') AND done_at < $1",
                         {before}));
  CUSTODY_ASSIGN(auto held, tx.exec("DELETE FROM approval_notifications WHERE state = 'held' AND "
                                    "created_at < $1",
                                    {held_before}));
  return settled + held;
}

void set_notification_listener(std::function<void()> fn) {
  std::lock_guard lock(listener_mu);
  listener() = std::move(fn);
}

}  // namespace custody::policy
