// The WHERE clauses that find the delegation records in which an identity plays a role, each
// answered by one index of delegation_records (migration 0018). $1 is the identity.
//
// Why partial indexes. Every issued token inserts one record, on the group-commit writer, before
// its response; each index is one more B-tree insert there. In most records the roles repeat: a
// client_credentials token's subject is its client and it has no actor (''); a token exchange's
// actor is its client. So only client_id is indexed in full, and subject and actor only where
// they differ from it: together the three clauses below still find every record in which the
// identity is subject, client or actor, while a client_credentials token writes two index entries
// fewer and a token exchange one fewer.
//
// Each clause repeats its index's WHERE terms verbatim: SQLite uses a partial index only when
// the query's WHERE contains them, and PostgreSQL proves the implication from them.
#pragma once

#include <string_view>

namespace custody::delegation {

// Records whose client is the identity (index delegation_records_client, full).
inline constexpr std::string_view kAsClient = "client_id = $1";
// Records whose subject is the identity, where it is not also their client (the rest are
// kAsClient's). Index delegation_records_subject.
inline constexpr std::string_view kAsSubjectNotClient = "subject = $1 AND subject <> client_id";
// Records whose actor is the identity, where it is not also their client. Index
// delegation_records_actor_id.
inline constexpr std::string_view kAsActorNotClient =
    "actor = $1 AND actor <> '' AND actor <> client_id";

}  // namespace custody::delegation
