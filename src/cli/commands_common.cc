// Helpers shared by the commands_*.cc files (declared in commands.h).
#include <CLI/CLI.hpp>
#include <iostream>

#include "cli/commands.h"
#include "cli/table.h"
#include "common/config.h"

namespace custody::cli {

std::optional<std::string> given(const CLI::Option* option, const std::string& value) {
  if (option->count() == 0) return std::nullopt;
  return value;
}

int with_session(const RemoteFlags& flags, const std::function<int(const Session&)>& body) {
  auto session = Session::open(flags, custody::environment_map(), std::cerr);
  if (!session) return kExitFailure;
  return body(*session);
}

int usage_error(const Error& error) {
  std::cerr << "custody: " << sanitize(error.message) << "\n";
  return kExitUsage;
}

int call_and_print(const Session& session, const ApiCall& call, const Renderer& render) {
  auto body = session.call(call);
  if (!body) return kExitFailure;
  if (session.json_output()) {
    print_json(std::cout, *body);
  } else {
    render(std::cout, *body);
  }
  return kExitOk;
}

int list_and_print(const Session& session, const ApiCall& call, bool all,
                   const Renderer& render_items) {
  auto body = all ? session.call_all_pages(call) : session.call(call);
  if (!body) return kExitFailure;
  if (session.json_output()) {
    print_json(std::cout, *body);
    return kExitOk;
  }
  render_items(std::cout, body->is_object() ? body->value("items", Json::array()) : Json::array());
  if (!all) print_more_hint(std::cerr, *body);
  return kExitOk;
}

}  // namespace custody::cli
