// Turns one raw server entry of any client's dialect (DISCOVERY.md §2, §3) into a Finding:
// transport normalised with the raw spelling kept, command/args/URL redacted, env and header
// names only, every credential-holding field classified, then risk signals and fingerprint.
#pragma once

#include <string>

#include "discovery/config_layouts.h"
#include "discovery/finding.h"
#include "discovery/redact.h"
#include "discovery/secret_classifier.h"

namespace custody::discovery {

struct EntrySource {
  std::string client;
  Scope scope = Scope::kUser;
  std::string config_file;  // as seen from the scanned root
  std::string project;      // project dir (project scope), as seen from the root
};

// The normalised finding for `raw`. `device_id` salts the fingerprint (fingerprint.h).
Finding normalise_entry(const RawEntry& raw, const EntrySource& source, const Redactor& redactor,
                        const SecretClassifier& classifier, std::string_view device_id);

// Splits a command line held in one string ("npx -y pkg") into words; double and single quotes
// group, no other shell syntax is interpreted.
std::vector<std::string> split_command_line(std::string_view line);

}  // namespace custody::discovery
