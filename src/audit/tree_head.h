// Signed tree heads (STH) of the audit log: (tree size, root hash, time) signed with the audit
// Ed25519 key. The signed bytes are the RFC 8785 (JCS) form of
//   {"key_id": kid, "root_hash": lowercase hex of the 32-byte root, "time": Unix epoch µs,
//    "tree_size": n, "type": "custody.audit.tree_head.v1"}
// i.e. exactly
//   {"key_id":"…","root_hash":"…","time":1790000000123456,"tree_size":42,
//    "type":"custody.audit.tree_head.v1"}
// (one line, no spaces): every value is ASCII, so any language can rebuild it without a JCS
// library. The signature is Ed25519 (RFC 8032) over those bytes, base64url without padding.
// docs/audit-integrity.md specifies the same for external verifiers.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "common/clock.h"
#include "common/result.h"
#include "crypto/jwk.h"

namespace custody::audit {

inline constexpr std::string_view kTreeHeadType = "custody.audit.tree_head.v1";

struct TreeHead {
  std::uint64_t tree_size = 0;
  std::string root_hash;  // 32 raw bytes
  Micros time = 0;
  std::string key_id;     // kid of the audit key (its RFC 7638 thumbprint)
  std::string signature;  // 64 raw bytes
};

// The bytes the signature covers (see above).
std::string tree_head_signing_input(const TreeHead& head);
// Fills key_id and signature.
Status sign_tree_head(TreeHead& head, const crypto::Jwk& key);
// OK when the signature verifies with `key` (whose kid must be head.key_id); kUnauthenticated
// otherwise.
Status verify_tree_head(const TreeHead& head, const crypto::Jwk& key);

// {"tree_size", "root_hash" (hex), "time" (µs), "timestamp" (RFC 3339), "key_id",
//  "signature" (base64url)}: the API's, the export file's and the witness's form.
nlohmann::json to_json(const TreeHead& head);
// The reverse; kInvalidArgument naming the bad member.
Result<TreeHead> tree_head_from_json(const nlohmann::json& j);

}  // namespace custody::audit
