#include "app/app.h"

#include <signal.h>
#include <sys/stat.h>

#include <boost/asio/ssl/context.hpp>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <iostream>
#include <mutex>
#include <optional>
#include <thread>

#include "api/context.h"
#include "api/routes.h"
#include "app/demo_data.h"
#include "app/kek.h"
#include "app/server_secret.h"
#include "audit/events.h"
#include "audit/index.h"
#include "audit/log.h"
#include "common/latency_histogram.h"
#include "common/log.h"
#include "crypto/ecdsa_presign.h"
#include "device/compliance.h"
#include "directory/admin_tokens.h"
#include "gateway/gateway.h"
#include "http/server.h"
#include "oauth/key_manager.h"
#include "oauth/replay.h"
#include "oauth/service.h"
#include "policy/approval_notifier.h"
#include "policy/defaults.h"
#include "policy/pdp.h"
#include "ssf/transmitter.h"
#include "store/sqlite/wal_append_buffer.h"
#include "store/store.h"

namespace custody::app {
namespace {

Status prepare_data_dir(const Config& config) {
  std::error_code ec;
  std::filesystem::create_directories(config.data_dir, ec);
  if (ec)
    return Error::unavailable("cannot create data_dir " + config.data_dir + ": " + ec.message());
  ::chmod(config.data_dir.c_str(), 0700);
  return ok_status();
}

struct Opened {
  std::unique_ptr<store::Store> store;
  ServerSecret secret;
  std::optional<crypto::KeyEncryptionKey> kek;
};

Result<Opened> open_everything(const Config& config) {
  CUSTODY_TRY(prepare_data_dir(config));
  CUSTODY_ASSIGN(auto secret, load_or_create_server_secret(config.server_secret_path()));
  CUSTODY_ASSIGN(auto kek, load_kek(config));
  store::StoreOptions options;
  options.url = config.store_url();
  options.read_connections = static_cast<int>(config.store_read_connections);
  options.statement_timeout_ms = static_cast<int>(config.store_statement_timeout_ms);
  options.max_queued_writes = static_cast<int>(config.store_max_queued_writes);
  options.commit_interval_us = static_cast<int>(config.store_commit_interval_us);
  options.read_cache_entries = static_cast<std::size_t>(config.store_read_cache_entries);
  CUSTODY_ASSIGN(auto store, store::open_store(options));
  CUSTODY_TRY(audit::assign_missing_leaves(*store));
  return Opened{std::move(store), std::move(secret), std::move(kek.kek)};
}

// The audit Merkle log with its Ed25519 key (wrapped under the KEK in the store).
Result<std::unique_ptr<audit::AuditLog>> open_audit_log(store::Store& store,
                                                        const crypto::KeyEncryptionKey& kek,
                                                        const Config& config, const Clock& clock) {
  CUSTODY_ASSIGN(auto key, audit::load_or_create_audit_key(store, kek, clock));
  audit::LogOptions options;
  options.sth_every_events = config.audit.sth_every_events;
  options.sth_every_ms = config.audit.sth_every_ms;
  options.sth_export_file = config.audit.sth_export_file;
  options.witness_url = config.audit.witness_url;
  options.retention_days = config.audit.retention_days;
  options.archive_segment_events = config.audit.archive_segment_events;
  return audit::AuditLog::open(store, std::move(key), clock, options);
}

// Creates the first admin token when the store has none.
Result<InitResult> bootstrap_admin(store::Store& store, const Config& config,
                                   const crypto::SecretHasher& hasher, const Clock& clock) {
  InitResult result;
  directory::Principal system = directory::system_principal();
  CUSTODY_TRY(store.write_sync([&](store::Tx& tx) -> Status {
    CUSTODY_ASSIGN(auto count, directory::count_admin_tokens(tx));
    if (count > 0) return ok_status();
    directory::OpContext ctx{system, "bootstrap", clock.now()};
    directory::NewAdminToken in;
    in.role = directory::Role::kAdmin;
    in.description = "bootstrap admin token";
    if (!config.bootstrap_admin_token.empty()) in.token_value = config.bootstrap_admin_token;
    CUSTODY_ASSIGN(auto created, directory::create_admin_token(tx, ctx, in, hasher));
    result.admin_token = created.value;
    result.admin_token_id = created.token.id;
    return ok_status();
  }));
  return result;
}

Result<std::shared_ptr<boost::asio::ssl::context>> make_tls(const TlsConfig& tls) {
  if (!tls.enabled()) return std::shared_ptr<boost::asio::ssl::context>();
  auto ctx = std::make_shared<boost::asio::ssl::context>(boost::asio::ssl::context::tls_server);
  boost::system::error_code ec;
  ctx->set_options(boost::asio::ssl::context::default_workarounds |
                       boost::asio::ssl::context::no_sslv2 | boost::asio::ssl::context::no_sslv3 |
                       boost::asio::ssl::context::no_tlsv1 | boost::asio::ssl::context::no_tlsv1_1,
                   ec);
  ctx->use_certificate_chain_file(tls.cert_file, ec);
  if (ec)
    return Error::invalid("tls.cert_file " + tls.cert_file + ": " + ec.message(), "tls.cert_file");
  ctx->use_private_key_file(tls.key_file, boost::asio::ssl::context::pem, ec);
  if (ec)
    return Error::invalid("tls.key_file " + tls.key_file + ": " + ec.message(), "tls.key_file");
  return ctx;
}

crypto::KeyType key_type(const std::string& alg) {
  if (alg == "EdDSA") return crypto::KeyType::kEd25519;
  if (alg == "RS256") return crypto::KeyType::kRsa;
  return crypto::KeyType::kEcP256;
}

// Runs `task` every `period` on its own thread until destroyed.
class Periodic {
 public:
  Periodic(std::chrono::milliseconds period, std::function<void()> task)
      : thread_([this, period, task = std::move(task)] {
          std::unique_lock lock(mu_);
          while (!cv_.wait_for(lock, period, [this] { return stop_; })) {
            lock.unlock();
            task();
            lock.lock();
          }
        }) {}
  ~Periodic() {
    {
      std::lock_guard lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;
};

// Refreshes the signing keys (rotation by schedule, other nodes' keys) and purges the replay
// cache.
void maintain_oauth(oauth::KeyManager& keys, store::Store& store, const Clock& clock) {
  if (Status s = keys.refresh(); !s.ok())
    log::error("signing key refresh failed", {{"error", s.error().message}});
  Micros now = clock.now();
  store.write(
      [now](store::Tx& tx) -> Status {
        auto purged = oauth::purge_replay_cache(tx, now);
        return purged.ok() ? ok_status() : Status(purged.error());
      },
      [](Status s) {
        if (!s.ok()) log::error("replay cache purge failed", {{"error", s.error().message}});
      });
}

std::string store_metrics(const store::Store& store) {
  auto s = store.stats();
  std::string out;
  auto counter = [&out](std::string_view name, const std::string& value) {
    out.append("# TYPE ").append(name).append(" counter\n");
    out.append(name).append(" ").append(value).append("\n");
  };
  auto seconds = [](std::uint64_t micros) { return std::to_string(double(micros) / 1e6); };
  counter("custody_store_reads_total", std::to_string(s.reads));
  counter("custody_store_read_seconds_total", seconds(s.read_micros));
  counter("custody_store_writes_total", std::to_string(s.writes));
  counter("custody_store_write_errors_total", std::to_string(s.write_errors));
  counter("custody_store_commits_total", std::to_string(s.batches));
  counter("custody_store_commit_seconds_total", seconds(s.commit_micros));
  counter("custody_store_read_cache_hits_total", std::to_string(s.read_cache_hits));
  counter("custody_store_read_cache_misses_total", std::to_string(s.read_cache_misses));
  counter("custody_store_read_cache_resets_total", std::to_string(s.read_cache_resets));
  append_histogram_header(out, "custody_store_write_wait_seconds",
                          "Time a write waited in the group-commit queue for its transaction "
                          "to begin.");
  append_histogram_series(out, "custody_store_write_wait_seconds", "", s.write_wait);
  append_histogram_header(out, "custody_store_commit_duration_seconds",
                          "Time of a group commit from BEGIN to durable COMMIT.");
  append_histogram_series(out, "custody_store_commit_duration_seconds", "", s.commit);
  if (store.backend() == "sqlite") {
    const auto wal = store::wal_append_buffer_stats();
    counter("custody_store_wal_appends_total", std::to_string(wal.appends));
    counter("custody_store_wal_block_writes_total", std::to_string(wal.block_writes));
    counter("custody_store_wal_block_write_failures_total", std::to_string(wal.block_failures));
  }
  return out;
}

std::string presign_metrics() {
  auto s = crypto::presign::stats();
  std::string out;
  out.append("# TYPE custody_es256_signatures_total counter\n");
  out.append("custody_es256_signatures_total{nonce=\"precomputed\"} ")
      .append(std::to_string(s.presigned))
      .append("\n");
  out.append("custody_es256_signatures_total{nonce=\"inline\"} ")
      .append(std::to_string(s.fallback))
      .append("\n");
  out.append("# TYPE custody_es256_presigned_ready gauge\n");
  out.append("custody_es256_presigned_ready ").append(std::to_string(s.ready)).append("\n");
  return out;
}

}  // namespace

Result<InitResult> init(const Config& config) {
  CUSTODY_ASSIGN(auto opened, open_everything(config));
  SystemClock clock;
  crypto::SecretHasher hasher(opened.secret.key);
  CUSTODY_ASSIGN(auto result, bootstrap_admin(*opened.store, config, hasher, clock));
  result.created_secret = opened.secret.created;
  opened.store->close();
  return result;
}

int serve(const Config& config, const ServeOptions& options) {
  auto started = std::chrono::steady_clock::now();
  log::configure(config.log_level, config.log_format);

  // Block the stop signals in every thread; the main thread waits for them with sigwait.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  ::signal(SIGPIPE, SIG_IGN);

  auto listen = http::parse_listen(config.listen);
  if (!listen.ok()) {
    log::error(listen.error().message);
    return 2;
  }
  auto tls = make_tls(config.tls);
  if (!tls.ok()) {
    log::error(tls.error().message, {{"key", tls.error().field}});
    return 2;
  }
  auto opened = open_everything(config);
  if (!opened.ok()) {
    log::error("cannot start: " + opened.error().message);
    return 1;
  }
  store::Store& store = *opened->store;
  SystemClock clock;
  api::ApiContext api{store, clock, config, crypto::SecretHasher(opened->secret.key)};

  oauth::KeyManagerOptions key_options;
  key_options.type = key_type(config.oauth.signing_alg);
  key_options.rotation = config.oauth.key_rotation_seconds * kMicrosPerSecond;
  key_options.retention =
      (config.oauth.access_token_ttl_seconds + 2 * config.oauth.clock_skew_seconds) *
      kMicrosPerSecond;
  oauth::KeyManager keys(store, *opened->kek, clock, key_options);
  if (Status s = keys.refresh(); !s.ok()) {
    log::error("cannot load signing keys: " + s.error().message);
    return 1;
  }
  api.keys = &keys;
  std::unique_ptr<oauth::Service> oauth_service;
  auto audit_log = open_audit_log(store, *opened->kek, config, clock);
  if (!audit_log.ok()) {
    log::error("cannot open the audit log: " + audit_log.error().message);
    return 1;
  }
  api.audit_log = audit_log->get();
  (*audit_log)->start();
  // Audit filters' index, derived off the append path (audit/index.h).
  audit::AuditIndexer audit_indexer(store, {});
  audit_indexer.start();

  auto boot = bootstrap_admin(store, config, api.hasher, clock);
  if (!boot.ok()) {
    log::error("cannot create the first admin token: " + boot.error().message);
    return 1;
  }
  if (!boot->admin_token.empty()) {
    if (config.bootstrap_admin_token.empty()) {
      std::cout << "custody admin token (shown once, keep it safe): " << boot->admin_token
                << std::endl;
    }
    log::info("created the first admin token", {{"token_id", boot->admin_token_id}});
  }
  if (options.demo) {
    auto seeded = seed_demo_data(store, clock);
    if (!seeded.ok()) {
      log::error("cannot write demo data: " + seeded.error().message);
      return 1;
    }
    if (*seeded) log::info("wrote demo identities");
  }

  // The policy decision point: the default policies on a new store, then the active versions.
  auto type_map = policy::parse_type_map(config.pdp.type_map);
  if (!type_map.ok()) {
    log::error(type_map.error().message, {{"key", "pdp.type_map"}});
    return 2;
  }
  policy::PdpSettings pdp_settings;
  pdp_settings.type_map = std::move(type_map).value();
  pdp_settings.action_type = config.pdp.action_type;
  pdp_settings.discovery_enforced = config.discovery_enforcement == "deny";
  policy::Pdp pdp(std::move(pdp_settings));
  Status defaults = store.write_sync([&clock](store::Tx& tx) -> Status {
    auto installed = policy::install_default_policies(tx, clock.now());
    if (!installed.ok()) return installed.error();
    if (*installed) log::info("installed the default policies as version 1");
    return ok_status();
  });
  if (!defaults.ok()) {
    log::error("cannot install the default policies: " + defaults.error().message);
    return 1;
  }
  if (Status s = pdp.refresh(store); !s.ok()) {
    log::error("cannot load the active policies: " + s.error().message);
    return 1;
  }
  api.pdp = &pdp;

  // The Shared Signals transmitter (docs/ssf.md): SETs signed with the OAuth keys, pushed by its
  // own thread once the server is up.
  ssf::Transmitter transmitter(store, keys.keys(), clock, config.ssf);
  api.ssf = &transmitter;
  // Approver webhooks and CIBA pings (docs/approvals.md), sent by their own thread after commits.
  policy::ApprovalNotifier notifier(store, clock, api.hasher, config.approvals);

  // The MCP gateway (docs/mcp-gateway.md): declared before the server, so that it outlives it.
  gateway::Gateway mcp_gateway(store, clock, config, pdp, api.oauth);
  api.gateway = &mcp_gateway;

  http::Metrics metrics;
  metrics.add_collector([&store] { return store_metrics(store); });
  metrics.add_collector(presign_metrics);
  http::Router router;
  api::add_all_routes(router, api, metrics);

  http::ServerOptions server_options;
  server_options.host = listen->first;
  server_options.port = listen->second;
  server_options.threads = config.threads > 0 ? static_cast<int>(config.threads)
                                              : std::max(1u, std::thread::hardware_concurrency());
  server_options.limits = config.limits;
  server_options.larger_bodies.push_back(
      {"/api/v1/devices/", "/discovery", config.device.max_report_bytes});
  server_options.larger_bodies.push_back({"/mcp/", "", config.gateway.max_message_bytes});
  server_options.tls = *tls;
  server_options.access_log = config.access_log;
  server_options.drain_ms = config.shutdown_drain_ms;
  server_options.on_refused = [&store, &clock](const http::RefusedRequest& r,
                                               std::function<void()> then) {
    audit::Event event;
    event.time = clock.now();
    event.actor = "anonymous";
    event.action = "request.refused";
    event.target = r.path;
    event.outcome = r.status == 404   ? "not_found"
                    : r.status == 405 ? "method_not_allowed"
                    : r.status == 413 ? "too_large"
                    : r.status == 415 ? "unsupported_media_type"
                    : r.status == 431 ? "header_too_large"
                                      : "invalid_argument";
    event.request_id = r.request_id;
    event.details = {{"method", r.method}, {"status", r.status}, {"reason", r.detail}};
    if (!r.remote_address.empty()) event.details["remote"] = r.remote_address;
    store.write([event](store::Tx& tx) mutable { return audit::append(tx, event); },
                [then = std::move(then)](Status) { then(); });
  };

  std::string scheme = config.tls.enabled() ? "https" : "http";
  std::string host =
      listen->first.find(':') != std::string::npos ? "[" + listen->first + "]" : listen->first;
  server_options.on_bound = [&](std::uint16_t port) -> Status {
    std::string issuer = !config.oauth.issuer.empty()
                             ? config.oauth.issuer
                             : scheme + "://" + host + ":" + std::to_string(port);
    CUSTODY_ASSIGN(auto settings, oauth::resolve_settings(config, issuer));
    // Trusted issuers' keys from their jwks_uri: one bounded fetch each now, refreshed after.
    oauth::start_remote_keys(settings.trusted_issuers);
    // DPoP nonces are keyed by a key derived from the server secret, never the secret itself.
    oauth_service = std::make_unique<oauth::Service>(
        store, clock, api.hasher, keys, pdp, std::move(settings),
        crypto::hmac_sha256(opened->secret.key, "custody dpop nonce key"));
    api.oauth.store(oauth_service.get());
    return ok_status();
  };
  http::Server server(server_options, router, metrics);
  auto port = server.start();
  if (!port.ok()) {
    log::error(port.error().message);
    return 1;
  }
  transmitter.start();
  notifier.start(oauth_service->settings().issuer);
  crypto::presign::start(static_cast<std::size_t>(config.oauth.es256_presign));
  std::optional<Periodic> maintenance, pdp_refresh, stale_devices;
  maintenance.emplace(std::chrono::seconds(60),
                      [&keys, &store, &clock] { maintain_oauth(keys, store, clock); });
  // Other nodes' pushes and activations (and this node's, should an install have raced).
  pdp_refresh.emplace(std::chrono::milliseconds(config.pdp.refresh_ms), [&pdp, &store] {
    if (Status s = pdp.refresh(store); !s.ok())
      log::error("policy decision point refresh failed", {{"error", s.error().message}});
  });
  // A device that stops reporting loses its trust, and its tokens, within one period of the
  // maximum posture age (docs/devices.md).
  stale_devices.emplace(
      std::chrono::milliseconds(config.device.stale_check_ms),
      [&store, &clock, max_age = config.device.posture_max_age_seconds * kMicrosPerSecond] {
        Status s = store.write_sync([&](store::Tx& tx) -> Status {
          CUSTODY_ASSIGN(int n, device::demote_stale(tx, max_age, clock.now()));
          if (n > 0) log::info("devices demoted for stale posture", {{"count", n}});
          return ok_status();
        });
        if (!s.ok()) log::error("stale device check failed", {{"error", s.error().message}});
      });
  double startup_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started).count();
  log::info("listening on " + scheme + "://" + host + ":" + std::to_string(*port),
            {{"store", store.backend()},
             {"issuer", oauth_service->settings().issuer},
             {"threads", server_options.threads},
             {"startup_ms", startup_ms}});

  int sig = 0;
  sigwait(&signals, &sig);
  log::info("shutting down", {{"signal", sig == SIGTERM ? "SIGTERM" : "SIGINT"}});
  server.stop();
  crypto::presign::stop();
  transmitter.stop();
  notifier.stop();
  audit_indexer.stop();
  (*audit_log)->stop();  // a final signed head over every committed event
  maintenance.reset();
  pdp_refresh.reset();
  stale_devices.reset();
  store.close();
  log::info("stopped");
  return 0;
}

}  // namespace custody::app
