// The workload API round trip through the real Unix socket with a cached credential: connect,
// HTTP request, SO_PEERCRED, /proc reads (hash from the cache), binding match, cache hit, reply.
// Reports p50/p99 per request as counters (target: p99 < 1 ms).
#include <benchmark/benchmark.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <vector>

#include "custody/workload_client.h"
#include "workload/server.h"

namespace {

using namespace custody;
using namespace custody::workload;
using namespace std::chrono_literals;

class StaticBindings final : public BindingSource {
 public:
  Result<std::vector<WorkloadBinding>> bindings() override { return list; }
  std::vector<WorkloadBinding> list;
};

class StaticBroker final : public CredentialBroker {
 public:
  Result<Credential> client_assertion(const WorkloadBinding& b, const AttestedProcess&,
                                      const AssertionParams&) override {
    return Credential{"jwt", "client-assertion", std::chrono::system_clock::now() + 1h, b.identity,
                      b.client_id};
  }
  Result<Credential> access_token(const WorkloadBinding& b, const AttestedProcess&,
                                  const TokenParams&) override {
    return Credential{"token", "Bearer", std::chrono::system_clock::now() + 1h, b.identity,
                      b.client_id};
  }
};

class NullAudit final : public WorkloadAudit {
 public:
  void refused(const PeerInfo&, std::string_view) override {}
  void issued(const AttestedProcess&, const WorkloadBinding&, std::string_view, const Credential&,
              bool) override {}
};

void report_percentiles(benchmark::State& state, std::vector<double>& micros) {
  if (micros.empty()) return;
  std::sort(micros.begin(), micros.end());
  auto at = [&](double q) {
    return micros[std::min(micros.size() - 1, static_cast<std::size_t>(q * micros.size()))];
  };
  state.counters["p50_us"] = at(0.50);
  state.counters["p99_us"] = at(0.99);
  state.counters["max_us"] = micros.back();
}

void BM_TokenRoundTripCached(benchmark::State& state) {
  char tmpl[] = "/tmp/custody-wlbench-XXXXXX";
  std::string dir = ::mkdtemp(tmpl);
  WorkloadServerOptions options;
  options.socket_path = dir + "/workload.sock";
  StaticBindings bindings;
  PeerInfo me;
  ProcReader reader;
  if (!reader.read(::getpid(), me).ok()) return state.SkipWithError("cannot read /proc/self");
  auto selectors =
      parse_selectors({"uid:" + std::to_string(::getuid()), "exe_sha256:" + me.exe_sha256});
  bindings.list = {{"bench-agent", "client-bench", selectors.value()}};
  StaticBroker broker;
  NullAudit audit;
  WorkloadServer server(options, bindings, broker, audit);
  if (!server.start().ok()) return state.SkipWithError("server did not start");
  WorkloadClient client(WorkloadClientOptions{.socket_path = options.socket_path});
  if (!client.access_token({.scope = "tickets:read"}).ok()) {
    return state.SkipWithError("first token refused");
  }
  std::vector<double> micros;
  micros.reserve(100'000);
  for (auto _ : state) {
    auto t0 = std::chrono::steady_clock::now();
    auto token = client.access_token({.scope = "tickets:read"});
    auto t1 = std::chrono::steady_clock::now();
    if (!token.ok()) return state.SkipWithError(token.error().description.c_str());
    benchmark::DoNotOptimize(token);
    micros.push_back(std::chrono::duration<double, std::micro>(t1 - t0).count());
  }
  report_percentiles(state, micros);
  server.stop();
  std::filesystem::remove_all(dir);
}
BENCHMARK(BM_TokenRoundTripCached)->UseRealTime()->MinTime(2.0);

// Attestation alone, on a real connection to this process (the exe hash served from its cache).
void BM_AttestPeer(benchmark::State& state) {
  char tmpl[] = "/tmp/custody-wlbench-XXXXXX";
  std::string dir = ::mkdtemp(tmpl);
  std::string path = dir + "/s";
  int listener = ::socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  path.copy(addr.sun_path, sizeof addr.sun_path - 1);
  ::bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  ::listen(listener, 4);
  int client = ::socket(AF_UNIX, SOCK_STREAM, 0);
  ::connect(client, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  int server = ::accept(listener, nullptr, nullptr);
  ProcReader reader;
  std::vector<double> micros;
  for (auto _ : state) {
    auto t0 = std::chrono::steady_clock::now();
    PeerInfo partial;
    auto p = attest_peer(server, reader, partial);
    auto t1 = std::chrono::steady_clock::now();
    if (!p.ok()) return state.SkipWithError(p.error().message.c_str());
    micros.push_back(std::chrono::duration<double, std::micro>(t1 - t0).count());
  }
  report_percentiles(state, micros);
  ::close(server);
  ::close(client);
  ::close(listener);
  std::filesystem::remove_all(dir);
}
BENCHMARK(BM_AttestPeer)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
