// Device posture collection benchmark against the target of the device-trust work: a full
// collection takes < 200 ms once the pending-updates answer is cached (docs/posture.md).
//
//   build/<dir>/bench/posture_bench
//
// BM_CollectFixture reads tests/posture/fixtures/debian-luks-nft with canned command outputs (the
// file reading and parsing alone). BM_CollectRealRoot collects on this machine's "/" with the
// real command runner after one warm-up collection, so the update check is cached as it is in a
// running agent; BM_UpdateCheckCold is that uncached first collection (the package manager's
// simulation), measured on its own.
#include <benchmark/benchmark.h>

#include <map>
#include <string>

#include "posture/collector.h"

namespace custody::posture {
namespace {

const std::string kFixture = std::string(POSTURE_FIXTURES_DIR) + "/debian-luks-nft";

// Canned outputs of the programs the collectors run, as tests/posture's fixture runner.
class CannedRunner final : public CommandRunner {
 public:
  Result<CommandOutput> run(const std::vector<std::string>& argv,
                            const std::map<std::string, std::string>&,
                            const CommandOptions&) override {
    const std::string& program = argv.at(0);
    if (program == "nft") {
      return CommandOutput{0,
                           R"({"nftables":[{"chain":{"policy":"drop"}},{"rule":{}},{"rule":{}}]})"};
    }
    if (program == "apt-get") {
      return CommandOutput{0, "Inst libssl3 [1] (2 Debian-Security:12/stable-security [amd64])\n"};
    }
    if (program == "gsettings")
      return CommandOutput{0, argv[3] == "idle-delay" ? "uint32 300\n" : "true\n"};
    return Error::not_found(program + ": not installed");
  }
};

void BM_CollectFixture(benchmark::State& state) {
  CannedRunner runner;
  PostureOptions options;
  options.root = kFixture;
  PostureCollector collector(options, &runner);
  std::int64_t rules = 0;
  for (auto _ : state) {
    Posture p = collector.collect();
    rules += p.firewall.rules;
    benchmark::DoNotOptimize(p);
  }
  benchmark::DoNotOptimize(rules);
}
BENCHMARK(BM_CollectFixture)->Unit(benchmark::kMillisecond);

void BM_CollectRealRoot(benchmark::State& state) {
  PostureCollector collector(PostureOptions{});
  (void)collector.collect();  // fills the update cache
  std::int64_t warnings = 0;
  for (auto _ : state) {
    Posture p = collector.collect();
    warnings = static_cast<std::int64_t>(p.warnings.size());
    benchmark::DoNotOptimize(p);
  }
  state.counters["warnings"] = static_cast<double>(warnings);
}
BENCHMARK(BM_CollectRealRoot)->Unit(benchmark::kMillisecond);

void BM_UpdateCheckCold(benchmark::State& state) {
  for (auto _ : state) {
    PostureCollector collector(PostureOptions{});
    Posture p = collector.collect();
    benchmark::DoNotOptimize(p);
  }
}
BENCHMARK(BM_UpdateCheckCold)->Unit(benchmark::kMillisecond)->Iterations(3);

}  // namespace
}  // namespace custody::posture

BENCHMARK_MAIN();
