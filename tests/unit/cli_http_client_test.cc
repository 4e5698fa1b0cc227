// The CLI's HTTP client and session (src/cli/http_client.h, src/cli/session.h) against a
// scripted loopback server: what goes on the wire, how responses and failures come back.
#include <gtest/gtest.h>

#include <atomic>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <functional>
#include <mutex>
#include <sstream>
#include <thread>

#include "cli/http_client.h"
#include "cli/session.h"

namespace custody::cli {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

// Accepts connections on 127.0.0.1:<random port> and answers each request with reply(request).
// Records every request it saw. A null reply closes the connection without answering;
// `hang` keeps it open without answering.
class ScriptedServer {
 public:
  using Request = http::request<http::string_body>;
  using Reply = std::function<std::optional<http::response<http::string_body>>(const Request&)>;

  explicit ScriptedServer(Reply reply, bool hang = false)
      : acceptor_(ioc_, {asio::ip::make_address("127.0.0.1"), 0}),
        reply_(std::move(reply)),
        hang_(hang) {
    thread_ = std::thread([this] { loop(); });
  }
  ~ScriptedServer() {
    stop_ = true;
    beast::error_code ec;
    // Wake accept() with a throw-away connection.
    tcp::socket poke(ioc_);
    poke.connect(acceptor_.local_endpoint(), ec);
    thread_.join();
  }

  std::uint16_t port() const { return acceptor_.local_endpoint().port(); }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port()); }
  std::vector<Request> requests() const {
    std::lock_guard lock(mu_);
    return requests_;
  }

 private:
  void loop() {
    while (!stop_) {
      tcp::socket socket(ioc_);
      beast::error_code ec;
      acceptor_.accept(socket, ec);
      if (ec || stop_) return;
      beast::flat_buffer buffer;
      Request request;
      http::read(socket, buffer, request, ec);
      if (ec) continue;
      {
        std::lock_guard lock(mu_);
        requests_.push_back(request);
      }
      if (hang_) {
        std::this_thread::sleep_for(std::chrono::milliseconds(600));
        continue;
      }
      auto response = reply_(request);
      if (!response) continue;
      if (!response->chunked()) response->prepare_payload();
      http::write(socket, *response, ec);
    }
  }

  asio::io_context ioc_;
  tcp::acceptor acceptor_;
  Reply reply_;
  bool hang_;
  std::atomic<bool> stop_{false};
  mutable std::mutex mu_;
  std::vector<Request> requests_;
  std::thread thread_;
};

http::response<http::string_body> respond(int status, std::string body,
                                          std::string type = "application/json") {
  http::response<http::string_body> response{static_cast<http::status>(status), 11};
  response.set(http::field::content_type, type);
  response.set("X-Request-Id", "req-1");
  response.body() = std::move(body);
  return response;
}

ServerUrl url_of(const std::string& text) {
  return parse_server_url(text).value();
}

TEST(CliHttpClient, SendsMethodTargetHeadersAndBody) {
  ScriptedServer server([](const auto&) { return respond(201, R"({"id":"agt_1"})"); });
  HttpClient client(url_of(server.url() + "/base"));
  HttpRequest request;
  request.method = Method::kPost;
  request.target = "/api/v1/identities?kind=agent";
  request.headers = {{"Authorization", "Bearer cst_x"}, {"If-Match", "\"3\""}};
  request.body = R"({"kind":"agent"})";
  auto response = client.send(request);
  ASSERT_TRUE(response.ok()) << response.error().message;
  EXPECT_EQ(response->status, 201);
  EXPECT_EQ(response->body, R"({"id":"agt_1"})");
  EXPECT_EQ(response->header("x-request-id"), "req-1");  // case-insensitive
  EXPECT_EQ(response->header("X-Missing"), std::nullopt);

  auto requests = server.requests();
  ASSERT_EQ(requests.size(), 1u);
  const auto& seen = requests[0];
  EXPECT_EQ(seen.method(), http::verb::post);
  EXPECT_EQ(seen.target(), "/base/api/v1/identities?kind=agent");
  EXPECT_EQ(seen[http::field::host], "127.0.0.1:" + std::to_string(server.port()));
  EXPECT_EQ(seen[http::field::authorization], "Bearer cst_x");
  EXPECT_EQ(seen[http::field::if_match], "\"3\"");
  EXPECT_EQ(seen[http::field::content_type], "application/json");
  EXPECT_EQ(seen.body(), R"({"kind":"agent"})");
}

