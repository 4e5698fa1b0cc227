#include "cli/render.h"

#include <algorithm>
#include <vector>

#include "cli/table.h"

namespace custody::cli {
namespace {

std::string value_text(const Json& value) {
  if (value.is_null()) return "-";
  if (value.is_string()) return value.get<std::string>();
  if (value.is_boolean()) return value.get<bool>() ? "yes" : "no";
  if (value.is_array()) {
    if (value.empty()) return "-";
    std::string out;
    for (const Json& item : value) {
      if (!out.empty()) out += ",";
      out += value_text(item);
    }
    return out;
  }
  return value.dump();
}

const Json& member(const Json& object, const char* name) {
  static const Json kNull;
  if (!object.is_object()) return kNull;
  auto it = object.find(name);
  return it == object.end() ? kNull : *it;
}

// Table rows from an {"items": [...]}-style array; tolerate a non-array by rendering nothing.
template <class Row>
void render_rows(std::ostream& out, std::vector<std::string> headers, const Json& items, Row row) {
  Table table(std::move(headers));
  if (items.is_array()) {
    for (const Json& item : items) table.add_row(row(item));
  }
  table.render(out);
}

}  // namespace

std::string member_text(const Json& object, const char* name) {
  return value_text(member(object, name));
}

std::string labels_text(const Json& labels) {
  if (!labels.is_object() || labels.empty()) return "-";
  std::vector<std::string> pairs;
  for (const auto& [key, value] : labels.items()) pairs.push_back(key + "=" + value_text(value));
  std::sort(pairs.begin(), pairs.end());  // stable output whatever order the server used
  std::string out;
  for (const auto& pair : pairs) {
    if (!out.empty()) out += ",";
    out += pair;
  }
  return out;
}

std::string status_text(const Json& object) {
  const Json& revoked = member(object, "revoked_at");
  if (!revoked.is_null()) return "revoked";
  const Json& active = member(object, "active");
  if (active.is_boolean()) return active.get<bool>() ? "active" : "expired";
  return "-";
}

void render_identity(std::ostream& out, const Json& identity) {
  render_fields(out, {{"id", member_text(identity, "id")},
                      {"kind", member_text(identity, "kind")},
                      {"name", member_text(identity, "display_name")},
                      {"description", member_text(identity, "description")},
                      {"state", member_text(identity, "state")},
                      {"owner", member_text(identity, "owner_id")},
                      {"labels", labels_text(member(identity, "labels"))},
                      {"version", member_text(identity, "version")},
                      {"created", member_text(identity, "created_at")},
                      {"updated", member_text(identity, "updated_at")}});
}

void render_identity_table(std::ostream& out, const Json& items) {
  render_rows(out, {"ID", "KIND", "NAME", "STATE", "OWNER", "UPDATED"}, items, [](const Json& i) {
    return std::vector<std::string>{member_text(i, "id"),           member_text(i, "kind"),
                                    member_text(i, "display_name"), member_text(i, "state"),
                                    member_text(i, "owner_id"),     member_text(i, "updated_at")};
  });
}

void render_lifecycle_result(std::ostream& out, const Json& result) {
  render_identity(out, member(result, "identity"));
  const Json& affected = member(result, "affected");
  if (affected.is_array() && !affected.empty()) {
    // Offboarding a human suspends what it owns (docs/api.md); say so, it is easy to miss.
    out << "\nsuspended " << affected.size() << (affected.size() == 1 ? " identity" : " identities")
        << " owned by it:\n";
    for (const Json& id : affected) out << "  " << sanitize(value_text(id)) << "\n";
  }
}

void render_entitlement(std::ostream& out, const Json& e) {
  render_fields(out, {{"id", member_text(e, "id")},
                      {"identity", member_text(e, "identity_id")},
                      {"scope", member_text(e, "scope")},
                      {"resource", member_text(e, "resource")},
                      {"tools", member_text(e, "tools")},
                      {"expires", member_text(e, "expires_at")},
                      {"status", status_text(e)},
                      {"granted by", member_text(e, "granted_by")},
                      {"justification", member_text(e, "justification")},
                      {"created", member_text(e, "created_at")},
                      {"revoked", member_text(e, "revoked_at")}});
}

void render_entitlement_table(std::ostream& out, const Json& items) {
  render_rows(
      out, {"ID", "SCOPE", "RESOURCE", "TOOLS", "EXPIRES", "STATUS"}, items, [](const Json& e) {
        return std::vector<std::string>{member_text(e, "id"),         member_text(e, "scope"),
                                        member_text(e, "resource"),   member_text(e, "tools"),
                                        member_text(e, "expires_at"), status_text(e)};
      });
}

Fields credential_fields(const Json& c) {
  Fields fields = {{"id", member_text(c, "id")},
                   {"identity", member_text(c, "identity_id")},
                   {"type", member_text(c, "type")},
                   {"description", member_text(c, "description")},
                   {"status", status_text(c)},
                   {"created", member_text(c, "created_at")},
                   {"expires", member_text(c, "expires_at")},
                   {"revoked", member_text(c, "revoked_at")}};
  if (member(c, "type") == "jwk")
    fields.emplace_back("thumbprint", member_text(c, "jwk_thumbprint"));
  return fields;
}

void render_credential(std::ostream& out, const Json& c) {
  render_fields(out, credential_fields(c));
}

void render_credential_table(std::ostream& out, const Json& items) {
  render_rows(
      out, {"ID", "TYPE", "DESCRIPTION", "CREATED", "EXPIRES", "STATUS"}, items, [](const Json& c) {
        return std::vector<std::string>{member_text(c, "id"),          member_text(c, "type"),
                                        member_text(c, "description"), member_text(c, "created_at"),
                                        member_text(c, "expires_at"),  status_text(c)};
      });
}

Fields token_fields(const Json& t) {
  return {{"id", member_text(t, "id")},
          {"role", member_text(t, "role")},
          {"identity", member_text(t, "identity_id")},
          {"description", member_text(t, "description")},
          {"created", member_text(t, "created_at")},
          {"created by", member_text(t, "created_by")},
          {"expires", member_text(t, "expires_at")},
          {"revoked", member_text(t, "revoked_at")}};
}

void render_token(std::ostream& out, const Json& t) {
  render_fields(out, token_fields(t));
}

void render_token_table(std::ostream& out, const Json& items) {
  render_rows(out, {"ID", "ROLE", "IDENTITY", "DESCRIPTION", "CREATED", "EXPIRES", "REVOKED"},
              items, [](const Json& t) {
                return std::vector<std::string>{
                    member_text(t, "id"),          member_text(t, "role"),
                    member_text(t, "identity_id"), member_text(t, "description"),
                    member_text(t, "created_at"),  member_text(t, "expires_at"),
                    member_text(t, "revoked_at")};
              });
}

void render_audit_table(std::ostream& out, const Json& items) {
  render_rows(out, {"TIME", "ACTION", "OUTCOME", "ACTOR", "TARGET", "ID"}, items,
              [](const Json& e) {
                return std::vector<std::string>{member_text(e, "time"),    member_text(e, "action"),
                                                member_text(e, "outcome"), member_text(e, "actor"),
                                                member_text(e, "target"),  member_text(e, "id")};
              });
}

}  // namespace custody::cli
