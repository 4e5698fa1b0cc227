-- Bounded delegation (docs/delegation-bounds.md): how many further hops a token's authority may
-- travel (NULL: no limit), and the policy decision that permitted each issuance
-- ({"version": N, "policies": [ids]}; '' for records written before policies decided issuance).
ALTER TABLE delegation_records ADD COLUMN max_hops BIGINT;
ALTER TABLE delegation_records ADD COLUMN policy TEXT NOT NULL DEFAULT '';
