#include "cli/session.h"

#include <CLI/CLI.hpp>

#include "cli/problem.h"
#include "cli/table.h"

namespace custody::cli {

void add_remote_flags(CLI::App* command, RemoteFlags* flags) {
  command->add_option("--server", flags->server,
                      "custodyd URL (default: $CUSTODY_SERVER, the config file, then " +
                          std::string(kDefaultServer) + ")");
  command->add_option("--token", flags->token,
                      "admin token (default: $CUSTODY_TOKEN, then the config file); visible to "
                      "other local users in the process list, prefer the environment");
  command->add_flag("--json", flags->json, "print the server's JSON response instead of a table");
}

std::optional<Session> Session::open(const RemoteFlags& flags, const EnvMap& env,
                                     std::ostream& err) {
  auto settings = load_settings(flags.server, flags.token, env);
  if (!settings.ok()) {
    err << "custody: " << settings.error().message << "\n";
    return std::nullopt;
  }
  for (const auto& warning : settings->warnings) err << "custody: warning: " << warning << "\n";
  auto url = parse_server_url(settings->server);
  if (!url.ok()) {
    err << "custody: " << url.error().message << "\n";
    return std::nullopt;
  }
  if (settings->token.empty()) {
    err << "custody: " << missing_token_message(*settings) << "\n";
    return std::nullopt;
  }
  if (!url->tls && !url->is_loopback()) {
    err << "custody: warning: sending the admin token unencrypted to " << url->str()
        << "; use https:// for anything but localhost\n";
  }
  return Session(HttpClient(std::move(url).value()), std::move(settings->token), flags.json, err);
}

std::optional<Json> Session::call(const ApiCall& call) const {
  HttpRequest request;
  request.method = call.method;
  request.target = call.path + build_query(call.query);
  request.headers = call.headers;
  request.headers.emplace_back("Authorization", "Bearer " + token_);
  if (call.body) request.body = call.body->dump();

  auto response = client_.send(request);
  if (!response.ok()) {
    if (response.error().code == Code::kUnavailable) {
      *err_ << "custody: cannot reach " << client_.server().str() << ": "
            << sanitize(response.error().message) << "\n";
    } else {
      *err_ << "custody: " << sanitize(response.error().message) << "\n";
    }
    return std::nullopt;
  }
  if (response->status < 200 || response->status > 299) {
    *err_ << "custody: " << format_problem(response->status, response->body) << "\n";
    return std::nullopt;
  }
  if (response->body.empty()) return Json();
  Json body = Json::parse(response->body, nullptr, /*allow_exceptions=*/false);
  if (body.is_discarded()) {
    *err_ << "custody: " << client_.server().str() << " answered HTTP " << response->status
          << " with a body that is not JSON; is this a custody server?\n";
    return std::nullopt;
  }
  return body;
}

std::optional<Json> Session::call_all_pages(ApiCall request) const {
  Json items = Json::array();
  std::string previous_cursor;
  while (true) {
    auto page = call(request);
    if (!page) return std::nullopt;
    if (page->is_object() && page->contains("items") && (*page)["items"].is_array()) {
      for (auto& item : (*page)["items"]) items.push_back(std::move(item));
    }
    const Json next = page->is_object() ? page->value("next_cursor", Json()) : Json();
    if (!next.is_string() || next.get<std::string>().empty()) break;
    // A server handing back the same cursor would otherwise keep us here forever.
    if (next.get<std::string>() == previous_cursor) {
      *err_ << "custody: the server returned the same cursor twice; stopping\n";
      return std::nullopt;
    }
    previous_cursor = next.get<std::string>();
    std::erase_if(request.query, [](const auto& kv) { return kv.first == "cursor"; });
    request.query.emplace_back("cursor", previous_cursor);
  }
  return Json{{"items", std::move(items)}, {"next_cursor", nullptr}};
}

void print_json(std::ostream& out, const Json& body) {
  // `replace` keeps invalid UTF-8 from the server from throwing during dump.
  out << body.dump(2, ' ', false, Json::error_handler_t::replace) << "\n";
}

void print_more_hint(std::ostream& err, const Json& page) {
  if (!page.is_object()) return;
  auto next = page.find("next_cursor");
  if (next == page.end() || !next->is_string() || next->get<std::string>().empty()) return;
  err << "custody: more results: pass --all, or --cursor " << sanitize(next->get<std::string>())
      << " for the next page\n";
}

}  // namespace custody::cli
