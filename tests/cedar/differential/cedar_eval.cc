// Evaluates Cedar test cases with custody's engine for the differential test against the official
// engine (tests/interop/cedar-differential.test.js, which sends the same cases to cedar-wasm).
//
// Reads JSON lines on stdin, one test case each:
//   {"policies": "<Cedar policy text>", "entities": [<entity JSON>...],
//    "requests": [{"principal": uid, "action": uid, "resource": uid, "context": {...}}, ...]}
// and writes one JSON line per request, in order:
//   {"decision": "allow"|"deny", "reason": [ids, sorted], "errors": [ids, sorted]}
// or {"failure": "<why>"} when the case or request cannot be evaluated at all (policies do not
// parse, entities or context do not load), which cedar-wasm reports as a failed call. Policy ids
// are "policy0", "policy1", … by position, as cedar-wasm names the policies of a text. No schema:
// values are read by their JSON shape, as cedar-wasm does without one.
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>

#include "../request_json.h"
#include "policy/cedar/authorizer.h"
#include "policy/cedar/entities_json.h"
#include "policy/cedar/policy_set.h"

using namespace custody;
using namespace custody::cedar;
using nlohmann::json;

namespace {

json failure(const std::string& why) {
  return json{{"failure", why}};
}

// One output line per request of the case (at least one when the case itself is malformed).
void evaluate_case(const json& c, std::ostream& out) {
  const json requests = c.is_object() ? c.value("requests", json::array()) : json::array();
  std::size_t count = requests.is_array() && !requests.empty() ? requests.size() : 1;
  auto fail_all = [&](const std::string& why) {
    for (std::size_t i = 0; i < count; ++i) out << failure(why).dump() << "\n";
  };
  if (!c.is_object() || !c.contains("policies") || !c["policies"].is_string()) {
    return fail_all("case needs a \"policies\" string");
  }
  auto policies = PolicySet::parse(c["policies"].get<std::string>());
  if (!policies.ok()) return fail_all("policies: " + policies.error().message);
  auto entities = entities_from_json(c.value("entities", json::array()), nullptr);
  if (!entities.ok()) return fail_all("entities: " + entities.error().message);
  if (!requests.is_array() || requests.empty()) return fail_all("case has no requests");
  for (const auto& r : requests) {
    auto request = testing::request_from_json(r, nullptr);
    if (!request.ok()) {
      out << failure("request: " + request.error().message).dump() << "\n";
      continue;
    }
    testing::Answer a = testing::answer_of(is_authorized(*request, *policies, *entities));
    out << json{{"decision", a.decision}, {"reason", a.reasons}, {"errors", a.errors}}.dump()
        << "\n";
  }
}

}  // namespace

int main() {
  std::ios::sync_with_stdio(false);
  std::string line;
  while (std::getline(std::cin, line)) {
    if (line.empty()) continue;
    json c = json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (c.is_discarded()) {
      std::cout << failure("bad JSON line").dump() << "\n";
    } else {
      evaluate_case(c, std::cout);
    }
    std::cout.flush();  // the caller may wait for each answer before sending the next case
  }
  return 0;
}
