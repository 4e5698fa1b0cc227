// The MCP gateway (docs/mcp-gateway.md): custodyd's enforcement point in front of registered MCP
// servers, speaking MCP's Streamable HTTP transport on both sides.
//
// For each request to <issuer>/mcp/<route>: find the route (an active mcp_server), authenticate
// the caller (caller.h), check the transport (Accept, Content-Type, Origin, one JSON-RPC message,
// the session's owner), authorize tools/call, resources/read and prompts/get per call
// (authorize.h, inventory.h), then forward with the gateway's own token for the upstream
// (upstream_tokens.h) and relay the answer: JSON as JSON, an event stream event by event.
// tools/list answers are filtered to the tools the inventory approved and the caller may call.
// A call held for approval whose caller asked for progress waits on an event stream opened at
// once until the approver decides (approval_waits.h), and is then authorized again.
//
// Durability: the audit event of a decision (gateway.call) is durable before the caller sees any
// of the answer; a permitted call's event is written while the upstream works, so the commit
// adds no latency unless it is slower than the upstream. A call that uses an approval commits
// (consuming it) before it is forwarded, so one approval lets exactly one call through. The
// outcome (gateway.call.result: upstream status, JSON-RPC error or isError, latency) is appended
// after the answer. Refusals are audited (gateway.refused) durably before the answer.
//
// Threads: handlers run on the server's io threads and read the store synchronously; upstream
// callbacks run on the upstream client's threads; writes complete on the store's writer thread;
// the end of an approval wait runs on the wait watcher's thread.
#pragma once

#include <atomic>
#include <memory>

#include "common/clock.h"
#include "common/config.h"
#include "gateway/approval_waits.h"
#include "gateway/caller.h"
#include "gateway/sessions.h"
#include "gateway/upstream_client.h"
#include "gateway/upstream_tokens.h"
#include "http/message.h"
#include "oauth/service.h"
#include "policy/pdp.h"
#include "store/store.h"

namespace custody::gateway {

class Gateway {
 public:
  Gateway(store::Store& store, const Clock& clock, const Config& config, const policy::Pdp& pdp,
          const std::atomic<oauth::Service*>& oauth);
  ~Gateway();
  Gateway(const Gateway&) = delete;
  Gateway& operator=(const Gateway&) = delete;

  // POST, GET and DELETE <issuer>/mcp/{route}.
  void handle(http::Request& request, http::Responder respond);
  // GET /.well-known/oauth-protected-resource/mcp/{route} (RFC 9728).
  void metadata(http::Request& request, http::Responder respond);

  struct Exchange;  // one request in flight (gateway.cc)

 private:
  friend struct Exchange;
  store::Store& store_;
  const Clock& clock_;
  const Config& config_;
  const policy::Pdp& pdp_;
  const std::atomic<oauth::Service*>& oauth_;
  SessionTable sessions_;
  ProofReplayCache replay_;
  UpstreamTokens tokens_;
  UpstreamClient upstream_;
  ApprovalWaits waits_;  // last: its thread stops (ending every wait) before the rest goes
};

}  // namespace custody::gateway
