#include "workload/selectors.h"

#include <algorithm>
#include <charconv>

namespace custody::workload {
namespace {

struct KindName {
  SelectorKind kind;
  std::string_view name;
};
constexpr KindName kKinds[] = {
    {SelectorKind::kUid, "uid"},          {SelectorKind::kGid, "gid"},
    {SelectorKind::kExePath, "exe_path"}, {SelectorKind::kExeSha256, "exe_sha256"},
    {SelectorKind::kCgroup, "cgroup"},    {SelectorKind::kCmdlineArg, "cmdline_arg"},
};

std::string_view kind_name(SelectorKind kind) {
  for (const auto& k : kKinds) {
    if (k.kind == kind) return k.name;
  }
  return "?";
}

bool is_hex(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

}  // namespace

bool Selector::matches(const PeerInfo& peer) const {
  switch (kind) {
    case SelectorKind::kUid:
      return peer.uid >= 0 && static_cast<std::uint64_t>(peer.uid) == number;
    case SelectorKind::kGid:
      return peer.gid >= 0 && static_cast<std::uint64_t>(peer.gid) == number;
    case SelectorKind::kExePath:
      return !peer.exe_path.empty() && peer.exe_path == value;
    case SelectorKind::kExeSha256:
      return !peer.exe_sha256.empty() && peer.exe_sha256 == value;
    case SelectorKind::kCgroup:
      return std::any_of(peer.cgroups.begin(), peer.cgroups.end(),
                         [&](const std::string& path) { return path.starts_with(value); });
    case SelectorKind::kCmdlineArg:
      return std::find(peer.args.begin(), peer.args.end(), value) != peer.args.end();
  }
  return false;
}

std::string Selector::to_string() const {
  return std::string(kind_name(kind)) + ":" + value;
}

Result<Selector> parse_selector(std::string_view text) {
  auto colon = text.find(':');
  if (colon == std::string_view::npos) {
    return Error::invalid("selector '" + std::string(text) + "': missing ':' (kind:value)",
                          "selector");
  }
  std::string_view name = text.substr(0, colon);
  std::string_view value = text.substr(colon + 1);
  Selector s;
  bool known = false;
  for (const auto& k : kKinds) {
    if (k.name == name) {
      s.kind = k.kind;
      known = true;
    }
  }
  if (!known) {
    return Error::invalid("unknown selector kind '" + std::string(name) +
                              "' (uid, gid, exe_path, exe_sha256, cgroup, cmdline_arg)",
                          "selector");
  }
  if (value.empty()) {
    return Error::invalid("selector '" + std::string(text) + "': empty value", "selector");
  }
  switch (s.kind) {
    case SelectorKind::kUid:
    case SelectorKind::kGid: {
      std::uint32_t n = 0;  // uid_t and gid_t are 32 bits
      auto [ptr, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
      if (ec != std::errc() || ptr != value.data() + value.size()) {
        return Error::invalid("bad number '" + std::string(value) + "' for " + std::string(name) +
                                  " (a decimal 0..4294967295)",
                              "selector");
      }
      s.number = n;
      s.value = std::to_string(n);
      break;
    }
    case SelectorKind::kExeSha256:
      if (value.size() != 64 || !std::all_of(value.begin(), value.end(), is_hex)) {
        return Error::invalid("exe_sha256 needs 64 hex digits, got '" + std::string(value) + "'",
                              "selector");
      }
      s.value = std::string(value);
      std::transform(s.value.begin(), s.value.end(), s.value.begin(),
                     [](char c) { return static_cast<char>(c >= 'A' && c <= 'F' ? c + 32 : c); });
      break;
    default:
      s.value = std::string(value);
  }
  return s;
}

Result<std::vector<Selector>> parse_selectors(const std::vector<std::string>& texts) {
  std::vector<Selector> out;
  for (std::size_t i = 0; i < texts.size(); ++i) {
    auto s = parse_selector(texts[i]);
    if (!s.ok()) {
      Error e = s.error();
      e.message = "selector " + std::to_string(i) + ": " + e.message;
      return e;
    }
    out.push_back(std::move(s).value());
  }
  return out;
}

bool WorkloadBinding::matches(const PeerInfo& peer) const {
  if (selectors.empty()) return false;
  return std::all_of(selectors.begin(), selectors.end(),
                     [&](const Selector& s) { return s.matches(peer); });
}

Result<WorkloadBinding> select_binding(const std::vector<WorkloadBinding>& bindings,
                                       const PeerInfo& peer,
                                       std::optional<std::string_view> requested) {
  std::vector<const WorkloadBinding*> matched;
  for (const auto& b : bindings) {
    if (b.matches(peer)) matched.push_back(&b);
  }
  if (matched.empty()) {
    return Error::denied("no identity on this device matches the process (" + peer.describe() + ")")
        .with("error", std::string(kNoMatch));
  }
  if (requested) {
    for (const auto* b : matched) {
      if (b->identity == *requested) return *b;
    }
    return Error::denied("the identity '" + std::string(*requested) +
                         "' is not among those matching the process (" + peer.describe() + ")")
        .with("error", std::string(kNoMatch));
  }
  if (matched.size() == 1) return *matched.front();
  std::string names;
  for (const auto* b : matched) names += (names.empty() ? "" : ", ") + b->identity;
  return Error::denied("ambiguous: " + std::to_string(matched.size()) +
                       " identities match the process (" + names +
                       "); name one in the request's \"identity\"")
      .with("error", std::string(kAmbiguous));
}

}  // namespace custody::workload
