// The replay cache of one-time values (client assertion jti, DPoP proof jti): a value may be used
// once until it expires. Recorded inside the store work that issues the token, so of two
// concurrent requests with the same value exactly one commits; expired rows are reused in place
// and purged by purge_replay_cache().
#pragma once

#include <string>

#include "common/clock.h"
#include "common/result.h"
#include "store/store.h"

namespace custody::oauth {

// True when the value was recorded now; false when it is already recorded and not expired.
Result<bool> record_once(store::Tx& tx, const std::string& kind, const std::string& value,
                         Micros expires_at, Micros now);

// Deletes expired entries; returns how many.
Result<std::int64_t> purge_replay_cache(store::Tx& tx, Micros now);

}  // namespace custody::oauth
