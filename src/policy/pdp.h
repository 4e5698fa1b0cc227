// The policy decision point: the active policy bundle and application entities compiled in
// memory, and decisions over them with the directory's identities read at decision time.
//
// Snapshots. The active state is an immutable PdpSnapshot behind an atomic shared pointer: a
// decision takes the pointer once and keeps it, so installing a new version never blocks or
// changes an in-flight decision, and no decision sees half of a switch. refresh() makes the
// snapshot follow pdp_state (the store's row naming the active versions); custodyd calls it
// periodically on every node, and installs a version it has just activated at once.
//
// Entities of one decision, looked up in this order: the request's own entities (the subject and
// resource with the caller's `properties` merged over their attributes), the directory's
// identities (directory_entities.h), then the application entities pushed with
// PUT /api/v1/entities. An entity that none has is missing, which Cedar allows (attribute reads
// on it are errors that skip the policy).
//
// Types. An AuthZEN type maps to a Cedar entity type through PdpSettings::type_map, else to the
// same name. Actions are `<action_type>::"<name>"`. A resource of Cedar type Tool gets derived
// attributes (see derive_tool_attributes) because Cedar cannot join strings.
#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/result.h"
#include "policy/bundle.h"
#include "policy/cedar/authorizer.h"
#include "policy/cedar/entities.h"
#include "store/store.h"

namespace custody::policy {

class DirectoryEntities;

struct PdpSettings {
  // AuthZEN type → Cedar entity type. Types not listed map to themselves.
  std::map<std::string, std::string> type_map = default_type_map();
  std::string action_type = "Action";
  // discovery.enforcement: false in "alert" mode (discovered components' discovery.enforce).
  bool discovery_enforced = true;

  // human→Human, service→Service, agent→Agent, mcp_server→McpServer, team→Team, tool→Tool.
  static std::map<std::string, std::string> default_type_map();
};

// Reads "authzen=Cedar,…" (the pdp.type_map setting) over the defaults.
Result<std::map<std::string, std::string>> parse_type_map(std::string_view text);

struct PdpSnapshot {
  std::int64_t policy_version = 0;                         // 0: none active (every decision denies)
  std::int64_t entities_version = 0;                       // 0: none pushed
  std::shared_ptr<const CompiledBundle> bundle;            // never null
  std::shared_ptr<const cedar::EntityStore> app_entities;  // never null; finalized
};

// An AuthZEN subject or resource: {type, id, properties?}.
struct EntityRef {
  std::string type;
  std::string id;
  nlohmann::json properties = nlohmann::json::object();
};

// One question: may subject do action on resource in context?
struct Question {
  EntityRef subject;
  std::string action;
  EntityRef resource;
  nlohmann::json context = nlohmann::json::object();
  // The context built in C++ (a record), used instead of `context` when set: it skips the JSON
  // round trip (custody's own questions, e.g. issuance_policy.h). With a schema that declares
  // the action, it must conform to the declared context type (kInvalidArgument otherwise, as a
  // JSON context that does not parse by it).
  std::optional<cedar::Value> cedar_context;
  // A human approved exactly this question (approvals.h checked it): @approval policies are
  // waived for it.
  bool approved = false;
};

struct Decision {
  bool allow = false;
  std::vector<std::string> reasons;                         // determining policy ids
  std::vector<std::pair<std::string, std::string>> errors;  // (policy id, message)
  // Non-empty when the deny comes only from @approval policies and the question would be
  // allowed without them: it needs a human's approval. The policies' @approval labels.
  std::vector<std::string> approval;
  // Set by the caller once the approval request exists: {"id", "approver", "expires_at",
  // "labels"}, answered in the decision's context.
  nlohmann::json checkpoint;
};

class Pdp {
 public:
  explicit Pdp(PdpSettings settings);

  const PdpSettings& settings() const { return settings_; }
  std::shared_ptr<const PdpSnapshot> snapshot() const { return current_.load(); }

  // Makes the snapshot match pdp_state, compiling what changed. A stored version that no longer
  // compiles (e.g. written by a newer custody) keeps the previous snapshot and returns the error.
  Status refresh(store::Store& store);
  // Installs a bundle this node has just activated (so that its own callers see it at once).
  void install_policies(std::int64_t version, std::shared_ptr<const CompiledBundle> bundle);
  void install_entities(std::int64_t version, std::shared_ptr<const cedar::EntityStore> entities);

  // Decides a batch of questions against one snapshot, reading the directory once per identity.
  // A malformed question (a context or property that is no Cedar value, or that does not match
  // the schema) fails the whole call with kInvalidArgument naming it. `stop` (optional) is asked
  // after each decision and ends the batch early when it returns true; the result then has fewer
  // decisions than questions.
  Result<std::vector<Decision>> decide(const PdpSnapshot& snapshot, DirectoryEntities& directory,
                                       const std::vector<Question>& questions,
                                       const std::function<bool(const Decision&)>& stop = {}) const;

  // The Cedar uid an AuthZEN entity reference denotes.
  cedar::EntityUid cedar_uid(const EntityRef& ref) const;

 private:
  PdpSettings settings_;
  std::atomic<std::shared_ptr<const PdpSnapshot>> current_;
  std::mutex refresh_mu_;  // one refresh or install at a time
};

// Builds the application entity store from a Cedar entities JSON array, typed by the schema when
// the bundle has one. Errors name the entity and attribute.
Result<std::shared_ptr<const cedar::EntityStore>> compile_app_entities(
    const nlohmann::json& entities, const cedar::Schema* schema);

// Tool resources: from `name` (default: the uid's id) and `server` (the MCP server's audience)
// adds key = "<server> <name>" and server_key = "<server> *", the strings that identities'
// `tools` sets hold, unless the entity already has them.
void derive_tool_attributes(cedar::Entity& tool);

}  // namespace custody::policy
