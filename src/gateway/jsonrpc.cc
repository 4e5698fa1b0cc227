#include "gateway/jsonrpc.h"

namespace custody::gateway {
namespace {

Parsed refused(int code, std::string message) {
  Parsed p;
  p.refusal = {code, std::move(message)};
  return p;
}

}  // namespace

Parsed parse_message(std::string_view body, int max_depth) {
  nlohmann::json j;
  // The depth is checked while parsing so that a deeply nested body cannot exhaust the stack.
  bool deep = false;
  nlohmann::json::parser_callback_t cb = [&](int depth, nlohmann::json::parse_event_t event,
                                             nlohmann::json&) {
    if ((event == nlohmann::json::parse_event_t::object_start ||
         event == nlohmann::json::parse_event_t::array_start) &&
        depth + 1 > max_depth)
      deep = true;
    return !deep;
  };
  try {
    j = nlohmann::json::parse(body, cb);
  } catch (const nlohmann::json::exception&) {
    if (deep)
      return refused(rpc::kParseError,
                     "the message nests deeper than " + std::to_string(max_depth) + " levels");
    return refused(rpc::kParseError, "the body is not JSON");
  }
  if (deep)
    return refused(rpc::kParseError,
                   "the message nests deeper than " + std::to_string(max_depth) + " levels");
  if (j.is_array())
    return refused(rpc::kInvalidRequest,
                   "JSON-RPC batches are not supported (MCP 2025-06-18 removed them)");
  if (!j.is_object()) return refused(rpc::kInvalidRequest, "a JSON-RPC message is an object");
  auto version = j.find("jsonrpc");
  if (version == j.end() || *version != "2.0")
    return refused(rpc::kInvalidRequest, "\"jsonrpc\" must be \"2.0\"");
  Parsed p;
  Message& m = p.message;
  auto id = j.find("id");
  if (id != j.end()) {
    if (!id->is_string() && !id->is_number_integer())
      return refused(rpc::kInvalidRequest, "\"id\" must be a string or an integer");
    m.id = *id;
  }
  auto method = j.find("method");
  if (method != j.end()) {
    if (!method->is_string() || method->get_ref<const std::string&>().empty())
      return refused(rpc::kInvalidRequest, "\"method\" must be a non-empty string");
    m.method = method->get<std::string>();
    auto params = j.find("params");
    if (params != j.end()) {
      if (!params->is_object() && !params->is_array())
        return refused(rpc::kInvalidRequest, "\"params\" must be an object or an array");
      m.params = std::move(*params);  // moved, not copied: the rest of `j` is not kept
    }
    m.kind = id == j.end() ? MessageKind::kNotification : MessageKind::kRequest;
  } else {
    if (id == j.end()) return refused(rpc::kInvalidRequest, "a message needs a method or an id");
    bool result = j.contains("result"), error = j.contains("error");
    if (result == error)
      return refused(rpc::kInvalidRequest, "a response has exactly one of result and error");
    m.kind = MessageKind::kResponse;
  }
  p.ok = true;
  return p;
}

nlohmann::json error_message(const nlohmann::json& id, int code, std::string_view message,
                             const nlohmann::json& data) {
  nlohmann::json error = {{"code", code}, {"message", message}};
  if (!data.is_null()) error["data"] = data;
  return {{"jsonrpc", "2.0"}, {"id", id}, {"error", std::move(error)}};
}

}  // namespace custody::gateway
