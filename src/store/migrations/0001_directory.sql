-- The governed directory, admin tokens and audit events.
-- Times are Unix epoch microseconds; JSON documents are TEXT.

CREATE TABLE meta (
  key TEXT PRIMARY KEY,
  value TEXT NOT NULL
);

CREATE TABLE identities (
  id TEXT PRIMARY KEY,
  kind TEXT NOT NULL,
  display_name TEXT NOT NULL,
  description TEXT NOT NULL DEFAULT '',
  labels TEXT NOT NULL DEFAULT '{}',
  owner_id TEXT REFERENCES identities(id),
  state TEXT NOT NULL,
  version BIGINT NOT NULL,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL
);
CREATE INDEX identities_owner ON identities(owner_id);
CREATE INDEX identities_kind_state ON identities(kind, state);

CREATE TABLE identity_labels (
  identity_id TEXT NOT NULL REFERENCES identities(id),
  key TEXT NOT NULL,
  value TEXT NOT NULL,
  PRIMARY KEY (identity_id, key)
);
CREATE INDEX identity_labels_kv ON identity_labels(key, value);

CREATE TABLE entitlements (
  id TEXT PRIMARY KEY,
  identity_id TEXT NOT NULL REFERENCES identities(id),
  scope TEXT NOT NULL,
  resource TEXT NOT NULL,
  tools TEXT,
  expires_at BIGINT,
  granted_by TEXT NOT NULL,
  justification TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  revoked_at BIGINT,
  revoked_by TEXT
);
CREATE INDEX entitlements_identity ON entitlements(identity_id);

CREATE TABLE credentials (
  id TEXT PRIMARY KEY,
  identity_id TEXT NOT NULL REFERENCES identities(id),
  type TEXT NOT NULL,
  secret_hash TEXT,
  public_jwk TEXT,
  jwk_thumbprint TEXT,
  description TEXT NOT NULL DEFAULT '',
  created_by TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  expires_at BIGINT NOT NULL,
  revoked_at BIGINT
);
CREATE INDEX credentials_identity ON credentials(identity_id);
CREATE UNIQUE INDEX credentials_secret_hash ON credentials(secret_hash);

CREATE TABLE admin_tokens (
  id TEXT PRIMARY KEY,
  token_hash TEXT NOT NULL UNIQUE,
  role TEXT NOT NULL,
  identity_id TEXT REFERENCES identities(id),
  description TEXT NOT NULL DEFAULT '',
  created_by TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  expires_at BIGINT,
  revoked_at BIGINT
);

CREATE TABLE audit_events (
  seq {{SERIAL_PK}},
  id TEXT NOT NULL UNIQUE,
  time BIGINT NOT NULL,
  actor TEXT NOT NULL,
  action TEXT NOT NULL,
  target TEXT NOT NULL DEFAULT '',
  outcome TEXT NOT NULL,
  request_id TEXT NOT NULL DEFAULT '',
  details TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_events_target ON audit_events(target);
CREATE INDEX audit_events_actor ON audit_events(actor);
CREATE INDEX audit_events_time ON audit_events(time);
