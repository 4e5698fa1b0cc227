#include "device/custodyd_workloads.h"

#include <iostream>

namespace custody::agent {
namespace {

std::chrono::system_clock::time_point from_unix(std::int64_t seconds) {
  return std::chrono::system_clock::time_point(std::chrono::seconds(seconds));
}

void log_line(const std::string& text) {
  std::cerr << "custody-agent: " << text << "\n";
}

}  // namespace

nlohmann::json evidence_json(const workload::PeerInfo& peer) {
  return {{"pid", static_cast<std::int64_t>(peer.pid)},
          {"uid", peer.uid},
          {"gid", peer.gid},
          {"exe_path", peer.exe_path},
          {"exe_sha256", peer.exe_sha256},
          {"cmdline", peer.args},
          {"cgroups", peer.cgroups}};
}

Result<std::vector<workload::WorkloadBinding>> CustodydBindings::bindings() {
  std::lock_guard lock(mu_);
  auto now = std::chrono::steady_clock::now();
  if (cached_ && now - fetched_ < ttl_) return *cached_;
  auto answer = client_.workloads();
  if (!answer.ok()) {
    if (cached_ && answer.error().code == Code::kUnavailable) return *cached_;
    return answer.error();
  }
  std::vector<workload::WorkloadBinding> out;
  for (const auto& b : answer->value("bindings", nlohmann::json::array())) {
    workload::WorkloadBinding binding;
    binding.identity = b.value("identity", "");
    binding.client_id = b.value("client_id", binding.identity);
    std::vector<std::string> texts;
    for (const auto& s : b.value("selectors", nlohmann::json::array()))
      if (s.is_string()) texts.push_back(s.get<std::string>());
    auto selectors = workload::parse_selectors(texts);
    if (!selectors.ok()) {
      // A selector this agent does not understand: the binding can never match here.
      log_line("ignoring the binding of " + binding.identity + ": " + selectors.error().message);
      continue;
    }
    binding.selectors = std::move(selectors).value();
    out.push_back(std::move(binding));
  }
  cached_ = out;
  fetched_ = now;
  return out;
}

Result<nlohmann::json> CustodydBroker::assertion_json(const workload::WorkloadBinding& binding,
                                                      const workload::AttestedProcess& process,
                                                      const std::string& dpop_jkt) {
  std::optional<std::string> jkt;
  if (!dpop_jkt.empty()) jkt = dpop_jkt;
  return client_.assertion(binding.identity, evidence_json(process), jkt);
}

Result<workload::Credential> CustodydBroker::client_assertion(
    const workload::WorkloadBinding& binding, const workload::AttestedProcess& process,
    const workload::AssertionParams& params) {
  CUSTODY_ASSIGN(auto a, assertion_json(binding, process, params.dpop_jkt));
  workload::Credential c;
  c.value = a.value("assertion", "");
  c.token_type = "client-assertion";
  c.expires_at = from_unix(a.value("expires_at", std::int64_t{0}));
  c.identity = binding.identity;
  c.client_id = a.value("client_id", binding.client_id);
  if (c.value.empty()) return Error::internal("custodyd answered no assertion");
  return c;
}

Result<workload::Credential> CustodydBroker::access_token(const workload::WorkloadBinding& binding,
                                                          const workload::AttestedProcess& process,
                                                          const workload::TokenParams& params) {
  CUSTODY_ASSIGN(auto a, assertion_json(binding, process, params.dpop_jkt));
  std::vector<std::pair<std::string, std::string>> form;
  if (!params.scope.empty()) form.emplace_back("scope", params.scope);
  if (!params.resource.empty()) form.emplace_back("resource", params.resource);
  if (!params.audience.empty()) form.emplace_back("audience", params.audience);
  CUSTODY_ASSIGN(
      auto t, client_.token(a.value("token_endpoint", ""), a.value("client_id", binding.client_id),
                            a.value("assertion", ""), form));
  workload::Credential c;
  c.value = t.value("access_token", "");
  c.token_type = t.value("token_type", "Bearer");
  auto now = std::chrono::system_clock::now();
  c.expires_at = now + std::chrono::seconds(t.value("expires_in", std::int64_t{0}));
  c.identity = binding.identity;
  c.client_id = a.value("client_id", binding.client_id);
  if (c.value.empty()) return Error::internal("the token endpoint answered no access_token");
  return c;
}

void CustodydAudit::refused(const workload::PeerInfo& peer, std::string_view reason) {
  log_line("workload refused: " + std::string(reason) + " (" + peer.describe() + ")");
  nlohmann::json process = evidence_json(peer);
  process.erase("cmdline");  // arguments may hold secrets; the audit log must not
  auto sent = client_.event(
      {{"event", "workload.refused"}, {"reason", std::string(reason)}, {"process", process}});
  if (!sent.ok()) log_line("could not report the refusal to custodyd: " + sent.error().message);
}

void CustodydAudit::issued(const workload::AttestedProcess& process,
                           const workload::WorkloadBinding& binding, std::string_view kind,
                           const workload::Credential&, bool from_cache) {
  if (!from_cache) return;  // custodyd audited the issuance itself
  log_line(std::string(kind) + " for " + binding.identity + " served from cache to " +
           process.describe());
}

}  // namespace custody::agent
