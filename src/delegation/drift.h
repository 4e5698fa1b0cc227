// Drift detection (docs/drift.md): what each identity was granted against what it used, from
// the delegation records (one per issued token). The report is the input of access reviews.
//
// For each identity (all that are not retired, or one), over two windows ending now:
//   usage window  [now - unused_for, now)   — the last `unused_for` (default 30 days);
//   recent window [now - recent_for, now)   — the last `recent_for` (default 7 days);
//   baseline      [now - unused_for, now - recent_for).
// Findings:
//   unused_entitlement    an entitlement in force for at least `unused_for` whose (scope,
//                         resource) no token of the identity (as client or actor) carried in the
//                         usage window;
//   scope_beyond_baseline a scope its tokens carried in the recent window but not in the baseline
//                         (reported only when the baseline has tokens: a new identity has none);
//   new_audience          an audience (a delegation target) its tokens reached in the recent window
//                         but not in the baseline (same condition).
// Reads at most `max_records` records per identity (the newest), so one busy identity cannot make
// the report unbounded; `truncated` says when that happened.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/result.h"
#include "store/store.h"

namespace custody::delegation {

struct DriftOptions {
  Micros unused_for = 30LL * 24 * 3600 * kMicrosPerSecond;
  Micros recent_for = 7LL * 24 * 3600 * kMicrosPerSecond;
  std::optional<std::string> identity;  // one identity, else every one that is not retired
  std::optional<std::string> after;     // page cursor: identity ids greater than this
  int limit = 100;                      // identities per page
  int max_records = 10'000;             // per identity
};

struct DriftReport {
  nlohmann::json items = nlohmann::json::array();  // identities with at least one finding
  std::optional<std::string> next_cursor;
};

Result<DriftReport> drift_report(store::Tx& tx, const DriftOptions& options, Micros now);

}  // namespace custody::delegation
