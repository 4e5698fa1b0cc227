// libFuzzer target: arbitrary bytes as a schema, in the human-readable format and (when the bytes
// are JSON) in the JSON format (tests/fuzz/run.sh runs it). A schema that parses is used to
// validate a fixed policy set, which walks every declared type.
#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string_view>

#include "policy/cedar/policy_set.h"
#include "policy/cedar/schema.h"
#include "policy/cedar/validator.h"

using namespace custody::cedar;

namespace {

const char* const kPolicies = R"(
permit (principal, action, resource) when { principal.age > 18 && resource.owner == principal };
permit (principal is User in Group::"g", action in [Action::"view", Action::"read"], resource)
  when { context.n + 1 < 10 && principal.hasTag("x") && principal.getTag("x") == "y" };
forbid (principal, action, resource) unless { principal has ip && principal.ip.isInRange(ip("10.0.0.0/8")) };
)";

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  static const PolicySet policies = PolicySet::parse(kPolicies).value();
  std::string_view text(reinterpret_cast<const char*>(data), size);
  if (auto schema = parse_cedar_schema(text); schema.ok()) (void)validate(policies, *schema);
  auto json = nlohmann::json::parse(data, data + size, nullptr, /*allow_exceptions=*/false);
  if (!json.is_discarded()) {
    if (auto schema = parse_json_schema(json); schema.ok()) (void)validate(policies, *schema);
  }
  return 0;
}
