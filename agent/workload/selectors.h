// Selectors: what a process must look like to receive an identity's credentials. Textual form
// "<kind>:<value>":
//   uid:1000                  the peer's uid (SO_PEERCRED)
//   gid:1000                  the peer's gid
//   exe_path:/usr/bin/python3 the executable's path, exactly
//   exe_sha256:<64 hex>       the SHA-256 of the executable's bytes (case-insensitive input)
//   cgroup:<prefix>           a prefix of the path of any of the process's cgroup lines
//   cmdline_arg:<string>      one argv element equals the string
// A binding matches a process when ALL its selectors match; a binding without selectors never
// matches (it would hand the identity to every local process).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "workload/peer.h"

namespace custody::workload {

enum class SelectorKind { kUid, kGid, kExePath, kExeSha256, kCgroup, kCmdlineArg };

struct Selector {
  SelectorKind kind = SelectorKind::kUid;
  std::string value;         // normalised: digits for uid/gid, lowercase hex for exe_sha256
  std::uint64_t number = 0;  // uid/gid

  bool matches(const PeerInfo& peer) const;
  std::string to_string() const;  // the textual form, parse(to_string()) round-trips
  bool operator==(const Selector&) const = default;
};

// Parses one selector. Errors (kInvalidArgument, field "selector"): "missing ':'", "unknown
// selector kind 'x'", "bad number '...' for uid", "exe_sha256 needs 64 hex digits", empty value.
Result<Selector> parse_selector(std::string_view text);
// Parses all, failing on the first bad one (its index in the message).
Result<std::vector<Selector>> parse_selectors(const std::vector<std::string>& texts);

// An identity bound to this device and the processes that may act as it.
struct WorkloadBinding {
  std::string identity;   // custody identity id
  std::string client_id;  // its OAuth client_id
  std::vector<Selector> selectors;

  bool matches(const PeerInfo& peer) const;
};

// Refusal codes carried in Error::details["error"] by select_binding and the server.
inline constexpr std::string_view kNotAttested = "workload_not_attested";
inline constexpr std::string_view kNoMatch = "no_matching_identity";
inline constexpr std::string_view kAmbiguous = "ambiguous_identity";

// Picks the binding for a process. `requested` is the identity the request named, if any.
//  - exactly one binding matches: it (if `requested` names another identity: refusal kNoMatch);
//  - none: kPermissionDenied kNoMatch "no identity on this device matches the process (uid ...)";
//  - several: `requested` must name one of them, else kPermissionDenied kAmbiguous listing them.
Result<WorkloadBinding> select_binding(const std::vector<WorkloadBinding>& bindings,
                                       const PeerInfo& peer,
                                       std::optional<std::string_view> requested);

}  // namespace custody::workload
