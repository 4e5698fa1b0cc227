#include "policy/defaults.h"

#include "audit/events.h"
#include "policy/policy_store.h"

namespace custody::policy {

Result<bool> install_default_policies(store::Tx& tx, Micros now) {
  CUSTODY_ASSIGN(auto versions, list_policy_versions(tx, 1, std::nullopt));
  if (!versions.empty()) return false;
  BundleSource source = default_bundle();
  auto compiled = compile_bundle(source);
  if (!compiled.errors.empty())
    return Error::internal("the default policies do not compile: " +
                           compiled.errors.front().message);
  CUSTODY_ASSIGN(
      auto info,
      insert_policy_version(tx, source, static_cast<std::int64_t>(compiled.bundle->policies.size()),
                            "custody default policies", "system", now));
  CUSTODY_TRY(activate_policy_version(tx, info.version, now));
  audit::Event event;
  event.time = now;
  event.actor = "system";
  event.action = "policy.push";
  event.target = "policy:" + std::to_string(info.version);
  event.outcome = "success";
  event.details = {{"version", info.version},
                   {"digest", info.digest},
                   {"policy_count", info.policy_count},
                   {"activated", true},
                   {"description", info.description}};
  CUSTODY_TRY(audit::append(tx, event));
  return true;
}

}  // namespace custody::policy
