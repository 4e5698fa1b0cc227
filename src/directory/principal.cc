// Role names and the system principal. See principal.h.
#include "directory/principal.h"

namespace custody::directory {

std::string_view role_name(Role role) {
  switch (role) {
    case Role::kAdmin:
      return "admin";
    case Role::kAuditor:
      return "auditor";
    case Role::kOwner:
      return "owner";
  }
  return "unknown";
}

std::optional<Role> parse_role(std::string_view name) {
  if (name == "admin") return Role::kAdmin;
  if (name == "auditor") return Role::kAuditor;
  if (name == "owner") return Role::kOwner;
  return std::nullopt;
}

Principal system_principal() {
  return Principal{.token_id = "system", .role = Role::kAdmin, .human_id = std::nullopt};
}

}  // namespace custody::directory
