// Whether the screen locks by itself, where there is a screen: the graphical login sessions are
// read from systemd-logind's <root>/run/systemd/sessions/* (TYPE=x11|wayland|mir, CLASS=user),
// the active one preferred. No graphical session: headless, known=false.
//   - KDE Plasma: <home>/.config/kscreenlockerrc, [Daemon] Autolock (default true).
//   - GNOME and the desktops sharing its settings: `gsettings get org.gnome.desktop.screensaver
//     lock-enabled` and `... org.gnome.desktop.session idle-delay` run through the CommandRunner
//     as the session user (when the agent is root) with their HOME, XDG_CONFIG_HOME,
//     XDG_RUNTIME_DIR and GSETTINGS_BACKEND=dconf, so that dconf reads their database and creates
//     nothing owned by root in their directories. Enabled means lock-enabled is true and
//     idle-delay is not 0 (0 never blanks, so never locks).
#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "posture/command_runner.h"
#include "posture/posture.h"
#include "posture/root_files.h"

namespace custody::posture {

struct GraphicalSession {
  std::string user;
  std::string uid;
  std::string desktop;  // DESKTOP=, e.g. "GNOME", "ubuntu:GNOME", "KDE"
  std::string home;     // from <root>/etc/passwd; empty when the user is not there
  int uid_number = -1;  // UID= and the passwd entry's group, -1 when not decimal or not found
  int gid_number = -1;
};

// KEY=VALUE lines (systemd session files, ini sections ignored).
std::map<std::string, std::string> parse_env_file(std::string_view text);

// The graphical session to inspect, or nullopt when none.
std::optional<GraphicalSession> find_graphical_session(const RootFiles& root);

ScreenLockInfo collect_screen_lock(const RootFiles& root, CommandRunner* runner,
                                   std::chrono::milliseconds timeout,
                                   std::vector<std::string>* warnings);

}  // namespace custody::posture
