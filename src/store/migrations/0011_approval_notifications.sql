-- Notifications about approvals (docs/approvals.md), delivered after the commit from this outbox
-- by the approval notifier (src/policy/approval_notifier.h), with retries. Times are Unix epoch
-- microseconds.
--  kind webhook:   the approver's webhook, queued when an approval request is created; the URL is
--                  resolved at delivery (the approver's approvals.webhook_url label, else the
--                  approvals.webhook_url setting) and the body, its signed callback links and its
--                  Custody-Signature are built then.
--  kind ciba_ping: an OpenID CIBA ping to the client's notification endpoint, queued held with the
--                  backchannel request and released (made pending) when the approval is decided.
-- state: held | pending | delivered | failed | skipped (nowhere to send it, or no longer useful).
CREATE TABLE approval_notifications (
  seq {{SERIAL_PK}},
  approval_id TEXT NOT NULL,
  kind TEXT NOT NULL,
  url TEXT NOT NULL,               -- ciba_ping: the client's notification endpoint; webhook: ''
  bearer TEXT NOT NULL,            -- ciba_ping: the client_notification_token; webhook: ''
  state TEXT NOT NULL,
  attempts BIGINT NOT NULL,
  next_attempt_at BIGINT NOT NULL,
  last_error TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  done_at BIGINT
);
CREATE INDEX approval_notifications_due ON approval_notifications(state, next_attempt_at);
CREATE INDEX approval_notifications_approval ON approval_notifications(approval_id, state);

-- Signed callbacks spent: one row per approval decided through a callback link. Either link
-- (approve or deny) decides the approval, so both are spent with it.
CREATE TABLE approval_callbacks_used (
  approval_id TEXT PRIMARY KEY,
  decision TEXT NOT NULL,          -- approve | deny
  used_at BIGINT NOT NULL
);
