// Redaction of what a report carries about a launch definition (DISCOVERY.md §4): values after
// credential flags in args, literal credentials anywhere in args, URL userinfo and query values,
// and home-directory prefixes (usernames) in paths. Each credential removed is classified into a
// SecretFlag on the way out, so redaction and flagging cannot disagree.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "discovery/finding.h"
#include "discovery/secret_classifier.h"

namespace custody::discovery {

inline constexpr std::string_view kRedacted = "<redacted>";

// `s` with every byte that is not part of a well-formed UTF-8 sequence (RFC 3629: no overlong
// forms, no surrogates) replaced by '?'. For text from /proc (command lines, process names), which
// is arbitrary bytes: the JSON report must stay valid whatever a process calls itself.
std::string utf8_or_replaced(std::string_view s);

class Redactor {
 public:
  // `homes`: home directories as seen from the scanned root ("/home/alice"); a path under one
  // is shown as "~/...". Both references must outlive the Redactor.
  Redactor(const SecretClassifier& classifier, const std::vector<std::string>& homes)
      : classifier_(classifier), homes_(homes) {}

  // Redacted copy of `args`; flags for each credential go to `flags` with field
  // "<field_prefix>.args[i]".
  std::vector<std::string> args(const std::vector<std::string>& args, std::string_view field_prefix,
                                std::vector<SecretFlag>& flags) const;

  // `url` without userinfo and with every query value replaced by <redacted>; userinfo and
  // credential-looking query values are flagged at "<field>" / "<field>?name".
  std::string url(std::string_view url, std::string_view field,
                  std::vector<SecretFlag>& flags) const;

  // A path with a home prefix replaced by "~".
  std::string path(std::string_view p) const;

  // True when `flag` ("--token", "-H", "--api-key=...") announces a credential in its value.
  static bool credential_flag(std::string_view flag);

 private:
  const SecretClassifier& classifier_;
  const std::vector<std::string>& homes_;
};

}  // namespace custody::discovery
