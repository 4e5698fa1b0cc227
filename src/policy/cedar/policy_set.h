// A compiled set of Cedar policies, indexed by scope so that a request evaluates the conditions
// of only those policies whose principal, action and resource constraints all match it.
//
// Index: for each of the three scope variables, the policies without a constraint on it form a
// dense bitset, and the others are listed under their key (== uid, in uid, is type). A request
// builds one bitset per variable from its own uid, the uid's ancestors and its type, and ANDs the
// three; only the surviving policies' conditions are evaluated (plus the type test of `is T in E`,
// which the index files under E). The cost is a few words per 64 policies plus the length of the
// lists that the request's keys select, instead of one evaluation per policy.
//
// Sharing: a boolean subexpression whose canonical text occurs in several policies gets a memo
// slot (Expr::memo), so that one authorization evaluates it once (see EvaluationMemo).
//
// Not thread-safe while being modified; once built, any number of threads may authorize against
// it concurrently (scratch space is per thread). Movable, not copyable: the sharing table points
// into the set's own expression trees.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/result.h"
#include "policy/cedar/ast.h"
#include "policy/cedar/parser.h"

namespace custody::cedar {

class PolicySet {
 public:
  PolicySet() = default;
  // share_subexpressions = false turns the sharing of boolean subexpressions off (for comparison
  // in benchmarks; answers are the same either way).
  explicit PolicySet(bool share_subexpressions) : share_(share_subexpressions) {}
  PolicySet(PolicySet&&) = default;
  PolicySet& operator=(PolicySet&&) = default;
  PolicySet(const PolicySet&) = delete;
  PolicySet& operator=(const PolicySet&) = delete;

  // Parses a policy file: static policies are added, templates kept for linking. Ids are
  // "policy0", … by position, or the @id annotation when use_id_annotation is set.
  static Result<PolicySet> parse(std::string_view source, bool use_id_annotation = false,
                                 ParseLimits limits = {});

  // Adds a static policy or a template (by Policy::is_template). Ids must be unique.
  Status add(Policy policy);
  // Links a template into a new static policy.
  Status link(const std::string& template_id, const std::string& new_id,
              std::optional<EntityUid> principal, std::optional<EntityUid> resource);

  std::size_t size() const { return policies_.size(); }
  // Number of boolean subexpressions shared between policies (see Expr::memo).
  std::size_t memo_slots() const { return memo_slots_; }
  const std::vector<Policy>& policies() const { return policies_; }
  const Policy* find(std::string_view id) const;
  // The templates, by id.
  std::vector<const Policy*> templates() const;

  // What authorization reads of a policy, packed in one array so that visiting hundreds of
  // candidates touches consecutive memory rather than each Policy object.
  struct Compiled {
    const Condition* conditions_begin;  // into the Policy's own conditions
    const Condition* conditions_end;
    // Non-null for `is T in E`: the type T, which the index does not check.
    const std::string* principal_type;
    const std::string* resource_type;
    Effect effect;
  };
  const Compiled& compiled(uint32_t position) const { return compiled_[position]; }

  // Calls fn(uint32_t position) for every policy (policies()[position]) whose scope matches a
  // request with these uids, in policy order, each once. Exception: for `is T in E` only the
  // `in E` part has been checked (see Compiled). `ancestors(uid)` returns a pointer to the uid's
  // transitive parents (an iterable of EntityUid) or nullptr.
  template <class AncestorsFn, class Fn>
  void for_each_candidate(const EntityUid& principal, const EntityUid& action,
                          const EntityUid& resource, AncestorsFn ancestors, Fn fn) const;

 private:
  using Postings = std::unordered_map<EntityUid, std::vector<uint32_t>, EntityUidHash>;
  struct Dimension {
    std::vector<uint64_t> unconstrained;  // bit i: policy i has no constraint on this variable
    Postings eq;                          // == uid
    Postings in;                          // in uid (also `is T in uid`, and action in [..])
    std::unordered_map<const std::string*, std::vector<uint32_t>> is;  // is T (interned type)
  };
  enum { kPrincipal, kAction, kResource };

  void index(uint32_t position);
  std::string share_subexpressions(Expr& e);
  template <class AncestorsFn>
  void select(const Dimension& d, const EntityUid& uid, AncestorsFn& ancestors,
              std::vector<uint64_t>& bits) const;

  std::vector<Policy> policies_;
  std::vector<Compiled> compiled_;  // parallel to policies_
  std::map<std::string, Policy, std::less<>> templates_;
  std::unordered_map<std::string, uint32_t> by_id_;
  Dimension dims_[3];
  // Canonical text of each boolean subexpression seen → its memo slot, or kUnshared with the
  // first node that had it (a slot is given only once a second policy has the same text).
  static constexpr uint32_t kUnshared = UINT32_MAX;
  std::unordered_map<std::string, std::pair<uint32_t, Expr*>> subexpressions_;
  uint32_t memo_slots_ = 0;
  bool share_ = true;
};

template <class AncestorsFn>
void PolicySet::select(const Dimension& d, const EntityUid& uid, AncestorsFn& ancestors,
                       std::vector<uint64_t>& bits) const {
  bits.assign(d.unconstrained.begin(), d.unconstrained.end());
  auto mark = [&](const std::vector<uint32_t>& list) {
    for (uint32_t i : list) bits[i >> 6] |= uint64_t{1} << (i & 63);
  };
  auto lookup = [&](const Postings& postings, const EntityUid& key) {
    if (postings.empty()) return;
    auto it = postings.find(key);
    if (it != postings.end()) mark(it->second);
  };
  lookup(d.eq, uid);
  if (!d.in.empty()) {
    lookup(d.in, uid);
    if (const auto* anc = ancestors(uid)) {
      for (const auto& a : *anc) {
        if (!(a == uid)) lookup(d.in, a);
      }
    }
  }
  if (!d.is.empty()) {
    auto it = d.is.find(&uid.type());
    if (it != d.is.end()) mark(it->second);
  }
}

template <class AncestorsFn, class Fn>
void PolicySet::for_each_candidate(const EntityUid& principal, const EntityUid& action,
                                   const EntityUid& resource, AncestorsFn ancestors, Fn fn) const {
  thread_local std::vector<uint64_t> p, a, r;
  select(dims_[kPrincipal], principal, ancestors, p);
  select(dims_[kAction], action, ancestors, a);
  select(dims_[kResource], resource, ancestors, r);
  for (std::size_t w = 0; w < p.size(); ++w) {
    uint64_t bits = p[w] & a[w] & r[w];
    while (bits != 0) {
      int b = __builtin_ctzll(bits);
      bits &= bits - 1;
      fn(static_cast<uint32_t>((w << 6) + b));
    }
  }
}

}  // namespace custody::cedar
