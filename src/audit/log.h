// The audit log as a Merkle tree in the server: the in-memory RFC 9162 tree over every committed
// event's leaf hash, signed tree heads at a configurable cadence, and proofs.
//
//  - open() rebuilds the tree from the stored leaf hashes (archive segments, then audit_events in
//    leaf order) and installs a commit hook on the store: after each durable COMMIT the writer
//    appends the leaves that batch appended, in leaf order, which is commit order (the batch
//    keeps them: append_batch.h); when other nodes' leaves came first, it reads the leaves
//    appended since from the store (leaf_index ≥ the tree's next index, found through seq:
//    leaf_seq.h). So the tree only ever holds committed events, and an event whose request was
//    answered is already in the tree.
//  - start() runs a signer thread: a head is signed when sth_every_events leaves have been added
//    since the last head, or sth_every_ms has passed with any added, whichever comes first; it is
//    stored in audit_tree_heads, appended to sth_export_file and POSTed to witness_url when set.
//    The same thread catches up with leaves other nodes wrote and archives expired events
//    (retention_days, archive.h).
//  - stop() ends the thread, waits for queued writes to commit and signs a final head.
//
// Thread safety: proofs and size() may run on any thread concurrently with the writer's appends
// (a shared mutex guards the tree). open/start/stop from one thread.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <thread>
#include <vector>

#include "audit/merkle_tree.h"
#include "audit/tree_head.h"
#include "common/clock.h"
#include "common/result.h"
#include "crypto/jwk.h"
#include "crypto/key_wrap.h"
#include "store/store.h"

namespace custody::audit {

struct LogOptions {
  std::int64_t sth_every_events = 1000;          // sign after this many new leaves ...
  std::int64_t sth_every_ms = 1000;              // ... or after this long with any new leaf
  std::string sth_export_file;                   // append every head here as one JSON line
  std::string witness_url;                       // POST every head here (http:// only)
  std::int64_t retention_days = 0;               // 0: keep events in audit_events forever
  std::int64_t archive_segment_events = 10'000;  // most events per archive segment
  unsigned cache_level = MerkleTree::kDefaultCacheLevel;
};

// Leaf hashes read through a transaction: live rows of audit_events, and archive segments for
// leaves that moved there.
class StoreLeafHashes final : public LeafHashes {
 public:
  explicit StoreLeafHashes(store::Tx& tx) : tx_(tx) {}
  Result<std::string> hash(std::uint64_t index) const override;
  Status hashes(std::uint64_t begin, std::uint64_t end,
                std::vector<std::string>& out) const override;

 private:
  store::Tx& tx_;
};

// Gives leaf indices and hashes to events stored before migration 0003 (leaf_index NULL), in
// seq order, repairing what has no canonical form first. Idempotent; a no-op on a current store.
// Run once after open_store, before any other write.
Status assign_missing_leaves(store::Store& store);

// The audit signing key: the newest unretired row of audit_signing_keys, unwrapped with `kek`,
// or a new Ed25519 key (kid = thumbprint) stored wrapped when there is none.
Result<crypto::Jwk> load_or_create_audit_key(store::Store& store,
                                             const crypto::KeyEncryptionKey& kek,
                                             const Clock& clock);

// Every stored head, oldest first (by tree size, then time).
Result<std::vector<TreeHead>> stored_heads(store::Tx& tx);
// The public JWK of every audit key by kid, retired ones included.
Result<std::vector<crypto::Jwk>> stored_audit_keys(store::Tx& tx);

class AuditLog {
 public:
  static Result<std::unique_ptr<AuditLog>> open(store::Store& store, crypto::Jwk key,
                                                const Clock& clock, LogOptions options);
  ~AuditLog();
  AuditLog(const AuditLog&) = delete;
  AuditLog& operator=(const AuditLog&) = delete;

  void start();
  // Signs a final head covering every committed event; idempotent.
  void stop();

  std::uint64_t size() const;
  std::string root() const;
  const crypto::Jwk& key() const { return key_; }

  // Signs and stores a head of the current tree unless the last head already has this size;
  // returns the newest head (nullopt while the log is empty).
  Result<std::optional<TreeHead>> sign_head();
  // The newest stored head (any node's), nullopt when none.
  Result<std::optional<TreeHead>> latest_head(store::Tx& tx) const;

  // Proofs against any size ≤ size(); leaf hashes below the cache level come through `tx`.
  Result<std::vector<std::string>> inclusion_proof(store::Tx& tx, std::uint64_t index,
                                                   std::uint64_t tree_size) const;
  Result<std::vector<std::string>> consistency_proof(store::Tx& tx, std::uint64_t old_size,
                                                     std::uint64_t new_size) const;
  Result<std::string> root_at(store::Tx& tx, std::uint64_t tree_size) const;

  // Appends the leaves committed since the last call (the commit hook; also the signer's
  // catch-up with other nodes).
  Status catch_up(store::Tx& tx);

 private:
  AuditLog(store::Store& store, crypto::Jwk key, const Clock& clock, LogOptions options);
  void signer_loop();
  // Counts leaves added to the tree; wakes the signer once sth_every_events are unsigned.
  void note_added(std::uint64_t added);
  void publish(const TreeHead& head);

  store::Store& store_;
  const crypto::Jwk key_;
  const Clock& clock_;
  const LogOptions options_;

  mutable std::shared_mutex tree_mu_;
  MerkleTree tree_;
  std::uint64_t next_leaf_ = 0;  // the leaf index catch_up reads from (guarded by tree_mu_)

  std::mutex sign_mu_;  // one signer at a time
  std::uint64_t signed_size_ = 0;

  std::mutex loop_mu_;
  std::condition_variable loop_cv_;
  bool stopping_ = false;
  bool stopped_ = false;
  std::atomic<std::uint64_t> unsigned_leaves_{0};
  std::thread signer_;
};

}  // namespace custody::audit
