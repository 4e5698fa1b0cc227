#include "oauth/replay.h"

namespace custody::oauth {

Result<bool> record_once(store::Tx& tx, const std::string& kind, const std::string& value,
                         Micros expires_at, Micros now) {
  // An expired entry is overwritten in place (the WHERE of the upsert), a live one is kept and
  // nothing changes: 0 rows means a replay.
  CUSTODY_ASSIGN(auto changed,
                 tx.exec("INSERT INTO replay_cache (kind, value, expires_at) VALUES ($1, $2, $3) "
                         "ON CONFLICT (kind, value) DO UPDATE SET expires_at = excluded.expires_at "
                         "WHERE replay_cache.expires_at <= $4",
                         {kind, value, expires_at, now}));
  return changed > 0;
}

Result<std::int64_t> purge_replay_cache(store::Tx& tx, Micros now) {
  return tx.exec("DELETE FROM replay_cache WHERE expires_at <= $1", {now});
}

}  // namespace custody::oauth
