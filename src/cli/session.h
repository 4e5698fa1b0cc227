// A remote command's connection to custodyd: resolves the server and token (cli_config.h), sends
// API calls and turns every failure into the one stderr line the CLI promises:
//   custody: <detail> (HTTP <status>, <type>[, field <f>])   for an error response
//   custody: cannot reach <url>: <reason>                     when no response arrived
// Callers only see the decoded JSON of 2xx responses; on failure they return kExitFailure.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <ostream>
#include <string>

#include "cli/cli_config.h"
#include "cli/http_client.h"

namespace CLI {
class App;
}

namespace custody::cli {

// Responses keep the server's member order, so --json output reads like the API documents it.
using Json = nlohmann::ordered_json;

inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;  // the server refused, or could not be reached
inline constexpr int kExitUsage = 2;    // bad flags (CLI11's code for parse errors)

// --server, --token and --json, present on every remote command.
struct RemoteFlags {
  std::string server;
  std::string token;
  bool json = false;
};
void add_remote_flags(CLI::App* command, RemoteFlags* flags);

struct ApiCall {
  Method method = Method::kGet;
  std::string path;  // from api_path()
  Query query;
  std::optional<nlohmann::json> body;
  Headers headers;  // extra headers such as If-Match
};

class Session {
 public:
  // Resolves settings from flags, `env` and the config file, and prints any warnings. Prints the
  // error and returns nullopt when the config file is malformed, the server URL is invalid or
  // there is no token.
  static std::optional<Session> open(const RemoteFlags& flags, const EnvMap& env,
                                     std::ostream& err);

  // The decoded body of a 2xx response (null for an empty body); nullopt after printing the error.
  std::optional<Json> call(const ApiCall& call) const;

  // GETs a paged list, following next_cursor until it is null, and returns
  // {"items": [all items], "next_cursor": null}.
  std::optional<Json> call_all_pages(ApiCall call) const;

  bool json_output() const { return json_; }
  const ServerUrl& server() const { return client_.server(); }

 private:
  Session(HttpClient client, std::string token, bool json, std::ostream& err)
      : client_(std::move(client)), token_(std::move(token)), json_(json), err_(&err) {}

  HttpClient client_;
  std::string token_;
  bool json_;
  std::ostream* err_;
};

// --json output: the body pretty-printed with two-space indentation.
void print_json(std::ostream& out, const Json& body);

// For lists printed without --all: tells the user on `err` how to get the next page when the
// response has a non-null next_cursor.
void print_more_hint(std::ostream& err, const Json& page);

}  // namespace custody::cli
