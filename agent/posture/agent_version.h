// The version custody-agent reports about itself (the posture report's agent.version, --version).
// One constant, raised with each release of the agent.
#pragma once

#define CUSTODY_AGENT_VERSION "0.1.0"
