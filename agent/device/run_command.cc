#include "device/run_command.h"

#include <pthread.h>
#include <signal.h>

#include <atomic>
#include <condition_variable>
#include <iostream>
#include <memory>
#include <mutex>
#include <thread>

#include "device/custodyd_workloads.h"
#include "device/device_state.h"
#include "device/discovery_upload.h"
#include "device/posture_reporter.h"
#include "workload/server.h"

namespace custody::agent {
namespace {

struct RunOptions {
  std::string state_dir = kDefaultStateDir;
  std::string socket = "/run/custody-agent/workload.sock";
  std::string root = "/";
  double check_interval = 30;    // seconds between posture collections
  double report_interval = 300;  // at most this long between reports
  double bindings_ttl = 30;      // how long the bindings list is reused
  bool discovery = false;
  double discovery_interval = 3600;  // seconds between discovery uploads; 0: none
  bool no_workload_api = false;
};

void say(const std::string& text) {
  std::cerr << "custody-agent: " << text << "\n" << std::flush;
}

// Stops the daemon on SIGTERM/SIGINT: the signals are blocked in every thread and one thread
// waits for them.
class StopSignal {
 public:
  StopSignal() {
    sigemptyset(&set_);
    sigaddset(&set_, SIGTERM);
    sigaddset(&set_, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set_, nullptr);
    waiter_ = std::thread([this] {
      int sig = 0;
      sigwait(&set_, &sig);
      stop();
    });
  }
  ~StopSignal() {
    if (!stopped()) {
      pthread_kill(waiter_.native_handle(), SIGTERM);
    }
    waiter_.join();
  }
  void stop() {
    std::lock_guard lock(mu_);
    stopped_ = true;
    cv_.notify_all();
  }
  bool stopped() {
    std::lock_guard lock(mu_);
    return stopped_;
  }
  // Sleeps `d` or until stopped; true when stopped.
  bool wait(std::chrono::milliseconds d) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, d, [this] { return stopped_; });
  }

 private:
  sigset_t set_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopped_ = false;
  std::thread waiter_;
};

std::chrono::milliseconds ms(double seconds) {
  return std::chrono::milliseconds(static_cast<std::int64_t>(seconds * 1000));
}

// Scans and uploads the discovery report every discovery_interval seconds (first at start-up).
void upload_discovery_when_due(const DeviceClient& client, const RunOptions& o) {
  static std::chrono::steady_clock::time_point next{};
  if (o.discovery_interval <= 0 || std::chrono::steady_clock::now() < next) return;
  next = std::chrono::steady_clock::now() + ms(o.discovery_interval);
  discovery::ScanOptions so;
  so.root = o.root;
  auto answer = scan_and_upload(client, so);
  if (!answer.ok()) return say("discovery upload failed: " + answer.error().message);
  auto created = answer->value("created", nlohmann::json::array());
  if (!created.empty()) say("discovery: " + std::to_string(created.size()) + " new component(s)");
}

int run(const RunOptions& o) {
  auto state = load_state(o.state_dir);
  if (!state.ok()) {
    say(state.error().message);
    return 1;
  }
  DeviceClient client(*state);
  posture::PostureOptions po;
  po.root = o.root;
  po.include_discovery = o.discovery;
  posture::PostureCollector collector(po);
  PostureReporter reporter(client, collector,
                           std::chrono::seconds(static_cast<std::int64_t>(o.report_interval)));
  StopSignal stop;

  CustodydBindings bindings(client,
                            std::chrono::seconds(static_cast<std::int64_t>(o.bindings_ttl)));
  CustodydBroker broker(client);
  CustodydAudit audit(client);
  std::unique_ptr<workload::WorkloadServer> server;
  if (!o.no_workload_api) {
    workload::WorkloadServerOptions wo;
    wo.socket_path = o.socket;
    server = std::make_unique<workload::WorkloadServer>(wo, bindings, broker, audit);
    if (Status s = server->start(); !s.ok()) {
      say("cannot serve the workload API on " + o.socket + ": " + s.error().message);
      return 1;
    }
    say("workload API on " + o.socket);
  }
  say("running as device " + state->device_id + " for " + state->server);
  std::string last_trust;
  while (true) {
    auto verdict = reporter.tick();
    if (!verdict.ok()) {
      say("posture report failed: " + verdict.error().message);
    } else if (*verdict) {
      std::string trust = (**verdict).value("trust", "");
      if (trust != last_trust) {
        std::string why;
        for (const auto& r : (**verdict).value("reasons", nlohmann::json::array()))
          if (r.is_string()) why += (why.empty() ? "" : "; ") + r.get<std::string>();
        say("device is " + trust + (why.empty() ? "" : ": " + why));
        // Untrusted: custodyd revoked what was issued here; a cached credential is dead.
        if (server && trust != "trusted") server->forget_credentials();
        last_trust = trust;
      }
    }
    upload_discovery_when_due(client, o);
    if (stop.wait(ms(o.check_interval))) break;
  }
  if (server) server->stop();
  say("stopped");
  return 0;
}

}  // namespace

std::function<int()> add_run_command(CLI::App& app) {
  auto o = std::make_shared<RunOptions>();
  CLI::App* cmd = app.add_subcommand(
      "run", "Run the agent: posture reports on a schedule and on change, and the workload API");
  cmd->add_option("--state-dir", o->state_dir, "The enrolment's state directory")
      ->capture_default_str();
  cmd->add_option("--socket", o->socket, "The workload API's Unix socket")
      ->envname("CUSTODY_AGENT_SOCKET")
      ->capture_default_str();
  cmd->add_option("--root", o->root, "Collect posture from this directory as if it were /")
      ->capture_default_str();
  cmd->add_option("--check-interval", o->check_interval, "Seconds between posture collections")
      ->check(CLI::Range(0.05, 86400.0))
      ->capture_default_str();
  cmd->add_option("--report-interval", o->report_interval,
                  "Seconds at most between posture reports (keep it below custodyd's "
                  "device.posture_max_age_seconds)")
      ->check(CLI::Range(1.0, 86400.0))
      ->capture_default_str();
  cmd->add_option("--bindings-ttl", o->bindings_ttl,
                  "Seconds the list of identities allowed here is reused")
      ->check(CLI::Range(0.0, 86400.0))
      ->capture_default_str();
  cmd->add_flag("--discovery", o->discovery, "Include the discovery summary in posture reports");
  cmd->add_option("--discovery-interval", o->discovery_interval,
                  "Seconds between discovery scans uploaded to custodyd (0: none)")
      ->check(CLI::Range(0.0, 7.0 * 86400))
      ->capture_default_str();
  cmd->add_flag("--no-workload-api", o->no_workload_api, "Report posture only");
  return [o, cmd]() -> int { return cmd->parsed() ? run(*o) : -1; };
}

}  // namespace custody::agent
