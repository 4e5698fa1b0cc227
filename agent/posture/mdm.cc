#include "posture/mdm.h"

#include <array>

namespace custody::posture {

namespace {

// Management (MDM/UEM) agents first, then endpoint security agents managed from a console.
constexpr std::array<MdmAgent, 12> kAgents = {{
    {"microsoft-intune", "/opt/microsoft/intune"},
    {"canonical-landscape", "/etc/landscape/client.conf"},
    {"jamf", "/opt/jamf"},
    {"jumpcloud", "/opt/jc"},
    {"vmware-workspace-one", "/opt/vmware/ws1-hub"},
    {"manageengine", "/usr/local/manageengine/uems_agent"},
    {"fleet", "/opt/orbit"},
    {"kolide", "/usr/local/kolide-k2"},
    {"tanium", "/opt/Tanium/TaniumClient"},
    {"microsoft-defender", "/opt/microsoft/mdatp"},
    {"crowdstrike-falcon", "/opt/CrowdStrike"},
    {"sentinelone", "/opt/sentinelone"},
}};

}  // namespace

std::span<const MdmAgent> mdm_agents() {
  return kAgents;
}

MdmInfo collect_mdm(const RootFiles& root) {
  MdmInfo info;
  info.known = true;
  for (const auto& agent : kAgents) {
    if (root.exists(agent.path)) {
      info.enrolled = true;
      info.vendor = std::string(agent.vendor);
      break;
    }
  }
  return info;
}

}  // namespace custody::posture
