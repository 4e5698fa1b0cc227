-- Audit appends write no secondary index (issue 5: ≥ 100,000 durable events/s). Each index on
-- audit_events cost an appender 5–40 % (docs/benchmarks.md); the six together held appends to
-- about a quarter of what the store takes. What they answered now comes from elsewhere
-- (docs/audit-integrity.md, "Filters without synchronous indexes"):
--  - leaf_index is found through seq: leaves are dense and in seq order, so a leaf range is a
--    seq range (src/audit/leaf_seq.h);
--  - actor, target, chain_root and delegation_id are keys of audit_keys, and time ranges are
--    narrowed by audit_time_blocks, both derived data that audit::index_pending fills in large
--    batches after the events commit. Queries use them up to audit_index_state's watermark and
--    read the newer events directly, so answers stay exact while the index lags.
DROP INDEX audit_events_target;
DROP INDEX audit_events_actor;
DROP INDEX audit_events_time;
DROP INDEX audit_events_chain_root;
DROP INDEX audit_events_delegation;
DROP INDEX audit_events_leaf;

-- One row per (key, event): "a:<actor>", "t:<target>", "c:<chain_root>", "d:<delegation_id>"
-- (empty values get no key). Rows of archived events may stay behind: readers join audit_events.
CREATE TABLE audit_keys (
  key TEXT NOT NULL,
  seq BIGINT NOT NULL,
  PRIMARY KEY (key, seq)
) {{WITHOUT_ROWID}};

-- The smallest and largest time of the indexed events of each block of seqs
-- [first_seq, first_seq + 4096): a time range only reads the blocks it overlaps (times follow
-- seq closely but not exactly, so these are bounds, never the answer).
CREATE TABLE audit_time_blocks (
  first_seq BIGINT PRIMARY KEY,
  min_time BIGINT NOT NULL,
  max_time BIGINT NOT NULL
);

-- One row: every event with seq ≤ indexed_through_seq has its keys and time block. Starts at 0,
-- so the indexer derives the index of events stored before this migration after start-up.
CREATE TABLE audit_index_state (
  id BIGINT PRIMARY KEY,
  indexed_through_seq BIGINT NOT NULL
);
INSERT INTO audit_index_state (id, indexed_through_seq) VALUES (1, 0);
