// Audit integrity benchmarks against the targets of issue 5:
// - per event, canonicalise (RFC 8785) + leaf hash + incremental tree append: ≤ 2 µs;
// - an inclusion proof in a tree of 1,000,000 leaves, leaf hashes in memory: < 1 ms;
// - `custody audit verify` of 1,000,000 events, i.e. recomputing the root from the events:
//   < 5 s (the store read is not included here).
// Run the release build: build/<dir>/bench/merkle_bench.
#include <benchmark/benchmark.h>

#include <map>
#include <random>
#include <string>
#include <vector>

#include "audit/canonical_event.h"
#include "audit/merkle.h"
#include "audit/merkle_tree.h"

namespace custody::audit {
namespace {

constexpr std::uint64_t kMillion = 1'000'000;
constexpr std::size_t kPool = 1024;

// Events shaped like the ones custody records (credential.create, a lifecycle change, a
// refused request), with distinct ids; seq is set per use.
std::vector<Event>& event_pool() {
  static std::vector<Event> pool = [] {
    std::vector<Event> events;
    for (std::size_t i = 0; i < kPool; ++i) {
      Event e;
      e.id = "evt_01J9ZQ4M5N6P7Q8R9S0T" + std::to_string(100000 + i);
      e.time = 1'790'000'000'000'000 + static_cast<std::int64_t>(i) * 1'337;
      e.actor = "tok_01J9ZQ4M5N6P7Q8R9S0T1V2W3X";
      e.request_id = "req_" + std::to_string(7'000'000 + i);
      switch (i % 3) {
        case 0:
          e.action = "credential.create";
          e.target = "crd_01J9ZQ4M5N6P7Q8R9S0T" + std::to_string(200000 + i);
          e.outcome = "success";
          e.details = {{"identity_id", "agt_01J9ZQ4M5N6P7Q8R9S0T1V2W3Y"},
                       {"kind", "jwk"},
                       {"jwk_thumbprint", "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"},
                       {"expires_at", 1'790'086'400'000'000}};
          break;
        case 1:
          e.action = "identity.suspend";
          e.target = "agt_01J9ZQ4M5N6P7Q8R9S0T" + std::to_string(300000 + i);
          e.outcome = "success";
          e.details = {{"from", "active"}, {"to", "suspended"}, {"reason", "key rotation"}};
          break;
        default:
          e.action = "request.refused";
          e.actor = "anonymous";
          e.outcome = "unauthenticated";
          e.details = {{"method", "POST"},
                       {"path", "/api/v1/identities"},
                       {"reason", "missing bearer token"},
                       {"remote", "127.0.0.1"}};
      }
      events.push_back(std::move(e));
    }
    return events;
  }();
  return pool;
}

const std::vector<std::string>& million_leaves() {
  static const std::vector<std::string> leaves = [] {
    std::vector<std::string> v;
    v.reserve(kMillion);
    for (std::uint64_t i = 0; i < kMillion; ++i)
      v.push_back(merkle::leaf_hash("event " + std::to_string(i)));
    return v;
  }();
  return leaves;
}

const MerkleTree& million_tree(unsigned cache_level) {
  static std::map<unsigned, MerkleTree> trees;
  auto it = trees.find(cache_level);
  if (it == trees.end()) {
    MerkleTree t(cache_level);
    for (const auto& h : million_leaves())
      if (!t.append(h).ok()) std::abort();
    it = trees.emplace(cache_level, std::move(t)).first;
  }
  return it->second;
}

void BM_CanonicalEvent(benchmark::State& state) {
  auto& pool = event_pool();
  std::int64_t seq = 0;
  for (auto _ : state) {
    Event& e = pool[static_cast<std::size_t>(seq) % kPool];
    e.seq = ++seq;
    auto bytes = canonical_event(e);
    benchmark::DoNotOptimize(bytes);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_CanonicalEvent);

void BM_LeafHash(benchmark::State& state) {
  const std::string bytes = *canonical_event(event_pool()[0]);
  for (auto _ : state) benchmark::DoNotOptimize(merkle::leaf_hash(bytes));
  state.SetItemsProcessed(state.iterations());
  state.counters["bytes"] = static_cast<double>(bytes.size());
}
BENCHMARK(BM_LeafHash);

void BM_TreeAppend(benchmark::State& state) {
  const auto& leaves = million_leaves();
  MerkleTree tree;
  std::size_t i = 0;
  for (auto _ : state) {
    if (!tree.append(leaves[i]).ok()) state.SkipWithError("append failed");
    if (++i == leaves.size()) i = 0;
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_TreeAppend);

// The writer's whole per-event cost: the ≤ 2 µs target.
void BM_EventAppend(benchmark::State& state) {
  auto& pool = event_pool();
  MerkleTree tree;
  std::int64_t seq = 0;
  for (auto _ : state) {
    Event& e = pool[static_cast<std::size_t>(seq) % kPool];
    e.seq = ++seq;
    auto leaf = event_leaf_hash(e);
    if (!leaf.ok() || !tree.append(*leaf).ok()) state.SkipWithError("append failed");
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_EventAppend);

// Inclusion proof for a random leaf of 1,000,000 at the given cache level (< 1 ms target).
void BM_InclusionProof1M(benchmark::State& state) {
  const MerkleTree& tree = million_tree(static_cast<unsigned>(state.range(0)));
  SpanLeafHashes leaves(million_leaves());
  std::mt19937_64 rng(1);
  for (auto _ : state) {
    auto proof = tree.inclusion_proof(rng() % kMillion, kMillion, &leaves);
    if (!proof.ok()) state.SkipWithError("proof failed");
    benchmark::DoNotOptimize(proof);
  }
}
BENCHMARK(BM_InclusionProof1M)->Arg(0)->Arg(4)->Arg(8)->Arg(12)->Unit(benchmark::kMicrosecond);

void BM_ConsistencyProof1M(benchmark::State& state) {
  const MerkleTree& tree = million_tree(static_cast<unsigned>(state.range(0)));
  SpanLeafHashes leaves(million_leaves());
  std::mt19937_64 rng(2);
  for (auto _ : state) {
    auto proof = tree.consistency_proof(1 + rng() % (kMillion - 1), kMillion, &leaves);
    if (!proof.ok()) state.SkipWithError("proof failed");
    benchmark::DoNotOptimize(proof);
  }
}
BENCHMARK(BM_ConsistencyProof1M)->Arg(8)->Unit(benchmark::kMicrosecond);

// Proof verification, as a client or `verify --from-sth` does it.
void BM_VerifyInclusion1M(benchmark::State& state) {
  const MerkleTree& tree = million_tree(8);
  SpanLeafHashes leaves(million_leaves());
  const std::uint64_t index = 123'457;
  const auto proof = *tree.inclusion_proof(index, kMillion, &leaves);
  const std::string root = tree.root();
  for (auto _ : state) {
    if (!merkle::verify_inclusion(million_leaves()[index], index, kMillion, proof, root).ok())
      state.SkipWithError("verify failed");
  }
}
BENCHMARK(BM_VerifyInclusion1M)->Unit(benchmark::kMicrosecond);

// `verify` from leaf hashes: rebuild the tree of 1,000,000 leaves and take its root.
void BM_RootOfMillionLeafHashes(benchmark::State& state) {
  const auto& leaves = million_leaves();
  for (auto _ : state) {
    MerkleTree tree;
    for (const auto& h : leaves)
      if (!tree.append(h).ok()) state.SkipWithError("append failed");
    benchmark::DoNotOptimize(tree.root());
  }
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(kMillion));
}
BENCHMARK(BM_RootOfMillionLeafHashes)->Unit(benchmark::kMillisecond)->Iterations(3);

// The same by the recursive definition (merkle::root), for comparison.
void BM_RecursiveRootOfMillionLeafHashes(benchmark::State& state) {
  const auto& leaves = million_leaves();
  for (auto _ : state) benchmark::DoNotOptimize(merkle::root(leaves));
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(kMillion));
}
BENCHMARK(BM_RecursiveRootOfMillionLeafHashes)->Unit(benchmark::kMillisecond)->Iterations(3);

// `verify` from events (< 5 s target): canonicalise, hash and append 1,000,000 events.
void BM_VerifyMillionEvents(benchmark::State& state) {
  auto& pool = event_pool();
  for (auto _ : state) {
    MerkleTree tree;
    for (std::uint64_t seq = 1; seq <= kMillion; ++seq) {
      Event& e = pool[seq % kPool];
      e.seq = static_cast<std::int64_t>(seq);
      auto leaf = event_leaf_hash(e);
      if (!leaf.ok() || !tree.append(*leaf).ok()) state.SkipWithError("append failed");
    }
    benchmark::DoNotOptimize(tree.root());
  }
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(kMillion));
}
BENCHMARK(BM_VerifyMillionEvents)->Unit(benchmark::kMillisecond)->Iterations(3);

}  // namespace
}  // namespace custody::audit

BENCHMARK_MAIN();
