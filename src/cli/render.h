// Human-readable rendering of API objects (docs/api.md): one object as aligned key/value lines,
// a list as a table. Missing or null members print as "-", so output stays aligned even when the
// server adds or omits optional members. Scripts should use --json instead of parsing this.
#pragma once

#include <nlohmann/json.hpp>
#include <ostream>
#include <string>

#include "cli/table.h"

namespace custody::cli {

// Responses keep the server's member order, so --json output reads like the API documents it.
using Json = nlohmann::ordered_json;

// A member as display text: strings as is, null/missing as "-", booleans as yes/no, numbers as
// JSON, arrays comma-joined, objects as compact JSON.
std::string member_text(const Json& object, const char* name);
// Labels map as "k1=v1,k2=v2" (sorted by key), "-" when empty.
std::string labels_text(const Json& labels);
// Entitlements and credentials: "revoked" when revoked_at is set, else "active"/"expired" from
// the server-computed `active` member, else "-".
std::string status_text(const Json& object);

void render_identity(std::ostream& out, const Json& identity);
void render_identity_table(std::ostream& out, const Json& items);
// The suspend/retire response {"identity": ..., "affected": [ids]}: the identity, then the
// identities it owned that were suspended along with it.
void render_lifecycle_result(std::ostream& out, const Json& result);

void render_entitlement(std::ostream& out, const Json& entitlement);
void render_entitlement_table(std::ostream& out, const Json& items);

Fields credential_fields(const Json& credential);
void render_credential(std::ostream& out, const Json& credential);
void render_credential_table(std::ostream& out, const Json& items);

Fields token_fields(const Json& token);
void render_token(std::ostream& out, const Json& token);
void render_token_table(std::ostream& out, const Json& items);

void render_audit_table(std::ostream& out, const Json& items);

}  // namespace custody::cli
