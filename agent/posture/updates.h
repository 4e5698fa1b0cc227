// Pending package updates, where the package manager says so:
//   - Debian/Ubuntu: Ubuntu's <root>/var/lib/update-notifier/updates-available when present (kept
//     fresh by apt's hooks, costs nothing to read); otherwise a simulated upgrade,
//     `apt-get -s -o Debug::NoLocking=1 dist-upgrade` (no lock, no root needed), counting its
//     `Inst` lines and those that come from a "-security" suite.
//   - Fedora/RHEL: `dnf -q -C check-update` (exit 100 when updates are pending) and
//     `dnf -q -C updateinfo list --security`, from dnf's cache only (-C: no network).
// The simulation takes about a second, so UpdateCheck caches its answer for max_age.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.h"
#include "posture/command_runner.h"
#include "posture/posture.h"
#include "posture/root_files.h"

namespace custody::posture {

struct PendingCounts {
  std::int64_t pending = 0;
  std::int64_t security = 0;
};

// update-notifier's text ("12 updates can be applied immediately.\n5 of these updates are
// standard security updates."; older releases "12 packages can be updated.\n5 updates are
// security updates."). An empty file means none. nullopt when the text says neither.
std::optional<PendingCounts> parse_update_notifier(std::string_view text);
// `apt-get -s dist-upgrade` output: one `Inst pkg [old] (new suite... [arch])` line per upgrade.
PendingCounts parse_apt_simulation(std::string_view text);
// `dnf check-update` output: package lines "name.arch  version  repo" after an optional blank
// line; "Obsoleting Packages" and what follows are not counted.
std::int64_t count_dnf_check_update(std::string_view text);

// Decides the manager and asks it, at most once per max_age. Not thread-safe: one collector
// owns one UpdateCheck. `runner` may be null (no commands: only files are read); `runner` and
// `clock` must outlive the object.
class UpdateCheck {
 public:
  UpdateCheck(CommandRunner* runner, const Clock* clock, std::chrono::seconds max_age,
              std::chrono::milliseconds command_timeout);
  UpdateCheck(const UpdateCheck&) = delete;
  UpdateCheck& operator=(const UpdateCheck&) = delete;

  // The cached answer when it is younger than max_age, else a fresh one. Warnings of a fresh
  // check are cached with it and appended again on each cached answer.
  UpdatesInfo collect(const RootFiles& root, const OsInfo& os, std::vector<std::string>* warnings);

 private:
  UpdatesInfo check(const RootFiles& root, const OsInfo& os, std::vector<std::string>* warnings);
  UpdatesInfo check_apt(const RootFiles& root, std::vector<std::string>* warnings);
  UpdatesInfo check_dnf(std::vector<std::string>* warnings);

  CommandRunner* runner_;
  const Clock* clock_;
  std::chrono::seconds max_age_;
  std::chrono::milliseconds command_timeout_;
  std::optional<UpdatesInfo> cached_;
  std::vector<std::string> cached_warnings_;
  Micros cached_at_ = 0;
  std::string cached_root_;
};

}  // namespace custody::posture
