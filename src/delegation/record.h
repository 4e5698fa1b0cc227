// Delegation records: one per token custody issues. A record names the token's subject (the
// identity that started the chain), the identity acting at this hop, the client that asked, the
// audience, scopes, depth and lifetime. Records link to their parent (the record of the subject
// token of a token exchange), so the records of one chain form a tree under its root, and
// revoking a record revokes its whole subtree.
//
// A record's id is also its token's "jti". Records are written in the same store work as the
// audit event of the issuance, and never deleted; revocation only sets revoked_*.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.h"
#include "common/result.h"
#include "store/store.h"

namespace custody::delegation {

struct Record {
  std::string id;  // dlg_…, the token's jti
  std::optional<std::string> parent_id;
  // The record of the actor token a token exchange was made with: the actor's consent. Revoking
  // it revokes this record (and what derives from it) too.
  std::optional<std::string> actor_delegation_id;
  std::string root_id;         // the chain's first record (its own id for a root)
  std::string subject;         // the token's "sub": the initiating identity
  std::string subject_issuer;  // custody's issuer, or the trusted external issuer of the chain
  std::string actor;           // the identity acting at this hop; "" when the subject acts itself
  std::string client_id;       // the authenticated client that obtained the token
  std::vector<std::string> audience;
  std::vector<std::string> scopes;
  int depth = 0;  // number of "act" hops in the token
  std::string grant_type;
  std::optional<std::string> cnf_jkt;                // DPoP key thumbprint the token is bound to
  nlohmann::json origin = nlohmann::json::object();  // e.g. external subject token's iss/jti
  // Further token exchanges this token's authority may go through (the "max_hops" claim);
  // nullopt: no limit beyond the depth cap. 0: it must not be re-delegated.
  std::optional<int> max_hops;
  // The enrolled device the token was issued for (docs/devices.md): the client proved it with a
  // device-attested assertion. When the device stops being trusted, the token is revoked.
  std::optional<std::string> device_id;
  // The policy decision that permitted the issuance: {"version": N, "policies": [ids]}.
  nlohmann::json policy = nlohmann::json::object();
  Micros issued_at = 0;
  Micros expires_at = 0;
  std::optional<Micros> revoked_at;
  std::optional<std::string> revoked_by;
  std::optional<std::string> revocation_reason;

  bool revoked() const { return revoked_at.has_value(); }
};

Status insert_record(store::Tx& tx, const Record& record);

// The stored row of `record`, built on the caller's thread, and its INSERT: the token endpoint
// builds the row before it queues the write, so that the group-commit writer (the one serial
// thread every issued token waits for) only runs the statement. insert_record(tx, r) is
// insert_row(tx, record_row(r)).
struct RecordRow {
  std::vector<store::Value> values;
};
RecordRow record_row(const Record& record);
Status insert_row(store::Tx& tx, const RecordRow& row);

// nullopt when no record has this id.
Result<std::optional<Record>> find_record(store::Tx& tx, std::string_view id);

// What a token exchange bounds its new record by: the parent's place in its chain and whether
// it still stands. One narrow statement: find_record also copies and parses the audience, origin
// and policy, which an exchange does not read (a tenth of its record read).
struct ChainLink {
  std::string id;
  std::string root_id;
  int depth = 0;
  std::optional<int> max_hops;
  bool revoked = false;
};
// nullopt when no record has this id.
Result<std::optional<ChainLink>> find_link(store::Tx& tx, std::string_view id);

// Whether the record exists and is not revoked; one indexed read (the token endpoint re-checks a
// parent inside the issuing write, so a revocation racing an exchange cannot be lost).
Result<bool> is_live(store::Tx& tx, std::string_view id);

// The chain from the root down to `id` (root first, `id` last). kNotFound when `id` is unknown.
// Bounded by max_depth + 1 records; a longer chain (corruption) is kInternal.
Result<std::vector<Record>> chain(store::Tx& tx, std::string_view id, int max_depth = 64);

// Every record below `id` (not `id` itself): derived from it as parent or made with it as actor
// token, breadth first, at most `limit`.
Result<std::vector<Record>> descendants(store::Tx& tx, std::string_view id, int limit = 10000);

// Revokes `id` and every record below it (as for descendants()) that is not revoked yet; returns
// the ids revoked now (empty when all already were). kNotFound when `id` is unknown.
Result<std::vector<std::string>> revoke_subtree(store::Tx& tx, std::string_view id, Micros now,
                                                const std::string& by, const std::string& reason);

nlohmann::json to_json(const Record& record);

}  // namespace custody::delegation
