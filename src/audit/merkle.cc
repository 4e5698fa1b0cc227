// RFC 9162 Merkle tree hashing, proofs and verification. See merkle.h.
#include "audit/merkle.h"

#include <openssl/evp.h>

#include <algorithm>
#include <bit>
#include <cstdlib>
#include <initializer_list>
#include <utility>

namespace custody::audit::merkle {
namespace {

// One digest context per thread, re-initialised for every hash: EVP_Digest() would allocate a
// context and look SHA-256 up by name on each call, which costs more than hashing 65 bytes.
class Sha256 {
 public:
  Sha256() : md_(EVP_MD_fetch(nullptr, "SHA256", nullptr)), ctx_(EVP_MD_CTX_new()) {}
  ~Sha256() {
    EVP_MD_CTX_free(ctx_);
    EVP_MD_free(md_);
  }
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;

  // out[0..32) = SHA-256(prefix || a || b), the prefix omitted when negative. Reads all inputs
  // before writing out, so out may alias them.
  void hash(int prefix, std::string_view a, std::string_view b, char* out) {
    hash(prefix, {a, b}, out);
  }
  // out[0..32) = SHA-256(prefix || parts...), the same way.
  void hash(int prefix, std::initializer_list<std::string_view> parts, char* out) {
    const unsigned char p = static_cast<unsigned char>(prefix);
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    // These calls fail only on allocation failure inside OpenSSL; there is no sane way on.
    bool ok = EVP_DigestInit_ex2(ctx_, md_, nullptr) == 1 &&
              (prefix < 0 || EVP_DigestUpdate(ctx_, &p, 1) == 1);
    for (std::string_view part : parts)
      ok = ok && EVP_DigestUpdate(ctx_, part.data(), part.size()) == 1;
    if (!ok || EVP_DigestFinal_ex(ctx_, digest, &len) != 1 || len != kHashSize) std::abort();
    std::copy_n(digest, kHashSize, reinterpret_cast<unsigned char*>(out));
  }

  static Sha256& local() {
    thread_local Sha256 instance;
    return instance;
  }

