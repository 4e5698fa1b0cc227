// Runs the Cedar conformance corpus (../shared/cedar-corpus, see its README.md) through custody's
// Cedar engine and prints "N passed, M failed" per suite with the first failures and why.
//
//   cedar_corpus_runner [--corpus DIR] [--min-integration N] [--min-examples N]
//                       [--min-sandboxes N] [--show N] [--filter SUBSTRING]
//
// Exits non-zero when a suite passes fewer requests than its --min-* threshold (set by ctest to
// the current pass counts, so that a regression fails the build), or when the corpus is absent
// and --require-corpus is given. Suites:
//   integration  integration-tests/tests/**.json and corpus-tests/*.json: decision, reason set and
//                errors set of every request (entities and context parsed with the schema)
//   examples     examples/manifest.json apps: decision of every ALLOW/DENY request file
//   sandboxes    cli-sandboxes/manifest.json: decision, reasons ⊆ actual, error count
//   validation   strict validation of each policy set (one count per test file, example app and
//                sandbox) against shouldValidate (examples and sandboxes must validate)
#include <algorithm>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "policy/cedar/authorizer.h"
#include "policy/cedar/entities_json.h"
#include "policy/cedar/parser.h"
#include "policy/cedar/policy_set.h"
#include "policy/cedar/schema.h"
#include "policy/cedar/validator.h"
#include "request_json.h"

namespace fs = std::filesystem;
using namespace custody;
using namespace custody::cedar;

