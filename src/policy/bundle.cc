#include "policy/bundle.h"

#include "common/encoding.h"
#include "common/jcs.h"
#include "crypto/keyed_hash.h"
#include "policy/cedar/parser.h"
#include "policy/cedar/validator.h"

namespace custody::policy {
namespace {

int detail_int(const Error& e, const char* key) {
  auto it = e.details.find(key);
  if (it == e.details.end()) return 0;
  try {
    return std::stoi(it->second);
  } catch (...) {
    return 0;
  }
}

// The parser's messages start with "line L, column C: "; the error carries them as numbers.
std::string strip_position(const std::string& message) {
  if (message.rfind("line ", 0) != 0) return message;
  auto colon = message.find(": ");
  return colon == std::string::npos ? message : message.substr(colon + 2);
}

BundleError positioned(std::string file, const Error& e) {
  return {std::move(file), detail_int(e, "line"), detail_int(e, "column"), "",
          strip_position(e.message)};
}

}  // namespace

std::string_view schema_format_name(SchemaFormat format) {
  switch (format) {
    case SchemaFormat::kNone:
      return "";
    case SchemaFormat::kCedar:
      return "cedar";
    case SchemaFormat::kJson:
      return "json";
  }
  return "";
}

nlohmann::json BundleError::to_json() const {
  nlohmann::json j = {{"message", message}};
  if (!file.empty()) j["file"] = file;
  if (line > 0) j["line"] = line;
  if (column > 0) j["column"] = column;
  if (!policy_id.empty()) j["policy_id"] = policy_id;
  return j;
}

BundleResult compile_bundle(const BundleSource& source, std::size_t max_policies) {
  BundleResult result;
  auto bundle = std::make_unique<CompiledBundle>();

  if (source.schema_format != SchemaFormat::kNone) {
    Result<cedar::Schema> schema = Error::internal("unreachable");
    if (source.schema_format == SchemaFormat::kCedar) {
      schema = cedar::parse_cedar_schema(source.schema_text);
    } else {
      auto json = nlohmann::json::parse(source.schema_text, nullptr, false);
      if (json.is_discarded()) {
        schema = Error::invalid("the JSON schema is not valid JSON");
      } else {
        schema = cedar::parse_json_schema(json);
      }
    }
    if (!schema.ok()) {
      result.errors.push_back(positioned("schema", schema.error()));
    } else {
      bundle->schema = std::make_shared<const cedar::Schema>(std::move(schema).value());
    }
  }

  std::size_t position = 0;
  std::vector<cedar::Policy> all;
  for (const auto& file : source.files) {
    auto parsed = cedar::parse_policies(file.text);
    if (!parsed.ok()) {
      result.errors.push_back(positioned(file.name, parsed.error()));
      continue;
    }
    for (auto& p : *parsed) {
      auto id = p.annotations.find("id");
      p.id = id != p.annotations.end() ? id->second : "policy" + std::to_string(position);
      ++position;
      if (!bundle->file_of.emplace(p.id, file.name).second) {
        result.errors.push_back({file.name, 0, 0, p.id, "duplicate policy id \"" + p.id + "\""});
        continue;
      }
      all.push_back(std::move(p));
    }
  }
  if (all.size() > max_policies) {
    result.errors.push_back({"", 0, 0, "",
                             "the bundle has " + std::to_string(all.size()) +
                                 " policies; at most " + std::to_string(max_policies) +
                                 " are allowed"});
  }
  if (!result.errors.empty()) return result;

  // The waived set is built only when some policy asks for approvals (it doubles the memory).
  for (const auto& p : all) bundle->has_approvals |= p.annotations.count("approval") > 0;
  for (auto& p : all) {
    std::string id = p.id;
    bool needs_approval = p.effect == cedar::Effect::kForbid && p.annotations.count("approval");
    if (p.annotations.count("approval") && p.effect != cedar::Effect::kForbid) {
      result.errors.push_back(
          {bundle->file_of[id], 0, 0, id, "@approval belongs on forbid policies only"});
      continue;
    }
    if (bundle->has_approvals && !needs_approval) {
      if (Status s = bundle->waived.add(p); !s.ok())
        result.errors.push_back({bundle->file_of[id], 0, 0, id, s.error().message});
    }
    if (Status s = bundle->policies.add(std::move(p)); !s.ok())
      result.errors.push_back({bundle->file_of[id], 0, 0, id, s.error().message});
  }
  if (!result.errors.empty()) return result;

  if (bundle->schema) {
    for (const auto& e : cedar::validate(bundle->policies, *bundle->schema))
      result.errors.push_back({bundle->file_of[e.policy_id], 0, 0, e.policy_id, e.message});
    if (!result.errors.empty()) return result;
  }
  result.bundle = std::move(bundle);
  return result;
}

nlohmann::json bundle_to_json(const BundleSource& source) {
  nlohmann::json files = nlohmann::json::array();
  for (const auto& f : source.files) files.push_back({{"name", f.name}, {"text", f.text}});
  nlohmann::json j = {{"files", files}};
  if (source.schema_format != SchemaFormat::kNone)
    j["schema"] = {{"format", schema_format_name(source.schema_format)},
                   {"text", source.schema_text}};
  return j;
}

Result<BundleSource> bundle_from_json(const nlohmann::json& json) {
  if (!json.is_object()) return Error::invalid("the policy bundle must be a JSON object");
  BundleSource source;
  if (json.contains("policies")) {
    const auto& p = json["policies"];
    if (!p.is_string()) return Error::invalid("policies must be a string", "policies");
    source.files.push_back({"policies.cedar", p.get<std::string>()});
  }
  if (json.contains("files")) {
    const auto& files = json["files"];
    if (!files.is_array()) return Error::invalid("files must be an array", "files");
    for (const auto& f : files) {
      if (!f.is_object() || !f.contains("name") || !f["name"].is_string() || !f.contains("text") ||
          !f["text"].is_string())
        return Error::invalid("each file must be {\"name\": string, \"text\": string}", "files");
      std::string name = f["name"].get<std::string>();
      if (name.empty() || name.size() > 200)
        return Error::invalid("a file name must be 1..200 characters", "files");
      for (const auto& existing : source.files)
        if (existing.name == name)
          return Error::invalid("two files are named \"" + name + "\"", "files");
      source.files.push_back({std::move(name), f["text"].get<std::string>()});
    }
  }
  if (source.files.empty())
    return Error::invalid("give the policies: \"files\" (a list) or \"policies\" (one text)",
                          "files");
  if (json.contains("schema") && !json["schema"].is_null()) {
    const auto& s = json["schema"];
    if (!s.is_object()) return Error::invalid("schema must be an object", "schema");
    std::string format = s.value("format", "");
    if (format == "cedar") {
      if (!s.contains("text") || !s["text"].is_string())
        return Error::invalid("a cedar schema needs its text", "schema.text");
      source.schema_format = SchemaFormat::kCedar;
      source.schema_text = s["text"].get<std::string>();
    } else if (format == "json") {
      source.schema_format = SchemaFormat::kJson;
      if (s.contains("text") && s["text"].is_string()) {
        source.schema_text = s["text"].get<std::string>();
      } else if (s.contains("json") && s["json"].is_object()) {
        source.schema_text = s["json"].dump();
      } else {
        return Error::invalid("a json schema needs \"json\" (an object) or \"text\"",
                              "schema.json");
      }
    } else {
      return Error::invalid("schema.format must be \"cedar\" or \"json\"", "schema.format");
    }
  }
  return source;
}

std::string bundle_digest(const BundleSource& source) {
  auto canonical = jcs::canonicalize(bundle_to_json(source));
  // Canonicalization fails only for numbers the bundle never has; fall back to plain dump.
  return hex_encode(crypto::sha256(canonical.ok() ? *canonical : bundle_to_json(source).dump()));
}

}  // namespace custody::policy
