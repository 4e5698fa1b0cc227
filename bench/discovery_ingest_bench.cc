// Discovery ingest (issue 8, part 4; target: 1,000 reports of 20 findings each in < 2 s): what
// POST /api/v1/devices/{id}/discovery does for each report, without the HTTP layer — verify the
// device-signed JWT and spend its jti (api/device_request.h), check the report
// (inventory/report.h), ingest it (inventory/findings.h) and append the audit event — as one
// group-commit work per report, all queued at once like concurrent uploads. The SQLite store
// lives in a fresh directory under $TMPDIR (default /tmp): its filesystem's fsync sets the pace.
//
// Each iteration uploads 1,000 reports from 1,000 devices; every report has 20 findings drawn
// from a pool of 400 launch definitions (so most findings are deduplicated across devices and
// 400 identities are created), with a per-device fingerprint. Every iteration uses a new pool.
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <filesystem>
#include <mutex>
#include <random>
#include <stdexcept>

#include "api/device_request.h"
#include "audit/events.h"
#include "common/encoding.h"
#include "common/ids.h"
#include "common/random.h"
#include "crypto/jws.h"
#include "crypto/keyed_hash.h"
#include "device/device.h"
#include "inventory/findings.h"
#include "store/store.h"
#include "temp_dir.h"

namespace custody {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr int kDevices = 1000;
constexpr int kFindingsPerReport = 20;
constexpr int kPool = 400;
constexpr const char* kAudience = "https://custody.bench";

struct BenchDevice {
  device::Device row;
  crypto::Jwk key;
};

// The store with one active human and kDevices enrolled devices.
struct World {
  bench::TempDir dir{"ingest-bench"};
  std::unique_ptr<store::Store> store;
  std::vector<BenchDevice> devices;

