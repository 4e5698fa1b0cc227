-- Human checkpoints (docs/approvals.md): one row per approval request, bound to the digest of the
-- exact question (subject, action, resource, context); decided once, used once, expiring.
-- Times are Unix epoch microseconds.
CREATE TABLE approvals (
  id TEXT PRIMARY KEY,
  status TEXT NOT NULL,          -- pending | approved | denied | used (expiry is derived)
  digest TEXT NOT NULL,          -- SHA-256 (hex) of the canonical question
  question TEXT NOT NULL,        -- the question as JSON (for the approver to read)
  labels TEXT NOT NULL,          -- JSON array: the @approval labels of the policies that asked
  subject_id TEXT NOT NULL,
  initiator TEXT NOT NULL,       -- the chain's initiator when the context names one, else ''
  requested_by TEXT NOT NULL,    -- the PEP that asked
  approver TEXT NOT NULL,        -- a human id, or 'admins'
  created_at BIGINT NOT NULL,
  expires_at BIGINT NOT NULL,
  decided_by TEXT,
  decided_at BIGINT,
  decision_reason TEXT,
  used_at BIGINT
);
CREATE INDEX approvals_digest ON approvals(digest, status);
CREATE INDEX approvals_status ON approvals(status, created_at);
