// Signed tree heads. See tree_head.h.
#include "audit/tree_head.h"

#include "audit/merkle.h"
#include "common/encoding.h"
#include "common/jcs.h"

namespace custody::audit {

using nlohmann::json;

std::string tree_head_signing_input(const TreeHead& head) {
  // All names are ASCII and already in JCS order; all values ASCII strings or integers ≤ 2^53.
  std::string out = R"({"key_id":)";
  (void)jcs::append_string(head.key_id, out);
  out += R"(,"root_hash":")" + hex_encode(head.root_hash) + R"(","time":)" +
         std::to_string(head.time) + R"(,"tree_size":)" + std::to_string(head.tree_size) +
         R"(,"type":")" + std::string(kTreeHeadType) + R"("})";
  return out;
}

Status sign_tree_head(TreeHead& head, const crypto::Jwk& key) {
  head.key_id = key.kid();
  CUSTODY_ASSIGN(head.signature, key.sign(tree_head_signing_input(head)));
  return ok_status();
}

Status verify_tree_head(const TreeHead& head, const crypto::Jwk& key) {
  if (head.key_id != key.kid())
    return Error::unauthenticated("tree head signed by key " + head.key_id + ", expected " +
                                  key.kid());
  if (head.root_hash.size() != merkle::kHashSize)
    return Error::unauthenticated("tree head root hash is not 32 bytes");
  return key.verify(tree_head_signing_input(head), head.signature);
}

json to_json(const TreeHead& head) {
  return json{{"tree_size", head.tree_size}, {"root_hash", hex_encode(head.root_hash)},
              {"time", head.time},           {"timestamp", format_rfc3339(head.time)},
              {"key_id", head.key_id},       {"signature", base64url_encode(head.signature)}};
}

Result<TreeHead> tree_head_from_json(const json& j) {
  if (!j.is_object()) return Error::invalid("a tree head must be a JSON object");
  TreeHead h;
  auto member = [&](const char* name) -> Result<const json*> {
    auto it = j.find(name);
    if (it == j.end()) return Error::invalid(std::string("tree head lacks \"") + name + "\"", name);
    return &*it;
  };
  CUSTODY_ASSIGN(const json* size, member("tree_size"));
  CUSTODY_ASSIGN(const json* root, member("root_hash"));
  CUSTODY_ASSIGN(const json* time, member("time"));
  CUSTODY_ASSIGN(const json* kid, member("key_id"));
  CUSTODY_ASSIGN(const json* sig, member("signature"));
  if (!size->is_number_unsigned() && !(size->is_number_integer() && size->get<std::int64_t>() >= 0))
    return Error::invalid("tree_size must be a non-negative integer", "tree_size");
  h.tree_size = size->get<std::uint64_t>();
  if (!time->is_number_integer()) return Error::invalid("time must be an integer", "time");
  h.time = time->get<std::int64_t>();
  if (!kid->is_string()) return Error::invalid("key_id must be a string", "key_id");
  h.key_id = kid->get<std::string>();
  auto root_bytes = root->is_string() ? hex_decode(root->get<std::string>()) : std::nullopt;
  if (!root_bytes || root_bytes->size() != merkle::kHashSize)
    return Error::invalid("root_hash must be 64 hex digits", "root_hash");
  h.root_hash = *root_bytes;
  auto sig_bytes = sig->is_string() ? base64url_decode(sig->get<std::string>()) : std::nullopt;
  if (!sig_bytes) return Error::invalid("signature must be base64url", "signature");
  h.signature = *sig_bytes;
  return h;
}

}  // namespace custody::audit
