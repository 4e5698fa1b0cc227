#include "posture/updates.h"

#include <cctype>
#include <charconv>

namespace custody::posture {

namespace {

std::vector<std::string_view> lines_of(std::string_view text) {
  std::vector<std::string_view> out;
  while (!text.empty()) {
    auto nl = text.find('\n');
    out.push_back(text.substr(0, nl));
    if (nl == std::string_view::npos) break;
    text.remove_prefix(nl + 1);
  }
  return out;
}

// The first number of a line that contains `phrase`, or nullopt.
std::optional<std::int64_t> number_before(std::string_view text, std::string_view phrase) {
  for (auto line : lines_of(text)) {
    if (line.find(phrase) == std::string_view::npos) continue;
    auto digit = line.find_first_of("0123456789");
    if (digit == std::string_view::npos) continue;
    std::int64_t v = 0;
    auto [end, ec] = std::from_chars(line.data() + digit, line.data() + line.size(), v);
    if (ec == std::errc()) return v;
  }
  return std::nullopt;
}

}  // namespace

std::optional<PendingCounts> parse_update_notifier(std::string_view text) {
  bool blank = true;
  for (char c : text) blank = blank && std::isspace(static_cast<unsigned char>(c));
  if (blank) return PendingCounts{};
  PendingCounts c;
  auto pending = number_before(text, "can be applied immediately");
  if (!pending) pending = number_before(text, "can be updated");
  if (!pending) return std::nullopt;
  c.pending = *pending;
  auto security = number_before(text, "standard security update");
  if (!security) security = number_before(text, "are security update");
  if (!security) security = number_before(text, "is a security update");
  c.security = security.value_or(0);
  return c;
}

PendingCounts parse_apt_simulation(std::string_view text) {
  PendingCounts c;
  for (auto line : lines_of(text)) {
    if (line.substr(0, 5) != "Inst ") continue;
    ++c.pending;
    // "Inst libssl3 [3.0.11-1~deb12u1] (3.0.11-1~deb12u2 Debian-Security:12/stable-security
    // [amd64])": the suites are in the last parenthesis.
    auto open = line.find('(');
    if (open != std::string_view::npos && line.find("-security", open) != std::string_view::npos) {
      ++c.security;
    }
  }
  return c;
}

std::int64_t count_dnf_check_update(std::string_view text) {
  std::int64_t n = 0;
  for (auto line : lines_of(text)) {
    if (line.starts_with("Obsoleting") || line.starts_with("Security:")) break;
    if (line.empty() || std::isspace(static_cast<unsigned char>(line.front()))) continue;
    // name.arch, version, repository: three fields
    int fields = 0;
    bool in_field = false;
    for (char c : line) {
      bool space = std::isspace(static_cast<unsigned char>(c));
      if (!space && !in_field) ++fields;
      in_field = !space;
    }
    if (fields == 3 && line.find('.') != std::string_view::npos) ++n;
  }
  return n;
}

UpdateCheck::UpdateCheck(CommandRunner* runner, const Clock* clock, std::chrono::seconds max_age,
                         std::chrono::milliseconds command_timeout)
    : runner_(runner), clock_(clock), max_age_(max_age), command_timeout_(command_timeout) {}

UpdatesInfo UpdateCheck::collect(const RootFiles& root, const OsInfo& os,
                                 std::vector<std::string>* warnings) {
  const Micros now = clock_->now();
  const Micros max_age = static_cast<Micros>(max_age_.count()) * kMicrosPerSecond;
  if (cached_ && cached_root_ == root.root() && now >= cached_at_ && now - cached_at_ < max_age) {
    warnings->insert(warnings->end(), cached_warnings_.begin(), cached_warnings_.end());
    return *cached_;
  }
  std::vector<std::string> fresh;
  UpdatesInfo info = check(root, os, &fresh);
  cached_ = info;
  cached_warnings_ = fresh;
  cached_at_ = now;
  cached_root_ = root.root();
  warnings->insert(warnings->end(), fresh.begin(), fresh.end());
  return info;
}

UpdatesInfo UpdateCheck::check(const RootFiles& root, const OsInfo& os,
                               std::vector<std::string>* warnings) {
  const bool apt = root.exists("/var/lib/dpkg/status") || root.exists("/usr/bin/apt-get");
  const bool dnf = root.exists("/usr/bin/dnf") || root.exists("/usr/bin/dnf5");
  // A Fedora-family system with apt-get installed next to dnf still updates through dnf.
  const bool rpm_family = os.id == "fedora" || os.id == "rhel" || os.id == "centos" ||
                          os.id == "rocky" || os.id == "almalinux";
  if (dnf && (rpm_family || !apt)) return check_dnf(warnings);
  if (apt) return check_apt(root, warnings);
  warnings->push_back("updates: no supported package manager (apt, dnf) found");
  return {};
}

UpdatesInfo UpdateCheck::check_apt(const RootFiles& root, std::vector<std::string>* warnings) {
  UpdatesInfo info;
  info.manager = "apt";
  auto notifier = root.read("/var/lib/update-notifier/updates-available", 64 * 1024);
  if (notifier.ok()) {
    if (auto counts = parse_update_notifier(*notifier)) {
      info.known = true;
      info.pending = counts->pending;
      info.pending_security = counts->security;
      return info;
    }
    warnings->push_back("updates: updates-available not understood; asking apt-get");
  }
  if (runner_ == nullptr) {
    warnings->push_back("updates: apt-get not run (scanned root is not / and no command runner)");
    return info;
  }
  CommandOptions limits;
  limits.timeout = command_timeout_;
  // dist-upgrade, not upgrade: an update that needs a new package (a new kernel ABI, a security
  // fix pulling a new library) is "kept back" by upgrade but counted by update-notifier too.
  auto out =
      runner_->run({"apt-get", "-s", "-o", "Debug::NoLocking=1", "dist-upgrade"}, {}, limits);
  if (!out.ok()) {
    warnings->push_back("updates: " + out.error().message);
    return info;
  }
  if (out->exit_status != 0) {
    warnings->push_back("updates: apt-get exited with status " + std::to_string(out->exit_status));
    return info;
  }
  auto counts = parse_apt_simulation(out->out);
  info.known = true;
  info.pending = counts.pending;
  info.pending_security = counts.security;
  return info;
}

UpdatesInfo UpdateCheck::check_dnf(std::vector<std::string>* warnings) {
  UpdatesInfo info;
  info.manager = "dnf";
  if (runner_ == nullptr) {
    warnings->push_back("updates: dnf not run (scanned root is not / and no command runner)");
    return info;
  }
  CommandOptions limits;
  limits.timeout = command_timeout_;
  auto out = runner_->run({"dnf", "-q", "-C", "check-update"}, {}, limits);
  if (!out.ok()) {
    warnings->push_back("updates: " + out.error().message);
    return info;
  }
  if (out->exit_status != 0 && out->exit_status != 100) {
    warnings->push_back("updates: dnf check-update exited with status " +
                        std::to_string(out->exit_status));
    return info;
  }
  info.known = true;
  info.pending = out->exit_status == 100 ? count_dnf_check_update(out->out) : 0;
  auto sec = runner_->run({"dnf", "-q", "-C", "updateinfo", "list", "--security"}, {}, limits);
  if (sec.ok() && sec->exit_status == 0) {
    std::int64_t n = 0;
    for (auto line : lines_of(sec->out)) {
      if (!line.empty() && !std::isspace(static_cast<unsigned char>(line.front()))) ++n;
    }
    info.pending_security = n;
  } else {
    warnings->push_back("updates: dnf updateinfo failed; pending_security is 0");
  }
  return info;
}

}  // namespace custody::posture
