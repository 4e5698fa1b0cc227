// `custody audit verify`: checks the audit log in the store without trusting the server. It reads
// the store directly (the same URL custodyd uses), recomputes every leaf hash from the stored
// event fields (archive segments included), rebuilds the Merkle tree, checks every signed tree
// head's signature and root and the consistency of each head with the one before, and reports
// the first problem precisely: which event was modified, deleted, reordered or inserted.
//
// What each kind means (docs/audit-integrity.md has the full table):
//   modified           the event's fields no longer hash to its stored leaf hash
//   deleted            a leaf index is missing (also: the log is shorter than a head or than the
//                      count of leaves ever assigned)
//   inserted           an event without a leaf index, or a second event with one already taken
//   reordered          the event of leaf i no longer sits between leaves i-1 and i+1 in seq order
//   segment_corrupted  an archive segment does not decompress or its events do not match its
//                      leaf hashes
//   head_mismatch      rows and leaf hashes agree, but the tree differs from a signed head: the
//                      attacker recomputed the hashes; the leaves after the last matching head
//                      are the suspects (leaf_index is the first of them)
//   bad_signature, unknown_key, inconsistent_heads   a stored head is not genuine
//   witness_mismatch   the store's tree differs from a head held outside it (--from-sth): the
//                      whole store, keys and heads included, was rewritten
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "audit/tree_head.h"
#include "common/result.h"
#include "crypto/jwk.h"
#include "store/store.h"

namespace custody::audit {

struct PinnedHead {
  TreeHead head;
  crypto::Jwk key;  // the key the witness saw at the time
};

struct VerifyOptions {
  std::vector<PinnedHead> pinned;  // heads kept outside the store (--from-sth)
};

struct VerifyProblem {
  std::string kind;  // see above
  std::int64_t leaf_index = -1;
  std::int64_t seq = -1;
  std::string event_id;
  std::string message;
};

struct VerifyReport {
  std::uint64_t leaves = 0;           // leaves checked (live + archived)
  std::uint64_t archived_leaves = 0;  // of which in archive segments
  std::uint64_t segments = 0;
  std::uint64_t heads = 0;   // stored heads checked
  std::uint64_t pinned = 0;  // external heads checked
  std::string root_hash;     // 32 raw bytes: the tree of every leaf
  std::optional<VerifyProblem> problem;

  bool ok() const { return !problem; }
  nlohmann::json to_json() const;
};

// Reads heads kept outside the store: one JSON object per line, each a tree head (tree_head.h
// to_json) with its "public_jwk", as audit.sth_export_file, the witness and GET /api/v1/audit/sth
// write them. kInvalidArgument naming the line.
Result<std::vector<PinnedHead>> parse_pinned_heads(const std::string& text);

// Errors only when the store cannot be read; a damaged log is a report with a problem.
Result<VerifyReport> verify_log(store::Store& store, const VerifyOptions& options);

}  // namespace custody::audit