  World() {
    store::StoreOptions o;
    o.url = "sqlite:" + (dir.path() / "custody.db").string();
    auto s = store::open_store(o);
    if (!s.ok()) throw std::runtime_error(s.error().message);
    store = std::move(s).value();
    Micros now = SystemClock().now();
    std::string owner = new_id("usr", now);
    for (int i = 0; i < kDevices; ++i) {
      BenchDevice d{{}, crypto::Jwk::generate(crypto::KeyType::kEcP256).value()};
      d.row.id = new_id("dev", now);
      d.row.owner_id = owner;
      d.row.hostname = "host-" + std::to_string(i);
      d.row.platform = "linux";
      d.row.public_jwk = d.key.public_json();
      d.row.key_thumbprint = d.key.thumbprint();
      d.row.trust = device::Trust::kTrusted;
      d.row.enrolled_at = now;
      d.row.trust_changed_at = now;
      devices.push_back(std::move(d));
    }
    Status st = store->write_sync([&](store::Tx& tx) -> Status {
      CUSTODY_TRY(
          tx.exec("INSERT INTO identities (id, kind, display_name, state, version, created_at, "
                  "updated_at) VALUES ($1, 'human', 'Bench owner', 'active', 1, $2, $2)",
                  {owner, now}));
      for (const auto& d : devices) CUSTODY_TRY(device::insert_device(tx, d.row));
      return ok_status();
    });
    if (!st.ok()) throw std::runtime_error("populate: " + st.error().message);
  }
};

World& world() {
  static World w;
  return w;
}

json finding(int round, int n, const std::string& device_id) {
  std::string name = "server-" + std::to_string(n);
  return {{"kind", "mcp-server"},
          {"client", n % 2 ? "cursor" : "claude-code"},
          {"scope", "user"},
          {"config_file", n % 2 ? "~/.cursor/mcp.json" : "~/.claude.json"},
          {"server_name", name},
          {"transport", "stdio"},
          {"command", "npx"},
          {"args", {"-y", "@bench/" + name + "-r" + std::to_string(round) + "@1.2.3"}},
          {"env_names", {"API_TOKEN"}},
          {"header_names", json::array()},
          {"fingerprint", hex_encode(crypto::sha256(device_id + name))},
          {"secrets",
           {{{"field", "mcpServers." + name + ".env.API_TOKEN"},
             {"classification", "literal"},
             {"pattern", "high-entropy"},
             {"length", 40},
             {"hmac", std::string(64, 'a')}}}},
          {"risks", {{{"signal", "plaintext-secret"}, {"detail", "1 literal credential(s)"}}}},
          {"running_pids", json::array()}};
}

std::vector<std::string> signed_reports(int round) {
  std::mt19937 rng(round);
  std::vector<std::string> out;
  std::int64_t now = SystemClock().now() / kMicrosPerSecond;
  for (const auto& d : world().devices) {
    json findings = json::array();
    int start = static_cast<int>(rng() % kPool);
    for (int k = 0; k < kFindingsPerReport; ++k)
      findings.push_back(finding(round, (start + k * 7) % kPool, d.row.id));
    json claims = {{"iss", d.row.id},
                   {"aud", kAudience},
                   {"iat", now},
                   {"exp", now + 120},
                   {"jti", hex_encode(random_bytes(12))},
                   {"req", "discovery"},
                   {"report",
                    {{"schema", "custody.discovery.report/v1"},
                     {"scanned_at", "2026-11-30T07:00:00Z"},
                     {"findings", findings}}}};
    auto jws =
        crypto::jws_sign({{"typ", "custody-device+jwt"}, {"kid", d.row.id}}, claims.dump(), d.key);
    if (!jws.ok()) throw std::runtime_error(jws.error().message);
    out.push_back(*jws);
  }
  return out;
}

// What the route's signed_write body does, for one report.
Status ingest_one(store::Tx& tx, const std::string& device_id, const std::string& jwt) {
  Micros now = SystemClock().now();
  device::DeviceJwtPolicy policy;
  policy.audience = kAudience;
  policy.max_bytes = 1024 * 1024;
  CUSTODY_ASSIGN(auto v, api::verified_device_request(tx, jwt, device::kRequestType, device_id,
                                                      "discovery", policy, now));
  CUSTODY_ASSIGN(auto report, inventory::parse_report(v.claims["report"]));
  CUSTODY_ASSIGN(auto result, inventory::ingest(tx, v.device, report, "bench", now));
  audit::Event event;
  event.time = now;
  event.actor = device_id;
  event.action = "device.discovery";
  event.target = device_id;
  event.outcome = "success";
  event.details = {
      {"findings", report.findings.size()}, {"created", result.created}, {"known", result.known}};
  return audit::append(tx, event);
}

void BM_Ingest1000ReportsOf20Findings(benchmark::State& state) {
  World& w = world();
  int round = 0;
  std::int64_t created_total = 0;
  for (auto _ : state) {
    state.PauseTiming();
    auto reports = signed_reports(++round);
    state.ResumeTiming();
    std::mutex mu;
    std::condition_variable cv;
    int pending = kDevices;
    std::atomic<int> failures{0};
    std::string first_error;
    for (int i = 0; i < kDevices; ++i) {
      w.store->write(
          [&, i](store::Tx& tx) { return ingest_one(tx, w.devices[i].row.id, reports[i]); },
          [&](Status s) {
            std::lock_guard lock(mu);
            if (!s.ok() && failures++ == 0) first_error = s.error().message;
            if (--pending == 0) cv.notify_one();
          });
    }
    std::unique_lock lock(mu);
    cv.wait(lock, [&] { return pending == 0; });
    if (failures > 0) {
      state.SkipWithError(("ingest failed: " + first_error).c_str());
      break;
    }
  }
  Status st = w.store->read([&](store::Tx& tx) -> Status {
    CUSTODY_ASSIGN(auto rows, tx.query("SELECT COUNT(*) FROM discovery_findings"));
    created_total = rows[0].integer(0);
    return ok_status();
  });
  if (!st.ok()) state.SkipWithError(st.error().message.c_str());
  state.counters["reports"] = kDevices;
  state.counters["findings_per_report"] = kFindingsPerReport;
  state.counters["identities_total"] = static_cast<double>(created_total);
  state.counters["reports_per_s"] =
      benchmark::Counter(kDevices, benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_Ingest1000ReportsOf20Findings)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime()
    ->Iterations(3);

}  // namespace
}  // namespace custody

BENCHMARK_MAIN();
