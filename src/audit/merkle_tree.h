// An append-only RFC 9162 Merkle tree held in memory, for the audit log's writer and proof
// server. It keeps:
// - the frontier: the roots of the perfect subtrees that make up the tree (one per set bit of
//   size(), largest first), so append() costs one leaf store and on average one node hash, and
//   root() folds at most 64 hashes;
// - the hash of every perfect subtree of 2^cache_level leaves or more, computed by append() at no
//   extra hashing cost (≈ 2 × 32 bytes × size() / 2^cache_level of memory), so a proof needs only
//   the few perfect subtrees smaller than that from the leaves: fewer than 2^(cache_level+1)
//   leaf hashes per proof, read through LeafHashes.
// Leaf hashes themselves belong to the store (or to a vector in tests and in `verify`); a
// cache_level of 0 keeps them here too, and then no LeafHashes is ever needed.
//
// Not thread-safe for writes: one writer appends; const calls may run concurrently with each
// other, but not with append().
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "audit/merkle.h"
#include "common/result.h"

namespace custody::audit {

// Random access to the tree's leaf hashes (32 bytes each), by 0-based leaf index. The store
// implements it over its audit rows; errors (kUnavailable, ...) pass through to the caller.
class LeafHashes {
 public:
  virtual ~LeafHashes() = default;
  // The leaf hash at `index`.
  virtual Result<std::string> hash(std::uint64_t index) const = 0;
  // Appends the leaf hashes [begin, end) to `out`, in index order. The default calls hash() per
  // index; a store should override it with one range read.
  virtual Status hashes(std::uint64_t begin, std::uint64_t end,
                        std::vector<std::string>& out) const;
};

// LeafHashes over hashes in memory; the span must outlive it.
class SpanLeafHashes final : public LeafHashes {
 public:
  explicit SpanLeafHashes(std::span<const std::string> hashes) : hashes_(hashes) {}
  Result<std::string> hash(std::uint64_t index) const override;
  Status hashes(std::uint64_t begin, std::uint64_t end,
                std::vector<std::string>& out) const override;

 private:
  std::span<const std::string> hashes_;
};

class MerkleTree {
 public:
  // 2^8 leaves: a proof reads fewer than 512 leaf hashes (one range read per perfect subtree
  // below the cache level) and the cache costs 64 bytes per 256 events (≈ 0.25 MB a million).
  static constexpr unsigned kDefaultCacheLevel = 8;

  explicit MerkleTree(unsigned cache_level = kDefaultCacheLevel);

  // Appends the next leaf (its hash, 32 bytes; kInvalidArgument otherwise).
  Status append(std::string_view leaf_hash);

  std::uint64_t size() const { return size_; }
  unsigned cache_level() const { return cache_level_; }

  // MTH of the whole tree, from the frontier.
  std::string root() const;

  // The frontier: roots of the perfect subtrees whose concatenation is the tree, largest first.
  std::vector<std::string> frontier() const;

  // Everything below takes `leaves` for the perfect subtrees smaller than 2^cache_level; it may
  // be null when cache_level is 0. Sizes may be any size ≤ size(), so proofs against an older
  // signed tree head keep working after later appends.

  // MTH(D[0:size]); kInvalidArgument (size_out_of_range) when size > size().
  Result<std::string> root_at(std::uint64_t size, const LeafHashes* leaves) const;
  // PATH(index, D[0:size]) (merkle::inclusion_proof).
  Result<std::vector<std::string>> inclusion_proof(std::uint64_t index, std::uint64_t size,
                                                   const LeafHashes* leaves) const;
  // PROOF(old_size, D[0:new_size]) (merkle::consistency_proof).
  Result<std::vector<std::string>> consistency_proof(std::uint64_t old_size, std::uint64_t new_size,
                                                     const LeafHashes* leaves) const;

 private:
  // MTH(D[begin:end]) for end ≤ size_.
  Result<std::string> range_root(std::uint64_t begin, std::uint64_t end,
                                 const LeafHashes* leaves) const;
  // Hash of the complete subtree at `level` (2^level leaves) number `index`.
  Result<std::string> perfect(unsigned level, std::uint64_t index, const LeafHashes* leaves) const;
  Status check_size(std::uint64_t size, const char* field) const;

  unsigned cache_level_;
  std::uint64_t size_ = 0;
  // frontier_[i] is 32 bytes; sizes of the subtrees decrease along the vector.
  std::vector<std::string> frontier_;
  // cache_[level − cache_level_] holds the hashes of all complete nodes of that level,
  // concatenated (32 bytes each) in index order: flat to spare a heap block per hash.
  std::vector<std::string> cache_;
};

}  // namespace custody::audit