TEST(CliHttpClient, BodylessRequestsHaveNoContentType) {
  ScriptedServer server([](const auto&) { return respond(200, "{}"); });
  HttpClient client(url_of(server.url()));
  for (Method method : {Method::kGet, Method::kDelete, Method::kPatch}) {
    HttpRequest request;
    request.method = method;
    request.target = "/x";
    ASSERT_TRUE(client.send(request).ok());
  }
  auto requests = server.requests();
  ASSERT_EQ(requests.size(), 3u);
  EXPECT_EQ(requests[1].method(), http::verb::delete_);
  EXPECT_EQ(requests[2].method(), http::verb::patch);
  for (const auto& seen : requests) {
    EXPECT_EQ(seen.count(http::field::content_type), 0u);
  }
}

TEST(CliHttpClient, ReportsConnectionRefused) {
  std::uint16_t port;
  {
    asio::io_context ioc;
    tcp::acceptor probe(ioc, {asio::ip::make_address("127.0.0.1"), 0});
    port = probe.local_endpoint().port();
  }  // closed: nothing listens there now
  HttpClient client(url_of("http://127.0.0.1:" + std::to_string(port)));
  auto response = client.send({Method::kGet, "/healthz", {}, {}, {}});
  ASSERT_FALSE(response.ok());
  EXPECT_EQ(response.error().code, Code::kUnavailable);
  EXPECT_EQ(response.error().message, "connection refused");
}

TEST(CliHttpClient, TimesOutWaitingForTheResponse) {
  ScriptedServer server(nullptr, /*hang=*/true);
  HttpClientOptions options;
  options.io_timeout = std::chrono::milliseconds(200);
  HttpClient client(url_of(server.url()), options);
  auto response = client.send({Method::kGet, "/slow", {}, {}, {}});
  ASSERT_FALSE(response.ok());
  EXPECT_EQ(response.error().message, "timed out after 200ms waiting for the response");
}

TEST(CliHttpClient, ReportsAConnectionClosedWithoutAnswer) {
  ScriptedServer server([](const auto&) { return std::nullopt; });
  HttpClient client(url_of(server.url()));
  auto response = client.send({Method::kGet, "/x", {}, {}, {}});
  ASSERT_FALSE(response.ok());
  EXPECT_EQ(response.error().code, Code::kUnavailable);
}

TEST(CliHttpClient, RefusesHeaderInjectionAndRelativeTargets) {
  HttpClient client(url_of("http://127.0.0.1:1"));
  HttpRequest request;
  request.target = "/x";
  request.headers = {{"Authorization", "Bearer cst_x\r\nX-Evil: 1"}};
  auto response = client.send(request);
  ASSERT_FALSE(response.ok());
  EXPECT_EQ(response.error().code, Code::kInvalidArgument);
  request.headers.clear();
  request.target = "x";
  EXPECT_FALSE(client.send(request).ok());
}

TEST(CliHttpClient, RefusesOversizedBodies) {
  ScriptedServer server([](const auto&) { return respond(200, std::string(2048, 'x')); });
  HttpClientOptions options;
  options.max_body_bytes = 1024;
  HttpClient client(url_of(server.url()), options);
  auto response = client.send({Method::kGet, "/big", {}, {}, {}});
  ASSERT_FALSE(response.ok());
  EXPECT_EQ(response.error().message, "response body larger than 1024 bytes");
}

TEST(CliHttpClient, RefusesOversizedChunkedBodies) {
  ScriptedServer server([](const auto&) {
    auto response = respond(200, std::string(2048, 'x'));
    response.chunked(true);
    return response;
  });
  HttpClientOptions options;
  options.max_body_bytes = 1024;
  HttpClient client(url_of(server.url()), options);
  auto response = client.send({Method::kGet, "/big", {}, {}, {}});
  ASSERT_FALSE(response.ok());
  EXPECT_EQ(response.error().message, "response body larger than 1024 bytes");
}

// Session: the error lines the CLI prints.

struct SessionFixture {
  std::ostringstream err;
  std::optional<Session> open(const std::string& server, const std::string& token = "cst_t") {
    RemoteFlags flags{server, token, false};
    return Session::open(flags, {{"XDG_CONFIG_HOME", "/nonexistent-custody-test"}}, err);
  }
};

