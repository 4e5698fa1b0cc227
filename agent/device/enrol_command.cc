#include "device/enrol_command.h"

#include <sys/utsname.h>
#include <unistd.h>

#include <iostream>
#include <memory>

#include "device/device_client.h"
#include "posture/collector.h"
#include "posture/posture_json.h"

namespace custody::agent {
namespace {

std::string this_hostname() {
  char name[256] = {};
  if (::gethostname(name, sizeof name - 1) != 0) return "unknown";
  return name;
}

std::string this_platform() {
  struct utsname u {};
  if (::uname(&u) != 0) return "linux";
  std::string s = u.sysname;
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s + "-" + u.machine;
}

struct Options {
  std::string server, token, state_dir = kDefaultStateDir, hostname, root = "/";
  bool discovery = false;
};

}  // namespace

std::function<int()> add_device_commands(CLI::App& app) {
  auto o = std::make_shared<Options>();
  CLI::App* enrol = app.add_subcommand(
      "enrol", "Enrol this device with custodyd: generate its key and prove possession");
  enrol->add_option("--server", o->server, "custodyd URL, e.g. https://custody.example")
      ->required();
  // Also from the environment: a token on the command line is visible in the process list.
  enrol->add_option("--token", o->token, "One-time enrolment token (custody device enrol-token)")
      ->envname("CUSTODY_ENROLMENT_TOKEN")
      ->required();
  enrol->add_option("--state-dir", o->state_dir, "Where the device key and id are kept")
      ->capture_default_str();
  enrol->add_option("--hostname", o->hostname, "Name reported for this device (default: hostname)");

  CLI::App* report = app.add_subcommand(
      "report", "Collect posture once and send it to custodyd, signed by the device key");
  report->add_option("--state-dir", o->state_dir, "The enrolment's state directory")
      ->capture_default_str();
  report->add_option("--root", o->root, "Read this directory as if it were / (tests)")
      ->capture_default_str();
  report->add_flag("--discovery", o->discovery, "Include the discovery summary");

  return [o, enrol, report]() -> int {
    if (enrol->parsed()) {
      auto state =
          enrol_device(o->server, o->token, o->state_dir,
                       o->hostname.empty() ? this_hostname() : o->hostname, this_platform());
      if (!state.ok()) {
        std::cerr << "custody-agent: " << state.error().message << "\n";
        return 1;
      }
      std::cout << "enrolled as " << state->device_id << " (owner " << state->owner << ")\n";
      return 0;
    }
    if (report->parsed()) {
      auto state = load_state(o->state_dir);
      if (!state.ok()) {
        std::cerr << "custody-agent: " << state.error().message << "\n";
        return 1;
      }
      posture::PostureOptions po;
      po.root = o->root;
      po.include_discovery = o->discovery;
      DeviceClient client(*state);
      auto answer = client.report_posture(posture::posture_to_json(posture::collect_posture(po)));
      if (!answer.ok()) {
        std::cerr << "custody-agent: " << answer.error().message << "\n";
        return 1;
      }
      std::cout << answer->dump(2) << "\n";
      return 0;
    }
    return -1;
  };
}

}  // namespace custody::agent
