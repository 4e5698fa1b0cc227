// Running AI clients and their stdio MCP servers, from <root>/proc (DISCOVERY.md §5). A client is
// recognised by its comm, argv[0] or a package path in its first arguments; an MCP server is a
// descendant of a client (PPid chain) whose command line matches a config entry (then that
// finding gets the pid) or looks like an MCP server (then it becomes a finding of scope process).
// A process that vanishes between listing and reading is skipped with a warning. Environment
// variables of server processes are flagged like config env values, never copied.
#pragma once

#include <string_view>

#include "discovery/finding.h"
#include "discovery/path_resolver.h"
#include "discovery/redact.h"
#include "discovery/secret_classifier.h"

namespace custody::discovery {

// Reads <root>/proc, appends to report.processes, report.findings (process-only servers) and
// report.warnings, and sets running_pids on the config findings already in report.findings.
void scan_processes(const RootView& root, const Redactor& redactor,
                    const SecretClassifier& classifier, std::string_view device_id, Report& report);

}  // namespace custody::discovery
