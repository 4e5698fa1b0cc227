// libFuzzer target: arbitrary bytes as a Cedar policy file (tests/fuzz/run.sh runs it).
//
// Checks that parsing never crashes, hangs or overflows the stack (the depth limit of ParseLimits
// must hold for every construct), and that whatever parses can be indexed, linked and evaluated:
// each policy set that parses is authorized against a small fixed request and entity store that
// has a hierarchy, attributes and tags, so that conditions reach the evaluator's paths for
// attributes, `in`, tags and extension values instead of failing on the first missing entity.
#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string_view>

#include "policy/cedar/authorizer.h"
#include "policy/cedar/entities_json.h"
#include "policy/cedar/parser.h"
#include "policy/cedar/policy_set.h"

using namespace custody::cedar;

namespace {

const char* const kEntities = R"([
  {"uid": {"type": "User", "id": "alice"}, "parents": [{"type": "Group", "id": "admins"}],
   "attrs": {"age": 42, "name": "alice", "tags": ["a", "b"], "boss": {"__entity": {"type": "User", "id": "bob"}},
             "ip": {"__extn": {"fn": "ip", "arg": "10.0.0.1"}}, "rec": {"x": 1, "y": {"z": true}}},
   "tags": {"team": "blue", "level": 3}},
  {"uid": {"type": "User", "id": "bob"}, "parents": [], "attrs": {"age": -1}},
  {"uid": {"type": "Group", "id": "admins"}, "parents": [{"type": "Group", "id": "all"}], "attrs": {}},
  {"uid": {"type": "Photo", "id": "p1"}, "parents": [{"type": "Album", "id": "a1"}],
   "attrs": {"owner": {"__entity": {"type": "User", "id": "alice"}}, "size": 9223372036854775807,
             "price": {"__extn": {"fn": "decimal", "arg": "1.5"}}}},
  {"uid": {"type": "Action", "id": "view"}, "parents": [{"type": "Action", "id": "read"}], "attrs": {}}
])";

const EntityStore& store() {
  static const EntityStore entities = [] {
    auto loaded = entities_from_json(nlohmann::json::parse(kEntities), nullptr);
    if (!loaded.ok()) __builtin_trap();  // the fixture itself is wrong
    return std::move(loaded).value();
  }();
  return entities;
}

Request request() {
  Request r;
  r.principal = EntityUid::intern("User", "alice");
  r.action = EntityUid::intern("Action", "view");
  r.resource = EntityUid::intern("Photo", "p1");
  auto context = nlohmann::json::parse(
      R"({"mfa": true, "n": 7, "when": {"__extn": {"fn": "datetime", "arg": "2024-01-01"}}})");
  r.context = context_from_json(context, nullptr, r.action).value();
  return r;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  static const Request req = request();
  std::string_view text(reinterpret_cast<const char*>(data), size);
  // Both id conventions: @id annotations may collide, which add() must reject cleanly.
  for (bool use_id : {false, true}) {
    auto policies = PolicySet::parse(text, use_id);
    if (!policies.ok()) continue;
    (void)is_authorized(req, *policies, store());
    for (const Policy* t : policies->templates()) {
      (void)policies->link(t->id, t->id + "-linked", req.principal, req.resource);
    }
    (void)is_authorized(req, *policies, store());
  }
  (void)parse_expression(text);
  return 0;
}
