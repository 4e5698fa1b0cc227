-- The tamper-evident audit log (docs/audit-integrity.md): every event's place in the RFC 9162
-- Merkle tree and its leaf hash, delegation attribution, the counter that hands out seq and
-- leaf index densely, signed tree heads, the audit signing key and archive segments.

ALTER TABLE audit_events ADD COLUMN chain_root TEXT NOT NULL DEFAULT '';
ALTER TABLE audit_events ADD COLUMN delegation_id TEXT NOT NULL DEFAULT '';
-- 0-based leaf index (dense, in seq order) and lowercase hex SHA-256(0x00 || canonical event).
-- NULL only for events written before this migration, until custody assigns them at start-up.
ALTER TABLE audit_events ADD COLUMN leaf_index BIGINT;
ALTER TABLE audit_events ADD COLUMN leaf_hash TEXT;
CREATE UNIQUE INDEX audit_events_leaf ON audit_events(leaf_index);
-- Partial: most events have no delegation, and an index entry per '' costs appends (about 15%
-- each in bench/audit_log_bench). Queries add "AND chain_root <> ''" so the planner may use them.
CREATE INDEX audit_events_chain_root ON audit_events(chain_root) WHERE chain_root <> '';
CREATE INDEX audit_events_delegation ON audit_events(delegation_id) WHERE delegation_id <> '';

-- One row. audit::append takes the next seq and leaf index from it in the event's own
-- transaction: the row lock serializes appenders (also across nodes sharing a PostgreSQL
-- database) and a rolled-back savepoint gives both numbers back, so neither has gaps.
CREATE TABLE audit_log_state (
  id BIGINT PRIMARY KEY,
  last_seq BIGINT NOT NULL,
  leaf_count BIGINT NOT NULL
);
INSERT INTO audit_log_state (id, last_seq, leaf_count)
  SELECT 1, COALESCE(MAX(seq), 0), 0 FROM audit_events;

-- Signed tree heads; the signed bytes are specified in docs/audit-integrity.md.
CREATE TABLE audit_tree_heads (
  id {{SERIAL_PK}},
  tree_size BIGINT NOT NULL,
  root_hash TEXT NOT NULL,
  time BIGINT NOT NULL,
  key_id TEXT NOT NULL,
  signature TEXT NOT NULL
);
CREATE INDEX audit_tree_heads_size ON audit_tree_heads(tree_size);

-- The Ed25519 key that signs tree heads; the private JWK is wrapped with the KEK (AES-256-GCM,
-- crypto/key_wrap.h) under its kid.
CREATE TABLE audit_signing_keys (
  kid TEXT PRIMARY KEY,
  public_jwk TEXT NOT NULL,
  wrapped_private_jwk TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  retired_at BIGINT
);

-- Events past audit.retention_days, moved out of audit_events: leaves [first_leaf, end_leaf).
-- leaf_hashes is the hex of their leaf hashes, concatenated (the tree keeps them); events is
-- base64 of zlib-compressed JSON Lines, one stored row per line.
CREATE TABLE audit_archive_segments (
  first_leaf BIGINT PRIMARY KEY,
  end_leaf BIGINT NOT NULL,
  first_seq BIGINT NOT NULL,
  last_seq BIGINT NOT NULL,
  first_time BIGINT NOT NULL,
  last_time BIGINT NOT NULL,
  leaf_hashes TEXT NOT NULL,
  events TEXT NOT NULL,
  created_at BIGINT NOT NULL
);
