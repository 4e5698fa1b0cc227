// The two shapes every admin API handler takes, so that authentication, error mapping and the
// auditing of refusals are written once:
//  - read_operation: authenticates and runs `body` on a read connection, answering at once;
//  - write_operation: authenticates, then queues `body` for the group-commit writer and answers
//    only after the commit is durable (the mutation and its audit event commit together).
// Any refusal (bad token, bad input, domain error) is written as an audit event with the
// refusal's code as outcome, durably, before the problem response goes out. A refusal changes
// nothing else.
#pragma once

#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "api/context.h"
#include "common/result.h"
#include "directory/principal.h"
#include "http/message.h"

namespace custody::api {

// Produces the response from inside the store callback. Returning an error refuses the request.
using OperationBody =
    std::function<Result<http::Response>(store::Tx&, const directory::OpContext&)>;

// Checks and parses the request's input (body, query, headers) into the handler's own state.
// Runs on the io thread after authentication, so an unauthenticated caller learns nothing about
// input validation and every validation refusal is attributed to the caller.
using Validate = std::function<Status()>;

// `action` names the attempted action in the refusal's audit event; `target` its object.
// `validate` may be null.
void read_operation(ApiContext& api, http::Request& request, http::Responder respond,
                    std::string action, std::string target, Validate validate, OperationBody body);
void write_operation(ApiContext& api, http::Request& request, http::Responder respond,
                     std::string action, std::string target, Validate validate, OperationBody body);

// The third shape, for requests that carry their own proof instead of an admin token (a device's
// signed JWT, docs/devices.md): `body` checks the proof and acts, inside one write, so that a
// one-time value it spends and the change it makes commit together. A refusal is audited under
// `actor` (the claimed device).
using SignedBody =
    std::function<Result<http::Response>(store::Tx&, const std::string& request_id, Micros now)>;
void signed_write(ApiContext& api, http::Request& request, http::Responder respond,
                  std::string actor, std::string action, std::string target, SignedBody body);

// Audits a refusal durably, then sends the problem response.
void refuse(ApiContext& api, const http::Request& request, http::Responder respond,
            const std::string& actor, const std::string& action, const std::string& target,
            const Error& error);

// The request's JSON object body under the configured depth limit (http::parse_json_object).
Result<nlohmann::json> json_body(const ApiContext& api, const http::Request& request);

// The reason a state change gives (revocations, approval decisions, identity transitions): an
// empty body, or {"reason": null}, keeps `fallback`; otherwise the JSON object may hold only
// "reason", a string of at most 2000 characters, and not empty unless `empty` accepts it
// (kInvalidArgument naming "reason" or the stray member otherwise).
enum class EmptyReason { kRefused, kAccepted };
Result<std::string> optional_reason(const ApiContext& api, const http::Request& request,
                                    std::string fallback,
                                    EmptyReason empty = EmptyReason::kRefused);
// A write_operation validation that reads optional_reason into `*reason`, for the work to use.
Validate validate_reason(const ApiContext& api, const http::Request& request,
                         std::shared_ptr<std::string> reason, std::string fallback,
                         EmptyReason empty = EmptyReason::kRefused);

// The request's bearer token; empty when absent or not a Bearer credential.
std::string_view bearer_token(const http::Request& request);

// Reads an optional If-Match header ("\"3\"", "3" or "W/\"3\"") as a version. A malformed value
// is kInvalidArgument.
Result<std::optional<std::int64_t>> if_match_version(const http::Request& request);

}  // namespace custody::api
