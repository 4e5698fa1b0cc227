// The default policy bundle shipped in policies/ (embedded at build time; docs/policy.md), and
// its installation as version 1 of a new store's policies.
#pragma once

#include "common/clock.h"
#include "common/result.h"
#include "policy/bundle.h"
#include "store/store.h"

namespace custody::policy {

// policies/*.cedar and policies/custody.cedarschema.
BundleSource default_bundle();

// When the store has no policy version yet, stores the default bundle as a new version, makes it
// active and audits it (actor "system"). Returns whether it did. Idempotent.
Result<bool> install_default_policies(store::Tx& tx, Micros now);

}  // namespace custody::policy
