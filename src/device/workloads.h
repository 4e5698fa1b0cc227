// The identities allowed to run on a device, and the workload selectors that recognise their
// processes there (docs/devices.md, "Workload selectors"). An identity bound to at least one
// device is device-bound: it obtains tokens only with a device-attested assertion
// (assertion.h) from one of its devices while that device is trusted.
//
// Selectors are "kind:value" strings; a binding matches a process when all of them match:
//   uid:<n>  gid:<n>  exe_path:<absolute path>  exe_sha256:<64 hex>
//   cgroup:<prefix of a line of /proc/<pid>/cgroup's path>  cmdline_arg:<one argv element>
// custody-agent matches them on the host; custody checks the agent's evidence against them again
// before it signs an assertion.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/result.h"
#include "directory/principal.h"
#include "store/store.h"

namespace custody::device {

struct Selector {
  std::string kind;
  std::string value;
  std::string text() const { return kind + ":" + value; }
};

// kInvalidArgument naming the selector for an unknown kind or a malformed value.
Result<Selector> parse_selector(std::string_view text);

// What custody-agent read about a process from the kernel.
struct ProcessEvidence {
  std::int64_t pid = 0;
  std::int64_t uid = -1;
  std::int64_t gid = -1;
  std::string exe_path;
  std::string exe_sha256;  // lowercase hex
  std::vector<std::string> cmdline;
  std::vector<std::string> cgroups;  // the path of each line of /proc/<pid>/cgroup
};
Result<ProcessEvidence> evidence_from_json(const nlohmann::json& j);
nlohmann::json to_json(const ProcessEvidence& e);

bool matches(const Selector& s, const ProcessEvidence& e);
// The first selector that does not match, or nullopt when all do.
std::optional<Selector> first_mismatch(const std::vector<Selector>& selectors,
                                       const ProcessEvidence& e);

struct Binding {
  std::string device_id;
  std::string identity_id;
  std::vector<Selector> selectors;
  std::string created_by;
  Micros created_at = 0;
};

// Allows `identity` (an agent, service or MCP server) on the device with these selectors (at
// least one; replaces an earlier binding of the pair). The identity must be manageable by the
// principal and the device active. Audits "device.allow".
Result<Binding> allow(store::Tx& tx, const directory::OpContext& ctx, const std::string& device_id,
                      const std::string& identity, const std::vector<Selector>& selectors);
// Removes the binding and revokes the identity's live tokens issued on that device. Audits
// "device.disallow". kNotFound when there is none.
Status disallow(store::Tx& tx, const directory::OpContext& ctx, const std::string& device_id,
                const std::string& identity);

Result<std::vector<Binding>> bindings_of_device(store::Tx& tx, const std::string& device_id);
// nullopt when the identity is not allowed on the device.
Result<std::optional<Binding>> find_binding(store::Tx& tx, const std::string& device_id,
                                            const std::string& identity);
// Whether the identity is bound to any device (and so device-bound).
Result<bool> is_device_bound(store::Tx& tx, const std::string& identity);

nlohmann::json to_json(const Binding& b);

}  // namespace custody::device
