// Names of the directory's enums and the lifecycle table. See model.h.
#include "directory/model.h"

#include <array>
#include <utility>

#include "common/ids.h"

namespace custody::directory {
namespace {

constexpr std::array<std::pair<Kind, std::string_view>, 4> kKindNames = {{
    {Kind::kHuman, "human"},
    {Kind::kService, "service"},
    {Kind::kAgent, "agent"},
    {Kind::kMcpServer, "mcp_server"},
}};

constexpr std::array<std::pair<Kind, std::string_view>, 4> kKindPrefixes = {{
    {Kind::kHuman, "usr"},
    {Kind::kService, "svc"},
    {Kind::kAgent, "agt"},
    {Kind::kMcpServer, "mcp"},
}};

constexpr std::array<std::pair<State, std::string_view>, 5> kStateNames = {{
    {State::kDiscovered, "discovered"},
    {State::kPending, "pending"},
    {State::kActive, "active"},
    {State::kSuspended, "suspended"},
    {State::kRetired, "retired"},
}};

constexpr std::array<std::pair<CredentialType, std::string_view>, 2> kCredentialTypeNames = {{
    {CredentialType::kClientSecret, "client_secret"},
    {CredentialType::kJwk, "jwk"},
}};

template <class E, std::size_t N>
std::string_view name_of(const std::array<std::pair<E, std::string_view>, N>& table, E value) {
  for (const auto& [v, name] : table)
    if (v == value) return name;
  return "unknown";
}

template <class E, std::size_t N>
std::optional<E> value_of(const std::array<std::pair<E, std::string_view>, N>& table,
                          std::string_view name) {
  for (const auto& [v, n] : table)
    if (n == name) return v;
  return std::nullopt;
}

}  // namespace

std::string_view kind_name(Kind kind) {
  return name_of(kKindNames, kind);
}
std::optional<Kind> parse_kind(std::string_view name) {
  return value_of(kKindNames, name);
}
std::string_view id_prefix(Kind kind) {
  return name_of(kKindPrefixes, kind);
}

std::optional<Kind> kind_of_id(std::string_view id) {
  for (const auto& [kind, prefix] : kKindPrefixes)
    if (is_valid_id(id, prefix)) return kind;
  return std::nullopt;
}

std::string_view state_name(State state) {
  return name_of(kStateNames, state);
}
std::optional<State> parse_state(std::string_view name) {
  return value_of(kStateNames, name);
}

bool transition_allowed(State from, State to) {
  if (from == State::kRetired) return false;  // terminal
  if (to == State::kRetired) return true;     // any non-retired state may retire
  switch (from) {
    case State::kDiscovered:
      return to == State::kPending;
    case State::kPending:
      return to == State::kActive;
    case State::kActive:
      return to == State::kSuspended;
    case State::kSuspended:
      return to == State::kActive;
    case State::kRetired:
      return false;
  }
  return false;
}

std::string_view credential_type_name(CredentialType type) {
  return name_of(kCredentialTypeNames, type);
}
std::optional<CredentialType> parse_credential_type(std::string_view name) {
  return value_of(kCredentialTypeNames, name);
}

}  // namespace custody::directory