 private:
  EVP_MD* md_;
  EVP_MD_CTX* ctx_;
};

constexpr std::string_view kReason = "reason";

Error invalid(std::string message, std::string field, std::string reason) {
  return Error::invalid(std::move(message), std::move(field)).with(std::string(kReason), reason);
}

Error unproven(std::string message, std::string reason) {
  return Error::unprocessable(std::move(message)).with(std::string(kReason), reason);
}

// Largest power of two strictly below n (n ≥ 2): the RFC's split point k.
std::uint64_t split_point(std::uint64_t n) {
  return std::bit_floor(n - 1);
}

Error bad_hash_size(std::size_t size, std::string field) {
  return invalid(
      "a hash must be " + std::to_string(kHashSize) + " bytes, not " + std::to_string(size),
      std::move(field), "bad_hash_size");
}

// The first hash that is not 32 bytes, named ones first, then the proof's. Errors are built only
// on failure: verification runs in loops (verify, tests) where most calls succeed.
Status check_sizes(std::initializer_list<std::pair<std::string_view, const char*>> named,
                   std::span<const std::string> proof) {
  for (const auto& [hash, field] : named)
    if (hash.size() != kHashSize) return bad_hash_size(hash.size(), field);
  for (std::size_t i = 0; i < proof.size(); ++i)
    if (proof[i].size() != kHashSize)
      return bad_hash_size(proof[i].size(), "proof/" + std::to_string(i));
  return ok_status();
}

Error wrong_length(std::size_t got, std::size_t want) {
  return unproven(
      "proof has " + std::to_string(got) + " hashes; this tree shape needs " + std::to_string(want),
      "proof_length");
}

std::string root_of_range(std::span<const std::string> leaves) {
  if (leaves.empty()) return empty_root();
  if (leaves.size() == 1) return leaves[0];
  const std::size_t k = split_point(leaves.size());
  return node_hash(root_of_range(leaves.first(k)), root_of_range(leaves.subspan(k)));
}

RangeRoot in_memory(std::span<const std::string> leaves) {
  return [leaves](std::uint64_t begin, std::uint64_t end) -> Result<std::string> {
    return root_of_range(leaves.subspan(begin, end - begin));
  };
}

// Right-shifts fn and sn together while fn is even and not 0 (the RFC's "until either LSB(fn)
// is set or fn is 0"): climbs over levels where the node has no sibling on the right edge.
void climb_right_edge(std::uint64_t& fn, std::uint64_t& sn) {
  while ((fn & 1) == 0 && fn != 0) {
    fn >>= 1;
    sn >>= 1;
  }
}

}  // namespace

const std::string& empty_root() {
  static const std::string kEmpty = [] {
    std::string h(kHashSize, '\0');
    Sha256::local().hash(-1, {}, {}, h.data());
    return h;
  }();
  return kEmpty;
}

std::string leaf_hash(std::string_view entry) {
  std::string h(kHashSize, '\0');
  Sha256::local().hash(0x00, entry, {}, h.data());
  return h;
}

std::string leaf_hash(std::initializer_list<std::string_view> entry_parts) {
  std::string h(kHashSize, '\0');
  Sha256::local().hash(0x00, entry_parts, h.data());
  return h;
}

std::string node_hash(std::string_view left, std::string_view right) {
  std::string h(kHashSize, '\0');
  node_hash_to(left, right, h.data());
  return h;
}

void node_hash_to(std::string_view left, std::string_view right, char* out) {
  Sha256::local().hash(0x01, left, right, out);
}

std::string root(std::span<const std::string> leaf_hashes) {
  return root_of_range(leaf_hashes);
}

std::size_t inclusion_proof_size(std::uint64_t index, std::uint64_t size) {
  // One hash per level at which the node on the path has a sibling: at level L the path node
  // is index >> L and the last node of the level is (size − 1) >> L.
  std::size_t n = 0;
  for (std::uint64_t i = index, last = size - 1; last != 0; i >>= 1, last >>= 1)
    if ((i ^ 1) <= last) ++n;
  return n;
}

std::size_t consistency_proof_size(std::uint64_t old_size, std::uint64_t new_size) {
  if (old_size == 0 || old_size >= new_size) return 0;
  // The old tree's last perfect subtree (2^t leaves ending at old_size) is a node at level t;
  // the proof is that node's hash (left out when it is the whole old tree) and its audit path.
  const int t = std::countr_zero(old_size);
  const std::size_t seed = std::has_single_bit(old_size) ? 0 : 1;
  return seed + inclusion_proof_size((old_size - 1) >> t, ((new_size - 1) >> t) + 1);
}

Result<std::vector<std::string>> inclusion_proof(std::uint64_t index, std::uint64_t size,
                                                 const RangeRoot& range_root) {
  if (index >= size)
    return invalid(
        "leaf index " + std::to_string(index) + " is not below tree size " + std::to_string(size),
        "index", "index_out_of_range");
  // PATH(m, D[n]) = PATH(m, D[0:k]) : MTH(D[k:n])      if m < k
  //               = PATH(m − k, D[k:n]) : MTH(D[0:k])  otherwise
  // Walked top-down, so the hashes come out root-first and are reversed at the end.
  std::vector<std::string> path;
  std::uint64_t begin = 0, end = size;
  while (end - begin > 1) {
    const std::uint64_t k = split_point(end - begin);
    if (index < begin + k) {
      CUSTODY_ASSIGN(std::string sibling, range_root(begin + k, end));
      path.push_back(std::move(sibling));
      end = begin + k;
    } else {
      CUSTODY_ASSIGN(std::string sibling, range_root(begin, begin + k));
      path.push_back(std::move(sibling));
      begin += k;
    }
  }
  std::reverse(path.begin(), path.end());
  return path;
}

Result<std::vector<std::string>> consistency_proof(std::uint64_t old_size, std::uint64_t new_size,
                                                   const RangeRoot& range_root) {
  if (old_size > new_size)
    return invalid("old tree size " + std::to_string(old_size) + " exceeds new tree size " +
                       std::to_string(new_size),
                   "old_size", "old_size_exceeds_new_size");
  std::vector<std::string> proof;
  if (old_size == 0 || old_size == new_size) return proof;
  // SUBPROOF(m, D[m], true)  = {}
  // SUBPROOF(m, D[m], false) = {MTH(D[m])}
  // SUBPROOF(m, D[n], b)     = SUBPROOF(m, D[0:k], b) : MTH(D[k:n])          if m ≤ k
  //                          = SUBPROOF(m − k, D[k:n], false) : MTH(D[0:k])  otherwise
  // with [begin, end) the current D and old_size − begin the current m.
  std::uint64_t begin = 0, end = new_size;
  bool whole_old_tree = true;  // the RFC's b
  while (old_size != end) {
    const std::uint64_t k = split_point(end - begin);
    if (old_size - begin <= k) {
      CUSTODY_ASSIGN(std::string right, range_root(begin + k, end));
      proof.push_back(std::move(right));
      end = begin + k;
    } else {
      CUSTODY_ASSIGN(std::string left, range_root(begin, begin + k));
      proof.push_back(std::move(left));
      begin += k;
      whole_old_tree = false;
    }
  }
  if (!whole_old_tree) {
    CUSTODY_ASSIGN(std::string subtree, range_root(begin, end));
    proof.push_back(std::move(subtree));
  }
  std::reverse(proof.begin(), proof.end());
  return proof;
}

Result<std::vector<std::string>> inclusion_proof(std::span<const std::string> leaf_hashes,
                                                 std::uint64_t index) {
  return inclusion_proof(index, leaf_hashes.size(), in_memory(leaf_hashes));
}

Result<std::vector<std::string>> consistency_proof(std::span<const std::string> leaf_hashes,
                                                   std::uint64_t old_size) {
  return consistency_proof(old_size, leaf_hashes.size(), in_memory(leaf_hashes));
}

Status verify_inclusion(std::string_view leaf_hash, std::uint64_t index, std::uint64_t size,
                        std::span<const std::string> proof, std::string_view root) {
  if (index >= size)
    return invalid(
        "leaf index " + std::to_string(index) + " is not below tree size " + std::to_string(size),
        "index", "index_out_of_range");
  CUSTODY_TRY(check_sizes({{leaf_hash, "leaf_hash"}, {root, "root"}}, proof));
  const std::size_t want = inclusion_proof_size(index, size);
  if (proof.size() != want) return wrong_length(proof.size(), want);

  std::uint64_t fn = index, sn = size - 1;
  std::string r(leaf_hash);
  for (const std::string& p : proof) {
    // Unreachable after the length check; kept so the loop is the RFC's algorithm verbatim.
    if (sn == 0) return unproven("inclusion proof is too long", "proof_length");
    if ((fn & 1) == 1 || fn == sn) {
      node_hash_to(p, r, r.data());
      climb_right_edge(fn, sn);
    } else {
      node_hash_to(r, p, r.data());
    }
    fn >>= 1;
    sn >>= 1;
  }
  if (sn != 0) return unproven("inclusion proof is too short", "proof_length");
  if (r != root)
    return unproven("inclusion proof leads to a different root than the one given",
                    "root_mismatch");
  return ok_status();
}

Status verify_consistency(std::uint64_t old_size, std::uint64_t new_size, std::string_view old_root,
                          std::string_view new_root, std::span<const std::string> proof) {
  if (old_size > new_size)
    return invalid("old tree size " + std::to_string(old_size) + " exceeds new tree size " +
                       std::to_string(new_size),
                   "old_size", "old_size_exceeds_new_size");
  CUSTODY_TRY(check_sizes({{old_root, "old_root"}, {new_root, "new_root"}}, proof));

  if (old_size == 0) {
    // Every tree extends the empty tree; only the claimed roots of size 0 can be wrong.
    if (!proof.empty())
      return unproven("a consistency proof from the empty tree is empty", "proof_not_empty");
    if (old_root != empty_root())
      return unproven("the root of the empty tree is SHA-256(\"\")", "old_root_mismatch");
    if (new_size == 0 && new_root != empty_root())
      return unproven("the root of the empty tree is SHA-256(\"\")", "new_root_mismatch");
    return ok_status();
  }
  if (old_size == new_size) {
    if (!proof.empty())
      return unproven("a consistency proof between equal sizes is empty", "proof_not_empty");
    if (old_root != new_root)
      return unproven("trees of equal size have different roots", "root_mismatch");
    return ok_status();
  }
  if (proof.empty()) return unproven("consistency proof is empty", "empty_proof");
  const std::size_t want = consistency_proof_size(old_size, new_size);
  if (proof.size() != want) return wrong_length(proof.size(), want);

  // When old_size is a power of two the old root is itself the first node of the path, and
  // the proof leaves it out: start from it instead of from proof[0].
  std::size_t next = 0;
  std::string_view first = old_root;
  if (!std::has_single_bit(old_size)) first = proof[next++];
  std::uint64_t fn = old_size - 1, sn = new_size - 1;
  while ((fn & 1) == 1) {
    fn >>= 1;
    sn >>= 1;
  }
  std::string fr(first), sr(first);
  for (; next < proof.size(); ++next) {
    const std::string& c = proof[next];
    if (sn == 0) return unproven("consistency proof is too long", "proof_length");
    if ((fn & 1) == 1 || fn == sn) {
      node_hash_to(c, fr, fr.data());
      node_hash_to(c, sr, sr.data());
      climb_right_edge(fn, sn);
    } else {
      node_hash_to(sr, c, sr.data());
    }
    fn >>= 1;
    sn >>= 1;
  }
  if (sn != 0) return unproven("consistency proof is too short", "proof_length");
  if (fr != old_root)
    return unproven("consistency proof does not lead to the old root", "old_root_mismatch");
  if (sr != new_root)
    return unproven("consistency proof does not lead to the new root", "new_root_mismatch");
  return ok_status();
}

}  // namespace custody::audit::merkle
