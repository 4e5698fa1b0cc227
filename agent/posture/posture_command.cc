#include "posture/posture_command.h"

#include <exception>
#include <iostream>

#include "posture/collector.h"
#include "posture/posture_json.h"

namespace custody::posture {

struct PostureCommandArgs {
  PostureOptions options;
  bool json = false;
};

PostureCommand add_posture_command(CLI::App& app) {
  PostureCommand cmd;
  cmd.args = std::make_shared<PostureCommandArgs>();
  cmd.subcommand = app.add_subcommand(
      "posture", "Collect this device's posture (OS, updates, disk encryption, firewall, ...)");
  cmd.subcommand
      ->add_option("--root", cmd.args->options.root, "Read this directory as if it were /")
      ->capture_default_str();
  cmd.subcommand->add_flag("--json", cmd.args->json, "Print the report as JSON");
  cmd.subcommand->add_flag("--discovery", cmd.args->options.include_discovery,
                           "Also run the discovery scan and report its findings' fingerprints");
  return cmd;
}

int PostureCommand::run_if_selected() const {
  if (subcommand == nullptr || !subcommand->parsed()) return -1;
  try {
    Posture p = collect_posture(args->options);
    if (args->json) {
      std::cout << posture_to_json(p).dump(2) << "\n";
    } else {
      std::cout << posture_to_text(p);
    }
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "custody-agent: " << e.what() << "\n";
    return 1;
  }
}

}  // namespace custody::posture
