// Parser for Cedar policies (https://docs.cedarpolicy.com/policies/syntax-grammar.html).
//
// Supports the full policy grammar: annotations, permit/forbid, principal/action/resource scopes
// (==, in, is, is … in, action in [..]), templates with ?principal/?resource, when/unless
// conditions and the whole expression language. Errors are invalid-argument Errors whose message
// starts with "line L, column C:" (also in details "line"/"column").
//
// Nesting is bounded (ParseLimits) so that hostile input yields an error, not a stack overflow.
#pragma once

#include <optional>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "policy/cedar/ast.h"

namespace custody::cedar {

struct ParseLimits {
  // Deepest accepted expression tree (parentheses, operators, calls all count). Long chains of
  // && and || are flattened and do not count per element. Parsing takes about 4 KiB of stack per
  // level of parentheses, so the default needs < 1 MiB; evaluation needs less.
  int max_depth = 200;
};

// Parses a policy file. Policies and templates come back in source order with ids "policy0",
// "policy1", … by position (annotations such as @id do not rename them; callers may).
Result<std::vector<Policy>> parse_policies(std::string_view source, ParseLimits limits = {});

// Parses one expression, e.g. for tests or for request contexts written in Cedar.
Result<Expr> parse_expression(std::string_view source, ParseLimits limits = {});

// Parses an entity uid written in Cedar syntax: Namespace::Type::"id".
Result<EntityUid> parse_entity_uid(std::string_view source);

// Instantiates a template: replaces ?principal / ?resource with the given uids. Errors when a slot
// of the template has no value or a value is given for a slot the template does not have.
Result<Policy> link_template(const Policy& tmpl, std::string new_id,
                             std::optional<EntityUid> principal, std::optional<EntityUid> resource);

}  // namespace custody::cedar
