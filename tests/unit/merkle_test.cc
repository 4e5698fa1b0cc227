// RFC 9162 Merkle trees: hashing, proofs and verification (audit/merkle.h) against the
// Certificate Transparency reference vectors, exhaustive self-consistency with tampering for
// small trees, and the incremental tree (audit/merkle_tree.h) against the recursive definition.
#include "audit/merkle.h"

#include <gtest/gtest.h>

#include <random>

#include "audit/merkle_tree.h"
#include "common/encoding.h"
#include "crypto/keyed_hash.h"

namespace custody::audit {
namespace {

using merkle::consistency_proof;
using merkle::inclusion_proof;
using merkle::verify_consistency;
using merkle::verify_inclusion;
using Proof = std::vector<std::string>;

std::string unhex(std::string_view h) {
  auto b = hex_decode(h);
  EXPECT_TRUE(b.has_value()) << h;
  return b.value_or("");
}

Proof unhex_all(std::initializer_list<std::string_view> hs) {
  Proof p;
  for (auto h : hs) p.push_back(unhex(h));
  return p;
}

std::string reason(const Status& s) {
  if (s.ok()) return "ok";
  auto it = s.error().details.find("reason");
  return it == s.error().details.end() ? "(no reason)" : it->second;
}

// The Certificate Transparency reference tree (RFC 6962 test data, as used by the
// certificate-transparency and transparency-dev/merkle test suites).
const std::vector<std::string>& ct_entries() {
  static const std::vector<std::string> kEntries = {
      unhex(""),
      unhex("00"),
      unhex("10"),
      unhex("2021"),
      unhex("3031"),
      unhex("40414243"),
      unhex("5051525354555657"),
      unhex("606162636465666768696a6b6c6d6e6f"),
  };
  return kEntries;
}

std::vector<std::string> ct_leaves() {
  std::vector<std::string> leaves;
  for (const auto& e : ct_entries()) leaves.push_back(merkle::leaf_hash(e));
  return leaves;
}

// Root of the first n entries, n = 0..8.
const std::string_view kCtRoots[] = {
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
};

struct InclusionVector {
  std::uint64_t index, size;
  Proof proof;
};

std::vector<InclusionVector> ct_inclusion() {
  return {
      {0, 8,
       unhex_all({"96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
                  "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                  "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"})},
      {5, 8,
       unhex_all({"bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
                  "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                  "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"})},
      {2, 3, unhex_all({"fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"})},
      {1, 5,
       unhex_all({"6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
                  "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                  "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"})},
      {0, 1, {}},
  };
}

struct ConsistencyVector {
  std::uint64_t old_size, new_size;
  Proof proof;
};

std::vector<ConsistencyVector> ct_consistency() {
  return {
      {1, 1, {}},
      {1, 8,
       unhex_all({"96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
                  "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                  "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"})},
      {6, 8,
       unhex_all({"0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
                  "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                  "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"})},
      {2, 5,
       unhex_all({"5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                  "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"})},
      {6, 7,
       unhex_all({"0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
                  "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
                  "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"})},
  };
}

std::vector<std::string> make_leaves(std::size_t n) {
  std::vector<std::string> leaves;
  leaves.reserve(n);
  for (std::size_t i = 0; i < n; ++i)
    leaves.push_back(merkle::leaf_hash("entry " + std::to_string(i)));
  return leaves;
}

MerkleTree make_tree(std::span<const std::string> leaves, unsigned cache_level) {
  MerkleTree tree(cache_level);
  for (const auto& h : leaves) EXPECT_TRUE(tree.append(h).ok());
  return tree;
}

TEST(Merkle, HashingPrimitives) {
  EXPECT_EQ(hex_encode(merkle::empty_root()), kCtRoots[0]);
  EXPECT_EQ(hex_encode(merkle::leaf_hash("")), kCtRoots[1]);
  const std::string a = merkle::leaf_hash("a"), b = merkle::leaf_hash("b");
  EXPECT_EQ(a, crypto::sha256(std::string(1, '\x00') + "a"));
  EXPECT_EQ(merkle::node_hash(a, b), crypto::sha256("\x01" + a + b));
  EXPECT_NE(merkle::node_hash(a, b), merkle::leaf_hash(a + b));
  EXPECT_NE(merkle::node_hash(a, b), merkle::node_hash(b, a));
  std::string out = a;
  merkle::node_hash_to(out, b, out.data());  // aliasing the output is allowed
  EXPECT_EQ(out, merkle::node_hash(a, b));
}

TEST(Merkle, ReferenceRoots) {
  const auto leaves = ct_leaves();
  for (std::size_t n = 0; n <= 8; ++n) {
    const std::span<const std::string> prefix(leaves.data(), n);
    EXPECT_EQ(hex_encode(merkle::root(prefix)), kCtRoots[n]) << n;
    for (unsigned cache : {0u, 1u, 2u, 8u}) {
      MerkleTree tree = make_tree(prefix, cache);
      EXPECT_EQ(hex_encode(tree.root()), kCtRoots[n]) << n << " cache " << cache;
    }
  }
  MerkleTree tree = make_tree(leaves, 1);
  SpanLeafHashes source(leaves);
  for (std::size_t n = 0; n <= 8; ++n)
    EXPECT_EQ(hex_encode(*tree.root_at(n, &source)), kCtRoots[n]) << n;
}

TEST(Merkle, ReferenceInclusionProofs) {
  const auto leaves = ct_leaves();
  SpanLeafHashes source(leaves);
  for (const auto& v : ct_inclusion()) {
    const std::span<const std::string> prefix(leaves.data(), v.size);
    EXPECT_EQ(*inclusion_proof(prefix, v.index), v.proof) << v.index << "/" << v.size;
    for (unsigned cache : {0u, 1u, 2u, 8u}) {
      MerkleTree tree = make_tree(leaves, cache);
      EXPECT_EQ(*tree.inclusion_proof(v.index, v.size, &source), v.proof)
          << v.index << "/" << v.size;
    }
    const Status s =
        verify_inclusion(leaves[v.index], v.index, v.size, v.proof, unhex(kCtRoots[v.size]));
    EXPECT_TRUE(s.ok()) << v.index << "/" << v.size << ": " << s.error().message;
  }
}

TEST(Merkle, ReferenceConsistencyProofs) {
  const auto leaves = ct_leaves();
  SpanLeafHashes source(leaves);
  for (const auto& v : ct_consistency()) {
    const std::span<const std::string> prefix(leaves.data(), v.new_size);
    EXPECT_EQ(*consistency_proof(prefix, v.old_size), v.proof) << v.old_size << "→" << v.new_size;
    for (unsigned cache : {0u, 1u, 2u, 8u}) {
      MerkleTree tree = make_tree(leaves, cache);
      EXPECT_EQ(*tree.consistency_proof(v.old_size, v.new_size, &source), v.proof)
          << v.old_size << "→" << v.new_size;
    }
    const Status s = verify_consistency(v.old_size, v.new_size, unhex(kCtRoots[v.old_size]),
                                        unhex(kCtRoots[v.new_size]), v.proof);
    EXPECT_TRUE(s.ok()) << v.old_size << "→" << v.new_size << ": " << s.error().message;
  }
}

// Flips one bit at a time in every hash of `proof` and in `root`; `check` must refuse each.
template <class Check>
void expect_every_bit_flip_fails(Proof proof, std::string root, Check check,
                                 const std::string& what) {
  for (std::size_t i = 0; i < proof.size(); ++i)
    for (std::size_t bit = 0; bit < 8 * merkle::kHashSize; ++bit) {
      proof[i][bit / 8] ^= static_cast<char>(1 << (bit % 8));
      ASSERT_FALSE(check(proof, root).ok()) << what << " proof[" << i << "] bit " << bit;
      proof[i][bit / 8] ^= static_cast<char>(1 << (bit % 8));
    }
  for (std::size_t bit = 0; bit < 8 * merkle::kHashSize; ++bit) {
    root[bit / 8] ^= static_cast<char>(1 << (bit % 8));
    ASSERT_FALSE(check(proof, root).ok()) << what << " root bit " << bit;
    root[bit / 8] ^= static_cast<char>(1 << (bit % 8));
  }
  ASSERT_TRUE(check(proof, root).ok()) << what << " after restoring";
}

constexpr std::uint64_t kExhaustive = 64;

TEST(Merkle, EveryInclusionProofUpTo64VerifiesAndTamperingFails) {
  const auto leaves = make_leaves(kExhaustive);
  const MerkleTree cached = make_tree(leaves, 2);
  SpanLeafHashes source(leaves);
  std::vector<std::string> roots;
  for (std::uint64_t n = 0; n <= kExhaustive; ++n)
    roots.push_back(merkle::root(std::span<const std::string>(leaves.data(), n)));
  for (std::uint64_t n = 1; n <= kExhaustive; ++n) {
    const std::span<const std::string> prefix(leaves.data(), n);
    const std::string& root = roots[n];
    for (std::uint64_t m = 0; m < n; ++m) {
      const std::string what = std::to_string(m) + "/" + std::to_string(n);
      auto proof = inclusion_proof(prefix, m);
      ASSERT_TRUE(proof.ok()) << what;
      ASSERT_EQ(proof->size(), merkle::inclusion_proof_size(m, n)) << what;
      ASSERT_EQ(*cached.inclusion_proof(m, n, &source), *proof) << what;
      ASSERT_TRUE(verify_inclusion(leaves[m], m, n, *proof, root).ok()) << what;

      expect_every_bit_flip_fails(
          *proof, root,
          [&](const Proof& p, const std::string& r) {
            return verify_inclusion(leaves[m], m, n, p, r);
          },
          what);
      std::string leaf = leaves[m];
      leaf[31] ^= 1;
      EXPECT_EQ(reason(verify_inclusion(leaf, m, n, *proof, root)), "root_mismatch") << what;
      // Another index or size: refused, whichever check catches it.
      for (std::uint64_t other = 0; other < n; ++other) {
        if (other == m) continue;
        EXPECT_FALSE(verify_inclusion(leaves[m], other, n, *proof, root).ok()) << what;
      }
      // Nor in a tree of another size. (With the same root a proof can also fit a larger
      // size: the size is bound by the signed root, not by the proof.)
      for (std::uint64_t other = m + 1; other <= kExhaustive; ++other) {
        if (other == n) continue;
        EXPECT_FALSE(verify_inclusion(leaves[m], m, other, *proof, roots[other]).ok()) << what;
      }
      Proof longer = *proof;
      longer.push_back(root);
      EXPECT_EQ(reason(verify_inclusion(leaves[m], m, n, longer, root)), "proof_length") << what;
      if (!proof->empty()) {
        Proof shorter(proof->begin(), proof->end() - 1);
        EXPECT_EQ(reason(verify_inclusion(leaves[m], m, n, shorter, root)), "proof_length") << what;
      }
    }
  }
}

TEST(Merkle, EveryConsistencyProofUpTo64VerifiesAndTamperingFails) {
  const auto leaves = make_leaves(kExhaustive);
  const MerkleTree cached = make_tree(leaves, 2);
  SpanLeafHashes source(leaves);
  std::vector<std::string> roots;
  for (std::uint64_t n = 0; n <= kExhaustive; ++n)
    roots.push_back(merkle::root(std::span<const std::string>(leaves.data(), n)));
  for (std::uint64_t n = 0; n <= kExhaustive; ++n) {
    const std::span<const std::string> prefix(leaves.data(), n);
    for (std::uint64_t m = 0; m <= n; ++m) {
      const std::string what = std::to_string(m) + "→" + std::to_string(n);
      auto proof = consistency_proof(prefix, m);
      ASSERT_TRUE(proof.ok()) << what;
      ASSERT_EQ(proof->size(), merkle::consistency_proof_size(m, n)) << what;
      ASSERT_EQ(*cached.consistency_proof(m, n, &source), *proof) << what;
      ASSERT_TRUE(verify_consistency(m, n, roots[m], roots[n], *proof).ok()) << what;

      // Tamper with the proof and the new root (which nothing can check when m = 0 < n)...
      if (m > 0 || n == 0)
        expect_every_bit_flip_fails(
            *proof, roots[n],
            [&](const Proof& p, const std::string& r) {
              return verify_consistency(m, n, roots[m], r, p);
            },
            what);
      // ...and with the old root.
      for (std::size_t bit = 0; bit < 8 * merkle::kHashSize; ++bit) {
        std::string old_root = roots[m];
        old_root[bit / 8] ^= static_cast<char>(1 << (bit % 8));
        ASSERT_FALSE(verify_consistency(m, n, old_root, roots[n], *proof).ok())
            << what << " " << bit;
      }
      // A non-empty proof is for exactly this pair of sizes.
      for (std::uint64_t other = 0; other <= n && !proof->empty(); ++other) {
        if (other == m) continue;
        EXPECT_FALSE(verify_consistency(other, n, roots[other], roots[n], *proof).ok())
            << what << " as " << other;
      }
      if (m > 0 && m < n) {
        EXPECT_EQ(reason(verify_consistency(m, n, roots[m], roots[n], {})), "empty_proof") << what;
        Proof longer = *proof;
        longer.push_back(roots[m]);
        EXPECT_EQ(reason(verify_consistency(m, n, roots[m], roots[n], longer)), "proof_length")
            << what;
        Proof shorter(proof->begin(), proof->end() - 1);
        if (!shorter.empty()) {
          EXPECT_EQ(reason(verify_consistency(m, n, roots[m], roots[n], shorter)), "proof_length")
              << what;
        }
        EXPECT_FALSE(verify_consistency(m, n, roots[n], roots[m], *proof).ok()) << what;
      }
    }
  }
}

TEST(Merkle, VerifyInclusionErrors) {
  const auto leaves = ct_leaves();
  const std::string root = unhex(kCtRoots[8]);
  const Proof proof = ct_inclusion()[0].proof;  // index 0 of 8

  Status s = verify_inclusion(leaves[0], 8, 8, proof, root);
  EXPECT_EQ(reason(s), "index_out_of_range");
  EXPECT_EQ(s.error().code, Code::kInvalidArgument);
  EXPECT_EQ(s.error().field, "index");
  EXPECT_EQ(reason(verify_inclusion(leaves[0], 0, 0, {}, merkle::empty_root())),
            "index_out_of_range");

  s = verify_inclusion("short", 0, 8, proof, root);
  EXPECT_EQ(reason(s), "bad_hash_size");
  EXPECT_EQ(s.error().field, "leaf_hash");
  EXPECT_EQ(verify_inclusion(leaves[0], 0, 8, proof, root + "x").error().field, "root");
  Proof bad = proof;
  bad[1].pop_back();
  EXPECT_EQ(verify_inclusion(leaves[0], 0, 8, bad, root).error().field, "proof/1");

  s = verify_inclusion(leaves[0], 0, 8, Proof(proof.begin(), proof.begin() + 2), root);
  EXPECT_EQ(reason(s), "proof_length");
  EXPECT_EQ(s.error().code, Code::kUnprocessable);
  EXPECT_NE(s.error().message.find("needs 3"), std::string::npos) << s.error().message;

  s = verify_inclusion(leaves[0], 0, 8, proof, unhex(kCtRoots[7]));
  EXPECT_EQ(reason(s), "root_mismatch");
  EXPECT_EQ(s.error().code, Code::kUnprocessable);

  // Size 1: the leaf is the root and the proof is empty.
  EXPECT_TRUE(verify_inclusion(leaves[0], 0, 1, {}, leaves[0]).ok());
  EXPECT_EQ(reason(verify_inclusion(leaves[0], 0, 1, {}, leaves[1])), "root_mismatch");
  EXPECT_EQ(reason(verify_inclusion(leaves[0], 0, 1, Proof{leaves[0]}, leaves[0])), "proof_length");
}

TEST(Merkle, VerifyConsistencyErrors) {
  const std::string r5 = unhex(kCtRoots[5]), r2 = unhex(kCtRoots[2]);
  const Proof proof = ct_consistency()[3].proof;  // 2 → 5
  const std::string& empty = merkle::empty_root();

  Status s = verify_consistency(5, 2, r5, r2, proof);
  EXPECT_EQ(reason(s), "old_size_exceeds_new_size");
  EXPECT_EQ(s.error().code, Code::kInvalidArgument);
  EXPECT_EQ(s.error().field, "old_size");
  EXPECT_EQ(verify_consistency(2, 5, "x", r5, proof).error().field, "old_root");
  EXPECT_EQ(verify_consistency(2, 5, r2, "x", proof).error().field, "new_root");
  EXPECT_EQ(verify_consistency(2, 5, r2, r5, Proof{r2, "x"}).error().field, "proof/1");

  // Equal sizes.
  EXPECT_TRUE(verify_consistency(5, 5, r5, r5, {}).ok());
  EXPECT_EQ(reason(verify_consistency(5, 5, r5, r5, Proof{r5})), "proof_not_empty");
  EXPECT_EQ(reason(verify_consistency(5, 5, r5, r2, {})), "root_mismatch");
  // From the empty tree.
  EXPECT_TRUE(verify_consistency(0, 5, empty, r5, {}).ok());
  EXPECT_TRUE(verify_consistency(0, 0, empty, empty, {}).ok());
  EXPECT_EQ(reason(verify_consistency(0, 5, empty, r5, Proof{r5})), "proof_not_empty");
  EXPECT_EQ(reason(verify_consistency(0, 5, r2, r5, {})), "old_root_mismatch");
  EXPECT_EQ(reason(verify_consistency(0, 0, empty, r5, {})), "new_root_mismatch");
  // Proper extensions.
  EXPECT_TRUE(verify_consistency(2, 5, r2, r5, proof).ok());
  EXPECT_EQ(reason(verify_consistency(2, 5, r2, r5, {})), "empty_proof");
  s = verify_consistency(2, 5, r2, r5, Proof{proof[0]});
  EXPECT_EQ(reason(s), "proof_length");
  EXPECT_EQ(s.error().code, Code::kUnprocessable);
  // A power-of-two old size has its root as the start of the path, so a wrong one shows in
  // the new root.
  EXPECT_EQ(reason(verify_consistency(2, 5, r5, r5, proof)), "new_root_mismatch");
  EXPECT_EQ(reason(verify_consistency(2, 5, r2, r2, proof)), "new_root_mismatch");
  // 6 → 8 carries the old subtree hash first: a wrong one breaks the old root.
  Proof p68 = ct_consistency()[2].proof;
  p68[0][0] ^= 1;
  EXPECT_EQ(reason(verify_consistency(6, 8, unhex(kCtRoots[6]), unhex(kCtRoots[8]), p68)),
            "old_root_mismatch");
}

TEST(Merkle, ProofConstructionErrors) {
  const auto leaves = ct_leaves();
  EXPECT_EQ(reason(inclusion_proof(std::span<const std::string>(leaves), 8).error()),
            "index_out_of_range");
  EXPECT_EQ(reason(inclusion_proof(std::span<const std::string>(), 0).error()),
            "index_out_of_range");
  EXPECT_EQ(reason(consistency_proof(std::span<const std::string>(leaves.data(), 3), 4).error()),
            "old_size_exceeds_new_size");
  EXPECT_TRUE(consistency_proof(std::span<const std::string>(leaves), 0)->empty());
  EXPECT_TRUE(consistency_proof(std::span<const std::string>(leaves), 8)->empty());
  // A failing subtree source fails the proof with its error.
  auto failing = [](std::uint64_t, std::uint64_t) -> Result<std::string> {
    return Error::unavailable("store down");
  };
  EXPECT_EQ(inclusion_proof(3, 8, failing).error().code, Code::kUnavailable);
  EXPECT_EQ(consistency_proof(3, 8, failing).error().code, Code::kUnavailable);
}

// The incremental root equals MTH after every append up to 1,000 leaves, with and without cache.
TEST(MerkleTree, RootMatchesRecursiveDefinitionForEverySizeTo1000) {
  const auto leaves = make_leaves(1000);
  MerkleTree all(0), cached(MerkleTree::kDefaultCacheLevel), tiny(1);
  SpanLeafHashes source(leaves);
  EXPECT_EQ(all.root(), merkle::empty_root());
  for (std::size_t n = 1; n <= leaves.size(); ++n) {
    ASSERT_TRUE(all.append(leaves[n - 1]).ok());
    ASSERT_TRUE(cached.append(leaves[n - 1]).ok());
    ASSERT_TRUE(tiny.append(leaves[n - 1]).ok());
    const std::string want = merkle::root(std::span<const std::string>(leaves.data(), n));
    ASSERT_EQ(all.root(), want) << n;
    ASSERT_EQ(cached.root(), want) << n;
    ASSERT_EQ(tiny.root(), want) << n;
    ASSERT_EQ(all.size(), n);
    ASSERT_EQ(all.frontier().size(), static_cast<std::size_t>(std::popcount(n))) << n;
  }
  for (std::size_t n = 0; n <= leaves.size(); n += 37)
    ASSERT_EQ(*cached.root_at(n, &source),
              merkle::root(std::span<const std::string>(leaves.data(), n)))
        << n;
}

// Counts leaf reads, to check the cache bounds the work of a proof.
class CountingLeafHashes final : public LeafHashes {
 public:
  explicit CountingLeafHashes(std::span<const std::string> hashes) : inner_(hashes) {}
  Result<std::string> hash(std::uint64_t index) const override {
    ++reads;
    return inner_.hash(index);
  }
  Status hashes(std::uint64_t begin, std::uint64_t end,
                std::vector<std::string>& out) const override {
    reads += end - begin;
    ++calls;
    return inner_.hashes(begin, end, out);
  }
  mutable std::uint64_t reads = 0, calls = 0;

 private:
  SpanLeafHashes inner_;
};

TEST(MerkleTree, RandomSizesTo100000MatchRecursiveDefinition) {
  constexpr std::size_t kLeaves = 100'000;
  const auto leaves = make_leaves(kLeaves);
  std::mt19937_64 rng(9162);
  std::vector<std::uint64_t> sizes = {1, 2, 3, 65'535, 65'536, 65'537, kLeaves};
  for (int i = 0; i < 20; ++i) sizes.push_back(1 + rng() % kLeaves);
  std::sort(sizes.begin(), sizes.end());

  MerkleTree tree;  // default cache level
  CountingLeafHashes source(leaves);
  std::vector<std::string> roots_seen;
  std::size_t next = 0;
  for (std::uint64_t n = 1; n <= kLeaves; ++n) {
    ASSERT_TRUE(tree.append(leaves[n - 1]).ok());
    while (next < sizes.size() && sizes[next] == n) {
      ASSERT_EQ(tree.root(), merkle::root(std::span<const std::string>(leaves.data(), n))) << n;
      roots_seen.push_back(tree.root());
      ++next;
    }
  }
  // Old sizes from the finished tree, as for a proof against an older signed head.
  for (std::size_t i = 0; i < sizes.size(); ++i)
    ASSERT_EQ(*tree.root_at(sizes[i], &source), roots_seen[i]) << sizes[i];

  const std::uint64_t max_reads = std::uint64_t{2} << tree.cache_level();
  for (int i = 0; i < 20; ++i) {
    const std::uint64_t n = sizes[rng() % sizes.size()], m = rng() % n;
    const std::span<const std::string> prefix(leaves.data(), n);
    const std::string root = merkle::root(prefix);
    source.reads = 0;
    auto proof = tree.inclusion_proof(m, n, &source);
    ASSERT_TRUE(proof.ok());
    EXPECT_LE(source.reads, max_reads) << m << "/" << n;
    EXPECT_EQ(*proof, *inclusion_proof(prefix, m)) << m << "/" << n;
    EXPECT_TRUE(verify_inclusion(leaves[m], m, n, *proof, root).ok()) << m << "/" << n;

    const std::uint64_t old = rng() % (n + 1);
    source.reads = 0;
    auto cproof = tree.consistency_proof(old, n, &source);
    ASSERT_TRUE(cproof.ok());
    EXPECT_LE(source.reads, max_reads) << old << "→" << n;
    EXPECT_EQ(*cproof, *consistency_proof(prefix, old)) << old << "→" << n;
    const std::string old_root = merkle::root(prefix.first(old));
    EXPECT_TRUE(verify_consistency(old, n, old_root, root, *cproof).ok()) << old << "→" << n;
  }
}

TEST(MerkleTree, Errors) {
  const auto leaves = make_leaves(100);
  MerkleTree tree(4);
  EXPECT_EQ(tree.append("short").error().code, Code::kInvalidArgument);
  EXPECT_EQ(tree.size(), 0u);
  for (const auto& h : leaves) ASSERT_TRUE(tree.append(h).ok());
  SpanLeafHashes source(leaves);

  EXPECT_EQ(reason(tree.root_at(101, &source).error()), "size_out_of_range");
  EXPECT_EQ(tree.root_at(101, &source).error().field, "size");
  EXPECT_EQ(reason(tree.inclusion_proof(5, 101, &source).error()), "size_out_of_range");
  EXPECT_EQ(reason(tree.inclusion_proof(100, 100, &source).error()), "index_out_of_range");
  EXPECT_EQ(tree.consistency_proof(5, 101, &source).error().field, "new_size");
  EXPECT_EQ(reason(tree.consistency_proof(60, 50, &source).error()), "old_size_exceeds_new_size");

  // Below the cache level the leaves are needed: none given, or a failing store.
  EXPECT_EQ(tree.inclusion_proof(5, 100, nullptr).error().code, Code::kInternal);
  class Down final : public LeafHashes {
    Result<std::string> hash(std::uint64_t) const override { return Error::unavailable("down"); }
  } down;
  EXPECT_EQ(tree.inclusion_proof(5, 100, &down).error().code, Code::kUnavailable);
  // A source that returns garbage is caught, not hashed.
  class Garbage final : public LeafHashes {
    Result<std::string> hash(std::uint64_t) const override { return std::string("garbage"); }
  } garbage;
  EXPECT_EQ(tree.inclusion_proof(5, 100, &garbage).error().code, Code::kInternal);
  // With every level cached no leaf is read.
  MerkleTree full = make_tree(leaves, 0);
  EXPECT_TRUE(full.inclusion_proof(5, 100, nullptr).ok());
  EXPECT_TRUE(full.consistency_proof(7, 99, nullptr).ok());
}

}  // namespace
}  // namespace custody::audit
