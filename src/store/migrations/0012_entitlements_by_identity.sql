-- An identity's entitlements are read on every token request and every policy decision, newest
-- first: an index in that order answers them without sorting (the single-column index it
-- replaces made SQLite sort every time).
CREATE INDEX entitlements_identity_created ON entitlements(identity_id, created_at, id);
DROP INDEX entitlements_identity;
