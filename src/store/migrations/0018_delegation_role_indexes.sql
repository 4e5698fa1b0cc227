-- Fewer index entries per issued token (issue 3; src/delegation/holder_filters.h says why and
-- which WHERE clauses use them). client_id stays indexed in full; subject and actor are indexed
-- only where they differ from the client, so a client_credentials token (subject = client, no
-- actor) and a token exchange (actor = client) no longer repeat their client in those indexes.
DROP INDEX delegation_records_subject;
DROP INDEX delegation_records_actor_id;
CREATE INDEX delegation_records_subject ON delegation_records(subject)
  WHERE subject <> client_id;
CREATE INDEX delegation_records_actor_id ON delegation_records(actor)
  WHERE actor <> '' AND actor <> client_id;
