// The workload API: HTTP/1.1 over a Unix socket (Boost.Beast), one request per connection.
// A local process connects, the server identifies it from the kernel (peer.h), picks the
// identity bound to this device whose selectors it matches (selectors.h) and answers with a
// credential from the broker (broker.h), cached (credential_cache.h). docs/workload-api.md.
//
//   GET  /v1/health     200 {"status":"ok"}
//   POST /v1/assertion  {"identity"?, "audience"?}                       → a client assertion
//   POST /v1/token      {"identity"?, "scope"?, "resource"?, "audience"?} → an access token
//   errors: {"error": code, "error_description": why} with 400, 403, 404, 405, 413, 431, 502, 503
//
// Threads: one io thread accepts and reads; attestation, the binding lookup and the broker call
// run on a small pool of workers so that a slow custodyd or a large executable to hash never
// stalls the io thread. The worker sends the (small) reply itself with a non-blocking send when
// the socket takes it whole, which saves a thread hop; otherwise the io thread finishes it.
// When every worker is busy and the queue is full the request gets 503 at once. A peer that
// does not deliver a whole request within read_timeout is closed.
// Every refusal is reported to WorkloadAudit::refused.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>

#include "common/clock.h"
#include "common/result.h"
#include "workload/broker.h"

namespace custody::workload {

struct WorkloadServerOptions {
  std::string socket_path = "/run/custody-agent/workload.sock";
  // Any local process may ask: attestation, not the file mode, is the gate.
  mode_t socket_mode = 0666;
  std::size_t max_header_bytes = 8 * 1024;        // beyond: 431
  std::size_t max_body_bytes = 16 * 1024;         // beyond: 413
  std::chrono::milliseconds read_timeout{2000};   // whole request, from accept
  std::chrono::milliseconds write_timeout{2000};  // whole response
  std::size_t max_connections = 128;              // beyond: accepted and closed at once
  std::size_t worker_threads = 4;                 // attestation + broker calls
  std::size_t max_queued = 64;                    // requests waiting for a worker; beyond: 503
  std::size_t cache_entries = 1024;               // credential cache bound
  ProcOptions proc;                               // where and how processes are read
  const Clock* clock = nullptr;                   // null: the system clock; must outlive the server
  // Test seam: called on a worker with the peer's pid just before attestation.
  std::function<void(pid_t)> before_attestation;
};

// Not copyable. start()/run() once; stop() from any thread, any number of times.
class WorkloadServer {
 public:
  // The three interfaces must outlive the server.
  WorkloadServer(WorkloadServerOptions options, BindingSource& bindings, CredentialBroker& broker,
                 WorkloadAudit& audit);
  ~WorkloadServer();  // stops
  WorkloadServer(const WorkloadServer&) = delete;
  WorkloadServer& operator=(const WorkloadServer&) = delete;

  // Creates the socket (removing a stale socket file; refusing, kConflict, when the path is
  // another kind of file; creating the parent directory if missing), sets its mode and serves
  // on a background thread. Errors: kConflict, kInternal (bind/listen failure).
  Status start();
  // start() and then block until stop().
  Status run();
  // Stops accepting, closes connections, joins the threads and removes the socket file. Waits
  // for custodyd calls in progress to return (the broker's own timeouts bound it).
  void stop();
  // Forgets every cached credential, so that the next request asks custodyd again (the daemon
  // calls it when the device stops being trusted: custodyd has revoked them).
  void forget_credentials();

  struct Impl;  // opaque: defined in server.cc

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace custody::workload
