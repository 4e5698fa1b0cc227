-- Every issued token writes a delegation record before its response, on the group-commit writer
-- (issue 3). Most records have no parent (client_credentials, authorization code, the first hop
-- of a chain), no actor token and no device, yet each full index still took a NULL entry per
-- record: three of the eight B-trees an insert touched. Partial indexes keep only the rows that
-- can match. Every query on these columns compares them with "=" (parent_id = $1,
-- actor_delegation_id = $1, device_id = $1, and the cascade's joins), which implies IS NOT NULL,
-- so SQLite and PostgreSQL still use them.
DROP INDEX delegation_records_parent;
DROP INDEX delegation_records_actor;
DROP INDEX delegation_records_device;
CREATE INDEX delegation_records_parent ON delegation_records(parent_id)
  WHERE parent_id IS NOT NULL;
CREATE INDEX delegation_records_actor ON delegation_records(actor_delegation_id)
  WHERE actor_delegation_id IS NOT NULL;
CREATE INDEX delegation_records_device ON delegation_records(device_id)
  WHERE device_id IS NOT NULL;
