// `custody audit export`: audit events (the API's JSON) as lines a SIEM takes without glue code.
//   jsonl   the event object, one per line
//   ocsf    an OCSF 1.1 event (docs/cli.md lists the class of every custody action)
//   syslog  an RFC 5424 message: facility authpriv, severity info (success) or notice
//           (refusal), MSGID the action, structured data [custody@32473 ...] with the
//           attribution fields, and the event JSON as MSG
#pragma once

#include <string>
#include <string_view>

#include "cli/session.h"
#include "common/result.h"

namespace custody::cli {

enum class ExportFormat { kJsonl, kOcsf, kSyslog };

// "jsonl", "ocsf" or "syslog"; kInvalidArgument otherwise.
Result<ExportFormat> parse_export_format(std::string_view name);

// The OCSF class of a custody action and outcome: {class_uid, activity_id}.
struct OcsfClass {
  int class_uid = 6003;  // API Activity
  int activity_id = 99;  // Other
};
OcsfClass ocsf_class(std::string_view action, std::string_view outcome, std::string_view method);

Json to_ocsf(const Json& event);
std::string to_syslog(const Json& event, std::string_view hostname);

// One output line (without the newline).
std::string export_line(const Json& event, ExportFormat format, std::string_view hostname);

}  // namespace custody::cli
