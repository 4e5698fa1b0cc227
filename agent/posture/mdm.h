// Enrolment in device management: the presence, under the scanned root, of the files a known
// Linux management agent installs. Presence is what is checked, not whether the agent is healthy
// or its enrolment current. Always known (a path exists or does not); enrolled when one matched,
// vendor the stable id of the first in kMdmAgents order.
#pragma once

#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "posture/posture.h"
#include "posture/root_files.h"

namespace custody::posture {

struct MdmAgent {
  std::string_view vendor;  // stable id reported as mdm.vendor
  std::string_view path;    // absolute, as seen from the scanned root
};

// The agents recognised, in the order they are tried.
std::span<const MdmAgent> mdm_agents();

MdmInfo collect_mdm(const RootFiles& root);

}  // namespace custody::posture
