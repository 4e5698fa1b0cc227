// JSON shapes of directory objects (docs/api.md). Hashes and secrets are never written here.
#include "directory/json.h"

#include "common/clock.h"
#include "directory/principal.h"

namespace custody::directory {
namespace {

using nlohmann::json;

json opt_time(const std::optional<Micros>& t) {
  return t ? json(format_rfc3339(*t)) : json(nullptr);
}
json opt_text(const std::optional<std::string>& s) {
  return s ? json(*s) : json(nullptr);
}

}  // namespace

json to_json(const Identity& identity) {
  return json{{"id", identity.id},
              {"kind", kind_name(identity.kind)},
              {"display_name", identity.display_name},
              {"description", identity.description},
              {"labels", identity.labels},
              {"owner_id", opt_text(identity.owner_id)},
              {"state", state_name(identity.state)},
              {"version", identity.version},
              {"created_at", format_rfc3339(identity.created_at)},
              {"updated_at", format_rfc3339(identity.updated_at)}};
}

json to_json(const Entitlement& e, Micros now) {
  return json{{"id", e.id},
              {"identity_id", e.identity_id},
              {"scope", e.scope},
              {"resource", e.resource},
              {"tools", e.tools ? json(*e.tools) : json(nullptr)},
              {"expires_at", opt_time(e.expires_at)},
              {"granted_by", e.granted_by},
              {"justification", e.justification},
              {"created_at", format_rfc3339(e.created_at)},
              {"revoked_at", opt_time(e.revoked_at)},
              {"revoked_by", opt_text(e.revoked_by)},
              {"active", e.active_at(now)}};
}

json to_json(const Credential& c, Micros now) {
  json out{{"id", c.id},
           {"identity_id", c.identity_id},
           {"type", credential_type_name(c.type)},
           {"description", c.description},
           {"created_by", c.created_by},
           {"created_at", format_rfc3339(c.created_at)},
           {"expires_at", format_rfc3339(c.expires_at)},
           {"revoked_at", opt_time(c.revoked_at)},
           {"active", c.active_at(now)}};
  if (c.type == CredentialType::kJwk) {
    out["jwk_thumbprint"] = opt_text(c.jwk_thumbprint);
    // Stored by create_credential as compact JSON; a broken row shows null rather than failing
    // the whole response.
    json key = nullptr;
    if (c.public_jwk) key = json::parse(*c.public_jwk, nullptr, /*allow_exceptions=*/false);
    out["public_jwk"] = key.is_discarded() ? json(nullptr) : key;
  }
  return out;
}

json to_json(const AdminToken& token) {
  return json{{"id", token.id},
              {"role", role_name(token.role)},
              {"identity_id", opt_text(token.identity_id)},
              {"description", token.description},
              {"created_by", token.created_by},
              {"created_at", format_rfc3339(token.created_at)},
              {"expires_at", opt_time(token.expires_at)},
              {"revoked_at", opt_time(token.revoked_at)}};
}

}  // namespace custody::directory