namespace {

struct Tally {
  std::string name;
  int passed = 0;
  int failed = 0;
  std::vector<std::string> failures;
  std::size_t show = 10;
  void pass() { ++passed; }
  void fail(std::string why) {
    ++failed;
    if (failures.size() < show) failures.push_back(std::move(why));
  }
  void print() const {
    std::cout << name << ": " << passed << " passed, " << failed << " failed\n";
    for (const auto& f : failures) std::cout << "  FAIL " << f << "\n";
  }
};

Result<std::string> read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Error::not_found("cannot read " + path.string());
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

Result<nlohmann::json> read_json(const fs::path& path) {
  CUSTODY_ASSIGN(std::string text, read_file(path));
  auto j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return Error::invalid("bad JSON in " + path.string());
  return j;
}

Result<Schema> read_schema(const fs::path& path) {
  CUSTODY_ASSIGN(std::string text, read_file(path));
  if (path.extension() == ".json") {
    auto j = nlohmann::json::parse(text, nullptr, false);
    if (j.is_discarded()) return Error::invalid("bad JSON in " + path.string());
    return parse_json_schema(j);
  }
  return parse_cedar_schema(text);
}

std::string join(const std::set<std::string>& s) {
  std::string out = "{";
  for (const auto& x : s) out += (out.size() > 1 ? "," : "") + x;
  return out + "}";
}

std::set<std::string> id_set(const nlohmann::json& j) {
  std::set<std::string> out;
  if (j.is_array()) {
    for (const auto& x : j) out.insert(x.get<std::string>());
  }
  return out;
}

// ---- integration tests ----

// Strict validation of one policy set, compared with the expected outcome.
void check_validation(const std::string& where, const PolicySet& policies, const Schema& schema,
                      bool expected, Tally& tally) {
  auto errors = validate(policies, schema);
  if (errors.empty() == expected) return tally.pass();
  std::string why = where + ": expected " + (expected ? "valid" : "invalid") + ", got " +
                    (errors.empty() ? "valid" : "invalid");
  if (!errors.empty()) why += " (" + errors[0].policy_id + ": " + errors[0].message + ")";
  tally.fail(why);
}

void run_integration_test(const fs::path& root, const fs::path& file, Tally& tally,
                          Tally& validation) {
  std::string name = fs::relative(file, root).string();
  auto test = read_json(file);
  if (!test.ok()) return tally.fail(name + ": " + test.error().message);
  const auto& t = *test;
  int requests = t.contains("requests") ? static_cast<int>(t["requests"].size()) : 0;
  auto fail_all = [&](const std::string& why) {
    for (int i = 0; i < requests; ++i) tally.fail(name + ": " + why);
  };
  auto schema = read_schema(root / t["schema"].get<std::string>());
  if (!schema.ok()) return fail_all("schema: " + schema.error().message);
  auto policy_text = read_file(root / t["policies"].get<std::string>());
  if (!policy_text.ok()) return fail_all(policy_text.error().message);
  auto policies = PolicySet::parse(*policy_text);
  if (!policies.ok()) return fail_all("policies: " + policies.error().message);
  check_validation(name, *policies, *schema, t.value("shouldValidate", true), validation);
  auto entities_json = read_json(root / t["entities"].get<std::string>());
  if (!entities_json.ok()) return fail_all(entities_json.error().message);
  auto entities = entities_from_json(*entities_json, &*schema);
  if (!entities.ok()) return fail_all("entities: " + entities.error().message);
  for (const auto& r : t["requests"]) {
    std::string where = name + " [" + r.value("description", std::string()) + "]";
    auto request = testing::request_from_json(r, &*schema);
    if (!request.ok()) {
      tally.fail(where + ": request: " + request.error().message);
      continue;
    }
    if (r.value("validateRequest", true)) {
      if (Status valid = validate_request(*request, *schema); !valid.ok()) {
        tally.fail(where + ": request validation: " + valid.error().message);
        continue;
      }
    }
    Response response = is_authorized(*request, *policies, *entities);
    testing::Answer got = testing::answer_of(response);
    std::set<std::string> want_reasons = id_set(r["reason"]);
    std::set<std::string> want_errors = id_set(r["errors"]);
    if (got.decision == r["decision"] && got.reasons == want_reasons && got.errors == want_errors) {
      tally.pass();
      continue;
    }
    std::string why = where + ": expected " + r["decision"].get<std::string>() + " " +
                      join(want_reasons) + " errors " + join(want_errors) + ", got " +
                      got.decision + " " + join(got.reasons) + " errors " + join(got.errors);
    for (const auto& e : response.errors) why += "; " + e.policy->id + ": " + e.message;
    tally.fail(why);
  }
}

void run_integration(const fs::path& corpus, const std::string& filter, Tally& tally,
                     Tally& validation) {
  fs::path root = corpus / "integration-tests";
  std::vector<fs::path> files;
  for (const auto& dir : {root / "tests", root / "corpus-tests"}) {
    if (!fs::exists(dir)) continue;
    for (const auto& e : fs::recursive_directory_iterator(dir)) {
      std::string n = e.path().filename().string();
      if (e.path().extension() != ".json" || n.find(".entities.") != std::string::npos) continue;
      if (!filter.empty() && e.path().string().find(filter) == std::string::npos) continue;
      files.push_back(e.path());
    }
  }
  std::sort(files.begin(), files.end());
  for (const auto& f : files) run_integration_test(root, f, tally, validation);
}

// ---- examples ----

Result<Request> cli_request(const nlohmann::json& r, const Schema* schema) {
  Request request;
  CUSTODY_ASSIGN(request.principal, parse_entity_uid(r["principal"].get<std::string>()));
  CUSTODY_ASSIGN(request.action, parse_entity_uid(r["action"].get<std::string>()));
  CUSTODY_ASSIGN(request.resource, parse_entity_uid(r["resource"].get<std::string>()));
  CUSTODY_ASSIGN(request.context, context_from_json(r.value("context", nlohmann::json::object()),
                                                    schema, request.action));
  return request;
}

Status link_all(PolicySet& set, const nlohmann::json& links) {
  for (const auto& l : links) {
    std::optional<EntityUid> principal, resource;
    const auto& args = l["args"];
    if (args.contains("?principal")) {
      CUSTODY_ASSIGN(principal, parse_entity_uid(args["?principal"].get<std::string>()));
    }
    if (args.contains("?resource")) {
      CUSTODY_ASSIGN(resource, parse_entity_uid(args["?resource"].get<std::string>()));
    }
    CUSTODY_TRY(set.link(l["template_id"], l["link_id"], principal, resource));
  }
  return ok_status();
}

void run_examples(const fs::path& corpus, Tally& tally, Tally& validation) {
  fs::path root = corpus / "examples";
  auto manifest = read_json(root / "manifest.json");
  if (!manifest.ok()) return tally.fail(manifest.error().message);
  for (const auto& app : (*manifest)["apps"]) {
    std::string name = app["name"];
    fs::path dir = root / app["dir"].get<std::string>();
    std::vector<std::pair<fs::path, std::string>> requests;
    nlohmann::json dirs =
        app["requestDirs"].is_null() ? nlohmann::json::object() : app["requestDirs"];
    for (const auto& [decision, sub] : dirs.items()) {
      for (const auto& e : fs::directory_iterator(dir / sub.get<std::string>()))
        requests.emplace_back(e.path(), decision);
    }
    std::sort(requests.begin(), requests.end());
    auto fail_all = [&](const std::string& why) {
      for (std::size_t i = 0; i < requests.size(); ++i) tally.fail(name + ": " + why);
    };
    auto schema = read_schema(dir / app["schema"].get<std::string>());
    if (!schema.ok()) return fail_all("schema: " + schema.error().message);
    const Schema* with_schema = app["authorizeWithSchema"].get<bool>() ? &*schema : nullptr;
    auto text = read_file(dir / app["policies"].get<std::string>());
    if (!text.ok()) return fail_all(text.error().message);
    auto policies = PolicySet::parse(*text, /*use_id_annotation=*/true);
    if (!policies.ok()) {
      fail_all("policies: " + policies.error().message);
      continue;
    }
    if (!app["links"].is_null()) {
      auto links = read_json(dir / app["links"].get<std::string>());
      Status linked = links.ok() ? link_all(*policies, *links) : Status(links.error());
      if (!linked.ok()) {
        fail_all("links: " + linked.error().message);
        continue;
      }
    }
    check_validation(name, *policies, *schema, true, validation);
    if (requests.empty()) continue;
    auto ej = read_json(dir / app["entities"].get<std::string>());
    if (!ej.ok()) {
      fail_all(ej.error().message);
      continue;
    }
    auto entities = entities_from_json(*ej, with_schema);
    if (!entities.ok()) {
      fail_all("entities: " + entities.error().message);
      continue;
    }
    for (const auto& [path, want] : requests) {
      std::string where = name + " " + path.filename().string();
      auto rj = read_json(path);
      if (!rj.ok()) {
        tally.fail(where + ": " + rj.error().message);
        continue;
      }
      auto request = cli_request(*rj, with_schema);
      if (!request.ok()) {
        tally.fail(where + ": request: " + request.error().message);
        continue;
      }
      if (with_schema != nullptr) {
        if (Status valid = validate_request(*request, *with_schema); !valid.ok()) {
          tally.fail(where + ": request validation: " + valid.error().message);
          continue;
        }
      }
      Response response = is_authorized(*request, *policies, *entities);
      std::string got = response.decision == Decision::kAllow ? "allow" : "deny";
      if (got == want) {
        tally.pass();
      } else {
        std::string why = where + ": expected " + want + ", got " + got;
        for (const auto& e : response.errors) why += "; " + e.policy->id + ": " + e.message;
        tally.fail(why);
      }
    }
  }
}

// ---- cli sandboxes ----

void run_sandboxes(const fs::path& corpus, Tally& tally, Tally& validation) {
  fs::path root = corpus / "cli-sandboxes";
  auto manifest = read_json(root / "manifest.json");
  if (!manifest.ok()) return tally.fail(manifest.error().message);
  for (const auto& box : (*manifest)["sandboxes"]) {
    std::string name = box["name"];
    auto schema = read_schema(root / box["schema"].get<std::string>());
    auto text = read_file(root / box["policies"].get<std::string>());
    Result<PolicySet> policies = Error::invalid("not read");
    if (text.ok()) policies = PolicySet::parse(*text, /*use_id_annotation=*/true);
    if (schema.ok() && policies.ok()) check_validation(name, *policies, *schema, true, validation);
    for (const auto& test_file : box["tests"]) {
      auto cases = read_json(root / test_file.get<std::string>());
      if (!cases.ok()) {
        tally.fail(name + ": " + cases.error().message);
        continue;
      }
      int index = 0;
      for (const auto& c : *cases) {
        std::string where = name + " " + test_file.get<std::string>() + " #" +
                            std::to_string(index++) + " " + c.value("name", std::string());
        if (!schema.ok()) {
          tally.fail(where + ": schema: " + schema.error().message);
          continue;
        }
        if (!policies.ok()) {
          tally.fail(where + ": policies: " + policies.error().message);
          continue;
        }
        auto entities = entities_from_json(c["entities"], &*schema);
        if (!entities.ok()) {
          tally.fail(where + ": entities: " + entities.error().message);
          continue;
        }
        auto request = cli_request(c["request"], &*schema);
        if (!request.ok()) {
          tally.fail(where + ": request: " + request.error().message);
          continue;
        }
        if (Status valid = validate_request(*request, *schema); !valid.ok()) {
          tally.fail(where + ": request validation: " + valid.error().message);
          continue;
        }
        Response response = is_authorized(*request, *policies, *entities);
        std::string got = response.decision == Decision::kAllow ? "allow" : "deny";
        std::set<std::string> reasons;
        for (const auto* p : response.reasons) reasons.insert(p->id);
        std::set<std::string> want = id_set(c["reason"]);
        bool subset = std::includes(reasons.begin(), reasons.end(), want.begin(), want.end());
        int want_errors = c.value("num_errors", 0);
        if (got == c["decision"] && subset &&
            static_cast<int>(response.errors.size()) == want_errors) {
          tally.pass();
        } else {
          tally.fail(where + ": expected " + c["decision"].get<std::string>() + " " + join(want) +
                     " errors " + std::to_string(want_errors) + ", got " + got + " " +
                     join(reasons) + " errors " + std::to_string(response.errors.size()));
        }
      }
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  fs::path corpus;
#ifdef CEDAR_CORPUS_DIR
  corpus = CEDAR_CORPUS_DIR;
#endif
  int min_integration = 0, min_examples = 0, min_sandboxes = 0, min_validation = 0;
  std::size_t show = 10;
  std::string filter;
  bool require = false;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    auto value = [&]() -> std::string { return i + 1 < argc ? argv[++i] : ""; };
    if (arg == "--corpus")
      corpus = value();
    else if (arg == "--min-integration")
      min_integration = std::stoi(value());
    else if (arg == "--min-examples")
      min_examples = std::stoi(value());
    else if (arg == "--min-sandboxes")
      min_sandboxes = std::stoi(value());
    else if (arg == "--min-validation")
      min_validation = std::stoi(value());
    else if (arg == "--show")
      show = std::stoul(value());
    else if (arg == "--filter")
      filter = value();
    else if (arg == "--require-corpus")
      require = true;
    else {
      std::cerr << "unknown argument " << arg << "\n";
      return 2;
    }
  }
  if (corpus.empty() || !fs::exists(corpus / "integration-tests")) {
    std::cout << "Cedar corpus not found at '" << corpus.string()
              << "'; skipping (pass --corpus DIR)\n";
    return require ? 1 : 0;
  }
  Tally integration{"integration"}, examples{"examples"}, sandboxes{"sandboxes"},
      validation{"validation"};
  integration.show = examples.show = sandboxes.show = validation.show = show;
  run_integration(corpus, filter, integration, validation);
  if (filter.empty()) {
    run_examples(corpus, examples, validation);
    run_sandboxes(corpus, sandboxes, validation);
  }
  integration.print();
  examples.print();
  sandboxes.print();
  validation.print();
  bool ok = true;
  auto check = [&](const Tally& t, int min) {
    if (t.passed < min) {
      std::cout << t.name << ": " << t.passed << " passed is below the threshold " << min << "\n";
      ok = false;
    }
  };
  check(integration, min_integration);
  check(examples, min_examples);
  check(sandboxes, min_sandboxes);
  check(validation, min_validation);
  return ok ? 0 : 1;
}
