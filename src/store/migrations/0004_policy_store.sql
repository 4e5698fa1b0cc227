-- The policy decision point's state (docs/policy.md): versioned Cedar policy bundles (policy
-- files and an optional schema) and versioned application entity sets. Versions are never changed
-- or deleted; pdp_state names the active ones, so switching (or rolling back) is one row update.
-- Times are Unix epoch microseconds.

CREATE TABLE policy_versions (
  version BIGINT PRIMARY KEY,
  bundle TEXT NOT NULL,          -- {"files": [{"name", "text"}], "schema": {"format", "text"}?}
  digest TEXT NOT NULL,          -- SHA-256 (hex) of the bundle's canonical JSON
  policy_count BIGINT NOT NULL,
  has_schema BIGINT NOT NULL,    -- 1 when the bundle has a schema (and was validated against it)
  description TEXT NOT NULL,
  created_by TEXT NOT NULL,
  created_at BIGINT NOT NULL
);

CREATE TABLE entity_versions (
  version BIGINT PRIMARY KEY,
  entities TEXT NOT NULL,        -- a Cedar entities JSON array
  digest TEXT NOT NULL,
  entity_count BIGINT NOT NULL,
  created_by TEXT NOT NULL,
  created_at BIGINT NOT NULL
);

-- One row. 0 means "none yet" (no foreign keys: 0 is not a version).
CREATE TABLE pdp_state (
  id BIGINT PRIMARY KEY,
  policy_version BIGINT NOT NULL,
  entities_version BIGINT NOT NULL,
  updated_at BIGINT NOT NULL
);
INSERT INTO pdp_state (id, policy_version, entities_version, updated_at) VALUES (1, 0, 0, 0);
