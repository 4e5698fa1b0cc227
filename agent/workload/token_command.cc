#include "workload/token_command.h"

#include <iostream>

#include "custody/workload_client.h"

namespace custody::workload {

TokenCommand::TokenCommand(CLI::App& app) {
  command_ = app.add_subcommand(
      "token", "Print an access token (or --assertion: a client assertion) for this process");
  command_->add_option("--socket", socket_,
                       "Workload API socket (default: $CUSTODY_AGENT_SOCKET, else " +
                           std::string(kDefaultWorkloadSocket) + ")");
  command_->add_option("--identity", identity_,
                       "Identity to act as, when several match this process");
  command_->add_option("--scope", scope_, "Space-separated scopes");
  command_->add_option("--resource", resource_, "Resource indicator (RFC 8707)");
  command_->add_option("--audience", audience_, "Audience");
  command_->add_flag("--assertion", assertion_,
                     "Print a client assertion (JWT) instead of an access token");
}

bool TokenCommand::selected() const {
  return command_->parsed();
}

int TokenCommand::run() const {
  WorkloadClient client(WorkloadClientOptions{.socket_path = socket_});
  auto fail = [](const WorkloadError& e) {
    std::cerr << "custody-agent token: " << e.code;
    if (e.status) std::cerr << " (HTTP " << e.status << ")";
    if (!e.description.empty()) std::cerr << ": " << e.description;
    std::cerr << "\n";
    return 1;
  };
  if (assertion_) {
    if (!scope_.empty() || !resource_.empty()) {
      std::cerr << "custody-agent token: --scope and --resource do not apply to --assertion\n";
      return 1;
    }
    auto a = client.client_assertion({.audience = audience_, .identity = identity_});
    if (!a.ok()) return fail(a.error());
    std::cout << a.value().assertion << "\n";
    return 0;
  }
  auto t = client.access_token(
      {.scope = scope_, .resource = resource_, .audience = audience_, .identity = identity_});
  if (!t.ok()) return fail(t.error());
  std::cout << t.value().access_token << "\n";
  return 0;
}

}  // namespace custody::workload
