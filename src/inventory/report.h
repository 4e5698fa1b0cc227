// A discovery report as custodyd reads it (docs/find-agents.md): the scanner's JSON report
// (custody.discovery.report/v1, docs/discovery.md) checked member by member and reduced to what
// the inventory keeps. Only named members are read, so nothing a report adds beyond them (and no
// secret value) reaches the store. Pure functions: no store, no clock.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/result.h"

namespace custody::inventory {

inline constexpr std::string_view kReportSchema = "custody.discovery.report/v1";
inline constexpr std::size_t kMaxFindings = 10'000;

struct ReportedRisk {
  std::string signal;
  std::string detail;
};

// Where a secret is and what it looks like; the scanner's keyed hash and length are dropped.
struct ReportedSecret {
  std::string field;
  std::string classification;  // literal | reference | empty
  std::string pattern;
};

struct ReportedFinding {
  std::string kind;  // mcp-server | a2a-agent
  std::string client;
  std::string scope;
  std::string config_file;
  std::string project;
  std::string server_name;
  std::string transport;
  std::string command;
  std::vector<std::string> args;
  std::string url;
  std::vector<std::string> env_names;
  std::vector<std::string> header_names;
  std::string fingerprint;  // the device's salted fingerprint (64 hex)
  bool running = false;     // running_pids not empty
  std::vector<ReportedRisk> risks;
  std::vector<ReportedSecret> secrets;

  // The device-independent key: hex SHA-256 of the launch definition (fingerprint.h's canonical
  // text without the device salt), so one server configured on many devices is one component.
  std::string definition_hash() const;
  // The canonical launch definition: {args, command, env, headers, transport, url}.
  nlohmann::json definition() const;
  // Where on the device it is configured (client, scope, file, project, name), hashed: a
  // definition that changes in the same place is drift of the same component.
  std::string slot() const;
  // "command arg…" or the URL, for listings.
  std::string target() const;
  // A display name: the server name with control characters replaced, 1..200 bytes.
  std::string display_name() const;
};

struct DiscoveryReport {
  std::string scanned_at;
  std::vector<ReportedFinding> findings;
};

// kInvalidArgument naming the offending member ("report.findings[3].client") when the report is
// not a v1 report or a member has the wrong type or size.
Result<DiscoveryReport> parse_report(const nlohmann::json& report);

// RFC 4180 CSV field: quoted when it holds a comma, quote, CR or LF (quotes doubled). A field
// starting with =, +, - or @ is prefixed with ' so spreadsheets do not run it as a formula.
std::string csv_field(std::string_view text);

}  // namespace custody::inventory
