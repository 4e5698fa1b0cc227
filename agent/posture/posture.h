// The device posture model: what custody-agent reports about the machine it runs on, section by
// section, for custodyd to decide whether the device is trusted (docs/posture.md). posture_json.h
// writes and reads it in the one JSON shape the server consumes.
//
// Every section has `known`: true when the collector could determine the section's facts, false
// when it could not (missing file, no permission, a container, a legacy BIOS, a headless host).
// When known is false the other fields hold their defaults below and the report's warnings say
// why. A consumer must never read "not encrypted" into an unknown disk_encryption section.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace custody::posture {

struct OsInfo {
  bool known = false;
  std::string id;           // os-release ID, e.g. "debian"
  std::string version_id;   // VERSION_ID, e.g. "12"
  std::string version;      // VERSION, e.g. "12 (bookworm)"
  std::string name;         // NAME, e.g. "Debian GNU/Linux"
  std::string pretty_name;  // PRETTY_NAME
};

struct KernelInfo {
  bool known = false;
  std::string release;  // /proc/sys/kernel/osrelease, e.g. "6.1.0-18-amd64"
  std::string version;  // /proc/sys/kernel/version, e.g. "#1 SMP PREEMPT_DYNAMIC ..."
};

struct UpdatesInfo {
  bool known = false;
  std::string manager;  // "apt", "dnf", or "" when unknown
  std::int64_t pending = 0;
  std::int64_t pending_security = 0;  // of pending, those from a security suite
};

struct DiskEncryptionInfo {
  bool known = false;
  bool root_encrypted = false;
  std::string method = "none";  // "luks2", "luks1", "dm-crypt" or "none"
  std::string device;           // the root filesystem's device as mounted, "/dev/mapper/root"
};

struct FirewallInfo {
  bool known = false;
  bool active = false;  // at least one rule, or a DROP/REJECT policy on a base chain
  std::string backend;  // "nftables", "iptables", or "" when unknown
  std::int64_t rules = 0;
};

struct SecureBootInfo {
  bool known = false;
  bool enabled = false;
};

struct ScreenLockInfo {
  bool known = false;
  bool enabled = false;
};

struct MdmInfo {
  bool known = false;
  bool enrolled = false;
  std::string vendor;  // stable id of the first management agent found, "" when none
};

struct AgentInfo {
  std::string version;
};

// AI clients and MCP servers found by the discovery scan (agent/discovery), by fingerprint only:
// no secrets, no launch definitions.
struct AiComponentsInfo {
  bool known = false;
  std::int64_t count = 0;
  std::vector<std::string> fingerprints;
};

struct Posture {
  std::int64_t collected_at = 0;   // Unix seconds
  std::int64_t collection_ms = 0;  // wall time the collection took
  OsInfo os;
  KernelInfo kernel;
  UpdatesInfo updates;
  DiskEncryptionInfo disk_encryption;
  FirewallInfo firewall;
  SecureBootInfo secure_boot;
  ScreenLockInfo screen_lock;
  MdmInfo mdm;
  AgentInfo agent;
  AiComponentsInfo ai_components;
  std::vector<std::string> warnings;  // one line each: what could not be determined and why
};

}  // namespace custody::posture
