// libFuzzer target: arbitrary bytes as an entities file (tests/fuzz/run.sh runs it).
//
// Bytes that are JSON are loaded with entities_from_json twice, without a schema (values read by
// their JSON shape) and with a small schema (values read by the declared types, which takes other
// paths: extension strings, entity references, enumerated ids, tags, the action hierarchy), and
// as a request context both ways. Checks that loading never crashes or hangs and that a store
// that loads answers a request.
#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string_view>

#include "policy/cedar/authorizer.h"
#include "policy/cedar/entities_json.h"
#include "policy/cedar/policy_set.h"
#include "policy/cedar/schema.h"

using namespace custody::cedar;

namespace {

const char* const kSchema = R"(
entity Group in [Group] { name: String };
entity User in [Group] { age: Long, ip?: ipaddr, boss?: User, groups: Set<Group>,
                         meta: { level: Long, since?: datetime } } tags String;
entity Photo { owner: User, price: decimal, ttl: duration };
entity Color enum ["red", "green"];
action read;
action view in [read] appliesTo { principal: [User], resource: [Photo, Color],
                                  context: { mfa: Bool, n?: Long } };
)";

const char* const kPolicies = R"(
permit (principal in Group::"admins", action == Action::"view", resource)
  when { principal.age > 18 && principal.meta.level >= 2 && context.mfa };
permit (principal, action, resource is Photo) when { resource.owner == principal };
forbid (principal, action, resource)
  when { principal has ip && principal.ip.isLoopback() } unless { principal.hasTag("vip") };
permit (principal, action, resource) when { principal.getTag("team") like "b*" };
)";

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  static const Schema schema = parse_cedar_schema(kSchema).value();
  static const PolicySet policies = PolicySet::parse(kPolicies).value();
  auto json = nlohmann::json::parse(data, data + size, nullptr, /*allow_exceptions=*/false);
  if (json.is_discarded()) return 0;
  Request request;
  request.principal = EntityUid::intern("User", "alice");
  request.action = EntityUid::intern("Action", "view");
  request.resource = EntityUid::intern("Photo", "p1");
  for (const Schema* s : {static_cast<const Schema*>(nullptr), &schema}) {
    auto entities = entities_from_json(json, s);
    if (entities.ok()) (void)is_authorized(request, policies, *entities);
    auto context = context_from_json(json, s, request.action);
    if (context.ok() && entities.ok()) {
      Request with_context = request;
      with_context.context = std::move(context).value();
      (void)is_authorized(with_context, policies, *entities);
    }
  }
  return 0;
}
