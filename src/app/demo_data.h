// Demo identities for a first look (custodyd --demo): a human owner, an agent, an MCP server and
// a service, with entitlements. Written only into a store that has no identities yet.
#pragma once

#include "common/clock.h"
#include "common/result.h"
#include "store/store.h"

namespace custody::app {

// Returns true when demo data was written, false when the store already had identities.
Result<bool> seed_demo_data(store::Store& store, const Clock& clock);

}  // namespace custody::app
