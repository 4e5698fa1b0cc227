-- Bounded delegation (docs/delegation-bounds.md): how many further hops a token's authority may
-- travel (NULL: no limit), and the policy decision that permitted each issuance
-- ({"version": N, "policies": [ids]}; '' for records written before policies decided issuance).
ALTER TABLE delegation_records ADD COLUMN max_hops BIGINT;
ALTER TABLE delegation_records ADD COLUMN policy TEXT NOT NULL DEFAULT '';
-- Continuous revocation finds an identity's live tokens by the role it plays in them (the
-- subject already has an index).
CREATE INDEX delegation_records_actor_id ON delegation_records(actor);
CREATE INDEX delegation_records_client ON delegation_records(client_id);
