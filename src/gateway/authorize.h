// Per-call authorization at the MCP gateway (docs/mcp-gateway.md, "Per-call decisions"): every
// tools/call, resources/read and prompts/get is one question to the policy decision point, asked
// against the directory as it is at the moment of the call.
//
// The question: subject = the acting identity (the token's outermost act.sub, else sub), with the
// device verdict the token is bound to; action call_tool / read_resource / get_prompt; resource a
// Tool {name, server} / McpResource {uri, server} / Prompt {name, server} whose server is the route
// URL (the audience entitlements name); context {method, route, upstream, chain, depth, client,
// arguments}. Arguments become Cedar values: numbers that are not integers become their decimal
// text and nulls are dropped (Cedar has neither). When the active bundle's schema declares the
// action's context, what it does not declare is left out (Cedar records are closed): a policy on
// an argument needs the argument declared, e.g. `arguments?: {rows?: Long}`. A declared argument
// of the wrong type makes the question an error, which denies.
//
// When only @approval policies stand in the way, an approval of exactly this question (same
// arguments) that a human granted is found and waives them once (it must then be consumed in the
// write that records the call). A call the policies allow without one leaves approvals unused.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "gateway/caller.h"
#include "gateway/jsonrpc.h"
#include "gateway/route.h"
#include "policy/pdp.h"
#include "store/store.h"

namespace custody::gateway {

// What a call addresses: the method, the tool/prompt name or resource URI, and the arguments.
struct CallTarget {
  std::string method;  // tools/call | resources/read | prompts/get
  std::string name;    // tool or prompt name, or resource URI
  nlohmann::json arguments = nlohmann::json::object();
};

// nullopt for methods that are not authorized per call; an RpcRefusal (kInvalidParams) when
// the params lack the name/uri or carry arguments that are not an object.
struct TargetParse {
  std::optional<CallTarget> target;
  std::optional<RpcRefusal> refusal;
};
TargetParse call_target(const Message& message);

// `arguments` as a Cedar-compatible JSON value (see the file comment), at most `max_depth` deep
// (deeper parts become their JSON text).
nlohmann::json cedar_arguments(const nlohmann::json& arguments, int max_depth);

// The device verdict of a token's device for the policies: "trusted" only for an enrolled,
// unrevoked device whose last report is trusted and younger than `max_posture_age`; otherwise
// its verdict, "untrusted" for a stale report and "revoked"/"unknown" as the case may be.
Result<std::string> device_trust(store::Tx& tx, const std::string& device_id, Micros now,
                                 Micros max_posture_age);

struct CallDecision {
  policy::Question question;
  std::string outcome;  // permit | deny | approval_required
  std::vector<std::string> reasons;
  std::vector<std::string> errors;           // policy errors, "policy: message"
  std::vector<std::string> approval_labels;  // when approval_required
  std::optional<std::string> approval_used;  // an approval this call consumes
  std::int64_t policy_version = 0;
  std::string device_trust;  // "" when the token is not device-bound
};

struct DecideOptions {
  Micros max_posture_age = 0;
  int max_argument_depth = 16;
};

policy::Question call_question(const Route& route, const Caller& caller, const CallTarget& target,
                               const std::string& device_trust, int max_argument_depth);

Result<CallDecision> decide_call(store::Tx& tx, const policy::Pdp& pdp, const Route& route,
                                 const Caller& caller, const CallTarget& target, Micros now,
                                 const DecideOptions& options);

// tools/list filtering: which of `names` the caller may call (permit or approval_required with
// empty arguments), in one batch against one snapshot.
Result<std::vector<bool>> callable_tools(store::Tx& tx, const policy::Pdp& pdp, const Route& route,
                                         const Caller& caller,
                                         const std::vector<std::string>& names, Micros now,
                                         const DecideOptions& options);

}  // namespace custody::gateway
