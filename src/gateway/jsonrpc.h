// JSON-RPC 2.0 as MCP's Streamable HTTP transport carries it: one message per POST body (MCP
// 2025-06-18 dropped batches), classified as a request, a notification or a response.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "common/result.h"

namespace custody::gateway {

// Standard and MCP error codes the gateway answers with (docs/mcp-gateway.md).
namespace rpc {
constexpr int kParseError = -32700;
constexpr int kInvalidRequest = -32600;
constexpr int kMethodNotFound = -32601;
constexpr int kInvalidParams = -32602;
constexpr int kInternalError = -32603;
constexpr int kUpstreamError = -32000;     // the upstream is unreachable, slow or broken
constexpr int kSessionNotFound = -32001;   // as the reference SDK answers an unknown session
constexpr int kDenied = -32003;            // custody: denied by policy or by the tool inventory
constexpr int kApprovalRequired = -32004;  // custody: held for a human's approval
}  // namespace rpc

enum class MessageKind { kRequest, kNotification, kResponse };

struct Message {
  MessageKind kind = MessageKind::kRequest;
  nlohmann::json id;  // null for notifications
  std::string method;
  nlohmann::json params;  // object, array or null
};

// A refusal of a body: the JSON-RPC code (kParseError or kInvalidRequest) and why.
struct RpcRefusal {
  int code = rpc::kInvalidRequest;
  std::string message;
};

// Parses one message. JSON deeper than `max_depth` or unparsable is kParseError; a batch (array),
// a non-object, a wrong "jsonrpc", an id that is neither string nor integer, a method that is not
// a string, params that are neither object nor array, or a response with both or neither of
// result and error are kInvalidRequest.
struct Parsed {
  bool ok = false;
  Message message;
  RpcRefusal refusal;
};
Parsed parse_message(std::string_view body, int max_depth);

// {"jsonrpc": "2.0", "id": id, "error": {"code", "message", "data"?}}.
nlohmann::json error_message(const nlohmann::json& id, int code, std::string_view message,
                             const nlohmann::json& data = nullptr);

}  // namespace custody::gateway
