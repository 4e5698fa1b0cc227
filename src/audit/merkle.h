// RFC 9162 §2.1 (= RFC 6962 §2.1) Merkle tree hashing over SHA-256, audit-path and consistency
// proofs, and their verification. Pure functions over hashes; the incremental tree that keeps
// subtree hashes for fast proofs is merkle_tree.h, and docs/audit-integrity.md explains both.
//
// Hashes are 32 raw bytes in std::string. For n leaves D[0:n]:
//   MTH({})      = SHA-256("")
//   MTH({d0})    = SHA-256(0x00 || d0)                          (leaf_hash)
//   MTH(D[0:n])  = SHA-256(0x01 || MTH(D[0:k]) || MTH(D[k:n]))  (node_hash), k = the largest
//                  power of two < n. A lone last leaf is never duplicated.
//
// Errors. Requests that make no sense (index ≥ size, old size > new size, a hash that is not 32
// bytes) are kInvalidArgument with `field` naming the argument. A well-formed proof that does not
// prove the claim is kUnprocessable. Both carry details["reason"], one of:
//   index_out_of_range, size_out_of_range, old_size_exceeds_new_size, bad_hash_size,
//   proof_length, empty_proof, proof_not_empty, root_mismatch, old_root_mismatch,
//   new_root_mismatch.
#pragma once

#include <cstdint>
#include <functional>
#include <initializer_list>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace custody::audit::merkle {

constexpr std::size_t kHashSize = 32;

// SHA-256("") = e3b0c442…b855, the root of the empty tree.
const std::string& empty_root();
// SHA-256(0x00 || entry).
std::string leaf_hash(std::string_view entry);
// The same for an entry given in pieces: leaf_hash(parts joined), without joining them.
std::string leaf_hash(std::initializer_list<std::string_view> entry_parts);
// SHA-256(0x01 || left || right).
std::string node_hash(std::string_view left, std::string_view right);
// node_hash into out[0..32); out may alias left or right. For tight loops that avoid allocation.
void node_hash_to(std::string_view left, std::string_view right, char* out);

// MTH(D[0:n]) of the given leaf hashes by the recursive definition above: n − 1 node hashes.
std::string root(std::span<const std::string> leaf_hashes);

// Supplies MTH(D[begin:end]) for 0 ≤ begin < end ≤ the tree size in question. Proof
// construction asks only for ranges of the RFC's recursion: begin is a multiple of the largest
// power of two ≤ end − begin, so a source can answer from cached perfect-subtree hashes.
using RangeRoot = std::function<Result<std::string>(std::uint64_t begin, std::uint64_t end)>;

// PATH(index, D[0:size]) of RFC 9162 §2.1.3.1: sibling hashes from the leaf up.
// kInvalidArgument (index_out_of_range) when index ≥ size; errors of range_root pass through.
Result<std::vector<std::string>> inclusion_proof(std::uint64_t index, std::uint64_t size,
                                                 const RangeRoot& range_root);
// PROOF(old_size, D[0:new_size]) of RFC 9162 §2.1.4.1. Empty when old_size is 0 or equals
// new_size. kInvalidArgument (old_size_exceeds_new_size) when old_size > new_size.
Result<std::vector<std::string>> consistency_proof(std::uint64_t old_size, std::uint64_t new_size,
                                                   const RangeRoot& range_root);

// The same over leaf hashes held in memory (size = leaf_hashes.size()). O(n) hashing per proof:
// the reference implementation for tests and small trees.
Result<std::vector<std::string>> inclusion_proof(std::span<const std::string> leaf_hashes,
                                                 std::uint64_t index);
Result<std::vector<std::string>> consistency_proof(std::span<const std::string> leaf_hashes,
                                                   std::uint64_t old_size);

// Number of hashes in the correct proof: inclusion needs index < size; consistency needs
// 0 < old_size < new_size (the proof is empty otherwise).
std::size_t inclusion_proof_size(std::uint64_t index, std::uint64_t size);
std::size_t consistency_proof_size(std::uint64_t old_size, std::uint64_t new_size);

// RFC 9162 §2.1.3.2: OK iff `proof` shows the leaf with hash `leaf_hash` at `index` in the tree
// of `size` leaves whose root is `root`. Checked first, in order: index < size (else
// index_out_of_range), every hash 32 bytes (bad_hash_size; field "leaf_hash", "root" or
// "proof/i"), proof length (proof_length); then the algorithm, ending in root_mismatch.
Status verify_inclusion(std::string_view leaf_hash, std::uint64_t index, std::uint64_t size,
                        std::span<const std::string> proof, std::string_view root);

// RFC 9162 §2.1.4.2: OK iff `proof` shows the tree (old_size, old_root) is a prefix of
// (new_size, new_root). Checked first: old_size ≤ new_size (old_size_exceeds_new_size), every
// hash 32 bytes (bad_hash_size). Then:
// - old_size = 0: every tree extends the empty one, so the proof must be empty
//   (proof_not_empty), and a root claimed for size 0 must be SHA-256("") (old_root_mismatch,
//   new_root_mismatch) — stricter than RFC 9162, which leaves size 0 undefined;
// - old_size = new_size: proof must be empty (proof_not_empty), roots equal (root_mismatch);
// - otherwise: non-empty (empty_proof), of the right length (proof_length), then the
//   algorithm, ending in old_root_mismatch or new_root_mismatch.
Status verify_consistency(std::uint64_t old_size, std::uint64_t new_size, std::string_view old_root,
                          std::string_view new_root, std::span<const std::string> proof);

}  // namespace custody::audit::merkle
