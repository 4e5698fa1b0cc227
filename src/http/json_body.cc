#include "http/json_body.h"

#include <algorithm>

namespace custody::http {

Result<nlohmann::json> parse_json_text(std::string_view text, int max_depth) {
  bool too_deep = false;
  auto cb = [&](int depth, nlohmann::json::parse_event_t event, nlohmann::json&) {
    if ((event == nlohmann::json::parse_event_t::object_start ||
         event == nlohmann::json::parse_event_t::array_start) &&
        depth >= max_depth) {
      too_deep = true;
    }
    return !too_deep;
  };
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(text.begin(), text.end(), cb, /*allow_exceptions=*/true);
  } catch (const nlohmann::json::parse_error& e) {
    if (too_deep)
      return Error::invalid("JSON nesting deeper than " + std::to_string(max_depth) + " levels");
    return Error::invalid("malformed JSON at byte " + std::to_string(e.byte));
  } catch (const std::exception&) {
    return Error::invalid("malformed JSON");
  }
  if (too_deep)
    return Error::invalid("JSON nesting deeper than " + std::to_string(max_depth) + " levels");
  return j;
}

Result<nlohmann::json> parse_json_object(const Request& request, int max_depth) {
  std::string_view ct = request.header("Content-Type");
  std::string_view media = ct.substr(0, ct.find(';'));
  while (!media.empty() && media.back() == ' ') media.remove_suffix(1);
  std::string lower(media);
  std::transform(lower.begin(), lower.end(), lower.begin(), ::tolower);
  if (lower != "application/json")
    return Error{Code::kUnsupportedMediaType, "the body must be application/json", "Content-Type"};
  CUSTODY_ASSIGN(nlohmann::json j, parse_json_text(request.body(), max_depth));
  if (!j.is_object()) return Error::invalid("the body must be a JSON object");
  return j;
}

Status check_members(const nlohmann::json& object,
                     std::initializer_list<std::string_view> allowed) {
  for (const auto& [key, _] : object.items()) {
    if (std::find(allowed.begin(), allowed.end(), key) == allowed.end())
      return Error::invalid("unknown member \"" + key + "\"", key);
  }
  return ok_status();
}

Result<std::optional<std::string>> opt_string(const nlohmann::json& o, const char* name) {
  auto it = o.find(name);
  if (it == o.end() || it->is_null()) return std::optional<std::string>();
  if (!it->is_string()) return Error::invalid(std::string(name) + " must be a string", name);
  return std::optional<std::string>(it->get<std::string>());
}

Result<std::string> req_string(const nlohmann::json& o, const char* name) {
  CUSTODY_ASSIGN(auto v, opt_string(o, name));
  if (!v) return Error::invalid(std::string(name) + " is required", name);
  return *v;
}

Result<std::optional<std::int64_t>> opt_int(const nlohmann::json& o, const char* name) {
  auto it = o.find(name);
  if (it == o.end() || it->is_null()) return std::optional<std::int64_t>();
  if (!it->is_number_integer())
    return Error::invalid(std::string(name) + " must be an integer", name);
  if (it->is_number_unsigned() && it->get<std::uint64_t>() > INT64_MAX)
    return Error::invalid(std::string(name) + " is out of range", name);
  return std::optional<std::int64_t>(it->get<std::int64_t>());
}

Result<std::optional<std::map<std::string, std::string>>> opt_string_map(const nlohmann::json& o,
                                                                         const char* name) {
  using Map = std::map<std::string, std::string>;
  auto it = o.find(name);
  if (it == o.end() || it->is_null()) return std::optional<Map>();
  if (!it->is_object())
    return Error::invalid(std::string(name) + " must be an object of strings", name);
  Map m;
  for (const auto& [k, v] : it->items()) {
    if (!v.is_string())
      return Error::invalid(std::string(name) + "." + k + " must be a string", name);
    m[k] = v.get<std::string>();
  }
  return std::optional<Map>(std::move(m));
}

Result<std::optional<std::vector<std::string>>> opt_string_list(const nlohmann::json& o,
                                                                const char* name) {
  using List = std::vector<std::string>;
  auto it = o.find(name);
  if (it == o.end() || it->is_null()) return std::optional<List>();
  if (!it->is_array())
    return Error::invalid(std::string(name) + " must be an array of strings", name);
  List l;
  for (const auto& v : *it) {
    if (!v.is_string())
      return Error::invalid(std::string(name) + " must be an array of strings", name);
    l.push_back(v.get<std::string>());
  }
  return std::optional<List>(std::move(l));
}

Result<std::optional<Micros>> opt_time(const nlohmann::json& o, const char* name) {
  CUSTODY_ASSIGN(auto s, opt_string(o, name));
  if (!s) return std::optional<Micros>();
  Micros t;
  if (!parse_rfc3339(*s, &t))
    return Error::invalid(std::string(name) + " must be an RFC 3339 time", name);
  return std::optional<Micros>(t);
}

}  // namespace custody::http
