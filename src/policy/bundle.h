// A policy bundle: the Cedar policy files and the optional schema of one version of the policy
// store, and their compiled form. Pure: no store, no HTTP, no clock.
//
// Policy ids: a policy's @id annotation when it has one, else "policy<N>" where N counts the
// policies of the whole bundle in file order from 0 (for a one-file bundle, the ids the Cedar CLI
// gives). Two policies with the same id are an error.
//
// Errors: every file is parsed, and each file that fails contributes its error (the parser stops
// at a file's first error), with the file name, line and column. Only when all files parse is the
// set validated against the schema (Cedar strict mode); each validation error names its policy
// and the file the policy came from.
#pragma once

#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"
#include "policy/cedar/policy_set.h"
#include "policy/cedar/schema.h"

namespace custody::policy {

struct PolicyFile {
  std::string name;  // as the author knows it (a file name); shown in errors
  std::string text;  // Cedar policy text
};

enum class SchemaFormat { kNone, kCedar, kJson };
std::string_view schema_format_name(SchemaFormat format);  // "", "cedar", "json"

struct BundleSource {
  std::vector<PolicyFile> files;
  SchemaFormat schema_format = SchemaFormat::kNone;
  std::string schema_text;  // the .cedarschema text or the JSON schema document's text
};

struct BundleError {
  std::string file;       // "" when the error is not about one file (e.g. the schema's is "schema")
  int line = 0;           // 1-based; 0 when unknown
  int column = 0;         // 1-based; 0 when unknown
  std::string policy_id;  // validation errors: the policy
  std::string message;
  nlohmann::json to_json() const;
};

// Human checkpoints: a forbid policy annotated @approval("<label>") forbids unless a human
// approves (docs/approvals.md). `waived` is the set without those policies: a request that it
// allows but `policies` forbids only through @approval policies needs an approval, and an
// approved request is decided by `waived`.
struct CompiledBundle {
  cedar::PolicySet policies;
  cedar::PolicySet waived;
  bool has_approvals = false;                   // some policy carries @approval
  std::shared_ptr<const cedar::Schema> schema;  // null when the bundle has none
  std::map<std::string, std::string> file_of;   // policy id → file name
};

struct BundleResult {
  std::unique_ptr<CompiledBundle> bundle;  // set when errors is empty
  std::vector<BundleError> errors;
};

// Parses, assigns ids and validates (see the file comment). `max_policies` bounds the bundle.
BundleResult compile_bundle(const BundleSource& source, std::size_t max_policies = 1'000'000);

// {"files": [{"name", "text"}], "schema": {"format": "cedar"|"json", "text"}?}: the stored form.
nlohmann::json bundle_to_json(const BundleSource& source);
// Reads the stored form and the API's request form, which also accepts "policies" as one string
// (a single file named "policies.cedar") and a JSON schema given as an object under "schema".
Result<BundleSource> bundle_from_json(const nlohmann::json& json);

// SHA-256 (hex) of bundle_to_json's canonical text: equal bundles have equal digests.
std::string bundle_digest(const BundleSource& source);

}  // namespace custody::policy
