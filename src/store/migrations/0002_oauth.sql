-- The authorization server: its signing keys, one delegation record per issued token, and the
-- replay cache of one-time values (client assertion and DPoP proof jti).
-- Times are Unix epoch microseconds.

-- Keys sign from activate_at until the next key's activate_at, and stay published until every
-- token they signed has expired (derived, see src/oauth/key_manager.h). A key with activate_at in
-- the future is published ahead of use, so relying parties already hold it when it starts signing.
CREATE TABLE signing_keys (
  kid TEXT PRIMARY KEY,
  purpose TEXT NOT NULL,
  alg TEXT NOT NULL,
  public_jwk TEXT NOT NULL,
  wrapped_private TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  activate_at BIGINT NOT NULL
);
CREATE INDEX signing_keys_purpose ON signing_keys(purpose, activate_at);

CREATE TABLE delegation_records (
  id TEXT PRIMARY KEY,
  parent_id TEXT REFERENCES delegation_records(id),
  actor_delegation_id TEXT REFERENCES delegation_records(id),
  root_id TEXT NOT NULL,
  subject TEXT NOT NULL,
  subject_issuer TEXT NOT NULL,
  actor TEXT NOT NULL DEFAULT '',
  client_id TEXT NOT NULL,
  audience TEXT NOT NULL,
  scopes TEXT NOT NULL,
  depth BIGINT NOT NULL,
  grant_type TEXT NOT NULL,
  cnf_jkt TEXT,
  origin TEXT NOT NULL DEFAULT '{}',
  issued_at BIGINT NOT NULL,
  expires_at BIGINT NOT NULL,
  revoked_at BIGINT,
  revoked_by TEXT,
  revocation_reason TEXT
);
CREATE INDEX delegation_records_parent ON delegation_records(parent_id);
CREATE INDEX delegation_records_actor ON delegation_records(actor_delegation_id);
CREATE INDEX delegation_records_subject ON delegation_records(subject);

CREATE TABLE replay_cache (
  kind TEXT NOT NULL,
  value TEXT NOT NULL,
  expires_at BIGINT NOT NULL,
  PRIMARY KEY (kind, value)
);
CREATE INDEX replay_cache_expiry ON replay_cache(expires_at);