TEST(CliSession, SendsBearerTokenAndDecodesJson) {
  ScriptedServer server(
      [](const auto&) { return respond(200, R"({"items": [], "next_cursor": null})"); });
  SessionFixture f;
  auto session = f.open(server.url());
  ASSERT_TRUE(session);
  auto body = session->call({Method::kGet, api_path({"identities"}), {{"label", "a:b"}}, {}, {}});
  ASSERT_TRUE(body);
  EXPECT_TRUE((*body)["items"].is_array());
  auto requests = server.requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].target(), "/api/v1/identities?label=a%3Ab");
  EXPECT_EQ(requests[0][http::field::authorization], "Bearer cst_t");
  EXPECT_EQ(f.err.str(), "");
}

TEST(CliSession, PrintsProblemDetails) {
  ScriptedServer server([](const auto&) {
    return respond(409,
                   R"({"type": "https://custody.dev/problems/conflict", "status": 409,
                       "detail": "illegal transition from retired to active", "field": "state"})",
                   "application/problem+json");
  });
  SessionFixture f;
  auto session = f.open(server.url());
  ASSERT_TRUE(session);
  EXPECT_FALSE(session->call({Method::kPost, "/api/v1/identities/agt_1/activate", {}, {}, {}}));
  EXPECT_EQ(f.err.str(),
            "custody: illegal transition from retired to active (HTTP 409, conflict, field "
            "state)\n");
}

TEST(CliSession, PrintsCannotReach) {
  SessionFixture f;
  auto session = f.open("http://127.0.0.1:1");
  ASSERT_TRUE(session);
  EXPECT_FALSE(session->call({Method::kGet, "/api/v1/identities", {}, {}, {}}));
  EXPECT_EQ(f.err.str(), "custody: cannot reach http://127.0.0.1:1: connection refused\n");
}

TEST(CliSession, RefusesNonJsonSuccess) {
  ScriptedServer server([](const auto&) { return respond(200, "<html>", "text/html"); });
  SessionFixture f;
  auto session = f.open(server.url());
  ASSERT_TRUE(session);
  EXPECT_FALSE(session->call({Method::kGet, "/api/v1/identities", {}, {}, {}}));
  EXPECT_NE(f.err.str().find("not JSON"), std::string::npos);
}

TEST(CliSession, FollowsCursors) {
  ScriptedServer server([](const ScriptedServer::Request& request) {
    if (request.target().find("cursor=p2") != std::string_view::npos) {
      return respond(200, R"({"items": [{"id": "b"}], "next_cursor": null})");
    }
    return respond(200, R"({"items": [{"id": "a"}], "next_cursor": "p2"})");
  });
  SessionFixture f;
  auto session = f.open(server.url());
  ASSERT_TRUE(session);
  auto all = session->call_all_pages({Method::kGet, "/api/v1/audit", {{"limit", "1"}}, {}, {}});
  ASSERT_TRUE(all);
  EXPECT_EQ(*all, Json::parse(R"({"items": [{"id": "a"}, {"id": "b"}], "next_cursor": null})"));
  auto requests = server.requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(requests[1].target(), "/api/v1/audit?limit=1&cursor=p2");
}

TEST(CliSession, StopsOnARepeatedCursor) {
  ScriptedServer server(
      [](const auto&) { return respond(200, R"({"items": [], "next_cursor": "same"})"); });
  SessionFixture f;
  auto session = f.open(server.url());
  ASSERT_TRUE(session);
  EXPECT_FALSE(session->call_all_pages({Method::kGet, "/api/v1/audit", {}, {}, {}}));
  EXPECT_EQ(server.requests().size(), 2u);
}

TEST(CliSession, OpenChecksTokenAndUrl) {
  SessionFixture no_token;
  EXPECT_FALSE(no_token.open("http://127.0.0.1:8080", ""));
  EXPECT_NE(no_token.err.str().find("custody: no admin token: pass --token"), std::string::npos);

  SessionFixture bad_url;
  EXPECT_FALSE(bad_url.open("127.0.0.1:8080"));
  EXPECT_NE(bad_url.err.str().find("must start with http:// or https://"), std::string::npos);

  SessionFixture plain;
  EXPECT_TRUE(plain.open("http://custody.example.com"));
  EXPECT_NE(plain.err.str().find("warning: sending the admin token unencrypted"),
            std::string::npos);

  SessionFixture local;
  EXPECT_TRUE(local.open("http://localhost:8080"));
  EXPECT_EQ(local.err.str(), "");
}

}  // namespace
}  // namespace custody::cli
