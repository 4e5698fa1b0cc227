// Who is calling the admin API, and the context of one operation. Every directory operation
// takes an OpContext, checks the principal's role itself (defence in depth: the HTTP layer is not
// the only gate), and records the principal as the actor of the audit event it writes.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "common/clock.h"

namespace custody::directory {

enum class Role { kAdmin, kAuditor, kOwner };
std::string_view role_name(Role role);  // "admin", "auditor", "owner"
std::optional<Role> parse_role(std::string_view name);

struct Principal {
  std::string token_id;  // tok_… of the admin token used; "system" for custody
  Role role = Role::kAdmin;
  std::optional<std::string> human_id;  // owner role: the human this token acts for

  // The actor recorded in audit events: the human when there is one, else the token id.
  std::string actor() const { return human_id ? *human_id : token_id; }
  bool can_write() const { return role != Role::kAuditor; }
};

// The principal custody itself uses (init, demo data).
Principal system_principal();

struct OpContext {
  const Principal& who;
  std::string request_id;
  Micros now = 0;
};

}  // namespace custody::directory
