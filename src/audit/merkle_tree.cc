// Incremental Merkle tree with a perfect-subtree cache. See merkle_tree.h.
#include "audit/merkle_tree.h"

#include <algorithm>
#include <bit>

namespace custody::audit {
namespace {

using merkle::kHashSize;

Error out_of_range(std::string message, std::string field) {
  return Error::invalid(std::move(message), std::move(field)).with("reason", "size_out_of_range");
}

}  // namespace

Status LeafHashes::hashes(std::uint64_t begin, std::uint64_t end,
                          std::vector<std::string>& out) const {
  for (std::uint64_t i = begin; i < end; ++i) {
    CUSTODY_ASSIGN(std::string h, hash(i));
    out.push_back(std::move(h));
  }
  return ok_status();
}

Result<std::string> SpanLeafHashes::hash(std::uint64_t index) const {
  if (index >= hashes_.size())
    return Error::not_found("no leaf " + std::to_string(index) + " among " +
                            std::to_string(hashes_.size()));
  return hashes_[index];
}

Status SpanLeafHashes::hashes(std::uint64_t begin, std::uint64_t end,
                              std::vector<std::string>& out) const {
  if (begin > end || end > hashes_.size())
    return Error::not_found("no leaves [" + std::to_string(begin) + ", " + std::to_string(end) +
                            ") among " + std::to_string(hashes_.size()));
  out.insert(out.end(), hashes_.begin() + static_cast<std::ptrdiff_t>(begin),
             hashes_.begin() + static_cast<std::ptrdiff_t>(end));
  return ok_status();
}

MerkleTree::MerkleTree(unsigned cache_level) : cache_level_(std::min(cache_level, 63u)) {}

Status MerkleTree::append(std::string_view leaf_hash) {
  if (leaf_hash.size() != kHashSize)
    return Error::invalid("a leaf hash must be 32 bytes", "leaf_hash")
        .with("reason", "bad_hash_size");
  auto keep = [this](unsigned level, std::string_view h) {
    if (level < cache_level_) return;
    const unsigned slot = level - cache_level_;
    if (cache_.size() <= slot) cache_.resize(slot + 1);
    cache_[slot].append(h);
  };
  std::string h(leaf_hash);
  keep(0, h);
  // Each trailing 1 bit of the old size is a perfect subtree that the new leaf completes into
  // one twice as large: merge them, as in binary addition.
  unsigned level = 0;
  for (std::uint64_t carry = size_; (carry & 1) == 1; carry >>= 1) {
    std::string& left = frontier_.back();
    merkle::node_hash_to(left, h, left.data());
    h.swap(left);
    frontier_.pop_back();
    keep(++level, h);
  }
  frontier_.push_back(std::move(h));
  ++size_;
  return ok_status();
}

std::string MerkleTree::root() const {
  if (frontier_.empty()) return merkle::empty_root();
  // MTH(D[n]) = node(P_largest, MTH(rest)): fold the frontier from the smallest subtree.
  std::string r = frontier_.back();
  for (auto it = frontier_.rbegin() + 1; it != frontier_.rend(); ++it)
    merkle::node_hash_to(*it, r, r.data());
  return r;
}

std::vector<std::string> MerkleTree::frontier() const {
  return frontier_;
}

Status MerkleTree::check_size(std::uint64_t size, const char* field) const {
  if (size <= size_) return ok_status();
  return out_of_range(
      "tree size " + std::to_string(size) + " exceeds the log's " + std::to_string(size_), field);
}

Result<std::string> MerkleTree::root_at(std::uint64_t size, const LeafHashes* leaves) const {
  CUSTODY_TRY(check_size(size, "size"));
  if (size == size_) return root();
  if (size == 0) return merkle::empty_root();
  return range_root(0, size, leaves);
}

Result<std::vector<std::string>> MerkleTree::inclusion_proof(std::uint64_t index,
                                                             std::uint64_t size,
                                                             const LeafHashes* leaves) const {
  CUSTODY_TRY(check_size(size, "size"));
  return merkle::inclusion_proof(index, size, [this, leaves](std::uint64_t b, std::uint64_t e) {
    return range_root(b, e, leaves);
  });
}

Result<std::vector<std::string>> MerkleTree::consistency_proof(std::uint64_t old_size,
                                                               std::uint64_t new_size,
                                                               const LeafHashes* leaves) const {
  CUSTODY_TRY(check_size(new_size, "new_size"));
  return merkle::consistency_proof(
      old_size, new_size,
      [this, leaves](std::uint64_t b, std::uint64_t e) { return range_root(b, e, leaves); });
}

Result<std::string> MerkleTree::range_root(std::uint64_t begin, std::uint64_t end,
                                           const LeafHashes* leaves) const {
  const std::uint64_t n = end - begin;
  if (n == 0) return merkle::empty_root();
  if (std::has_single_bit(n) && begin % n == 0) {
    const unsigned level = static_cast<unsigned>(std::countr_zero(n));
    return perfect(level, begin >> level, leaves);
  }
  // Not one complete node: split as MTH does. In the RFC's recursion the left part is always
  // an aligned perfect subtree and the right part the tree's ragged right edge.
  const std::uint64_t k = std::bit_floor(n - 1);
  CUSTODY_ASSIGN(std::string left, range_root(begin, begin + k, leaves));
  CUSTODY_ASSIGN(std::string right, range_root(begin + k, end, leaves));
  merkle::node_hash_to(left, right, left.data());
  return left;
}

Result<std::string> MerkleTree::perfect(unsigned level, std::uint64_t index,
                                        const LeafHashes* leaves) const {
  if (level >= cache_level_) {
    const unsigned slot = level - cache_level_;
    const std::uint64_t offset = index * kHashSize;
    if (slot >= cache_.size() || offset + kHashSize > cache_[slot].size())
      return Error::internal("merkle tree: subtree (" + std::to_string(level) + ", " +
                             std::to_string(index) + ") is not complete");
    return cache_[slot].substr(offset, kHashSize);
  }
  if (leaves == nullptr)
    return Error::internal("merkle tree: leaf hashes are needed below the cache level");
  const std::uint64_t begin = index << level, count = std::uint64_t{1} << level;
  std::vector<std::string> hashes;
  hashes.reserve(count);
  CUSTODY_TRY(leaves->hashes(begin, begin + count, hashes));
  if (hashes.size() != count)
    return Error::internal("leaf hash source returned " + std::to_string(hashes.size()) +
                           " hashes for " + std::to_string(count) + " leaves");
  for (std::uint64_t i = 0; i < count; ++i)
    if (hashes[i].size() != kHashSize)
      return Error::internal("leaf hash " + std::to_string(begin + i) + " is not 32 bytes");
  // Reduce pairwise, level by level, in place.
  for (std::uint64_t width = count; width > 1; width /= 2)
    for (std::uint64_t i = 0; i < width / 2; ++i)
      merkle::node_hash_to(hashes[2 * i], hashes[2 * i + 1], hashes[i].data());
  return std::move(hashes[0]);
}

}  // namespace custody::audit
