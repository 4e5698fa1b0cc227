// The HTTP server on the wire: streamed responses (Response::stream) are framed right whether the
// producer has finished before the head goes out (head, chunk and end in one write) or writes
// after it, and the connection stays usable for the next request; request ids are fresh for
// every request.
#include <gtest/gtest.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <set>
#include <thread>

#include "http/message.h"
#include "http/metrics.h"
#include "http/router.h"
#include "http/server.h"

namespace custody::http {
namespace {

namespace net = boost::asio;
namespace beast = boost::beast;

class StreamServer {
 public:
  explicit StreamServer(Router& router) {
    ServerOptions options;
    options.port = 0;
    options.access_log = false;
    options.drain_ms = 1000;
    server_ = std::make_unique<Server>(std::move(options), router, metrics_);
    auto port = server_->start();
    EXPECT_TRUE(port.ok());
    port_ = port.ok() ? *port : 0;
  }
  ~StreamServer() { server_->stop(); }
  std::uint16_t port() const { return port_; }

 private:
  Metrics metrics_;
  std::unique_ptr<Server> server_;
  std::uint16_t port_ = 0;
};

// A client on one keep-alive connection.
class Client {
 public:
  explicit Client(std::uint16_t port) : stream_(io_) {
    stream_.expires_after(std::chrono::seconds(10));
    stream_.connect(net::ip::tcp::endpoint(net::ip::make_address("127.0.0.1"), port));
  }

  beast::http::response<beast::http::string_body> get(const std::string& target) {
    beast::http::request<beast::http::empty_body> req(beast::http::verb::get, target, 11);
    req.set(beast::http::field::host, "127.0.0.1");
    stream_.expires_after(std::chrono::seconds(10));
    beast::http::write(stream_, req);
    beast::http::response<beast::http::string_body> res;
    beast::http::read(stream_, buffer_, res);
    return res;
  }

 private:
  net::io_context io_;
  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
};

Response streamed(std::shared_ptr<BodyStream> stream) {
  Response r;
  r.content_type = "text/event-stream";
  r.stream = std::move(stream);
  return r;
}

TEST(StreamedResponse, AFinishedStreamGoesOutWholeAndTheConnectionStaysOpen) {
  Router router;
  router.add("GET", "/done", [](Request&, Responder respond) {
    auto stream = std::make_shared<BodyStream>();
    stream->write("event: message\ndata: {\"a\":1}\n\n");
    stream->write("data: two\n\n");
    stream->close();
    respond(streamed(stream));
  });
  StreamServer server(router);
  Client client(server.port());
  for (int i = 0; i < 2; ++i) {
    auto res = client.get("/done");
    EXPECT_EQ(res.result_int(), 200u);
    EXPECT_TRUE(res.chunked());
    EXPECT_EQ(res[beast::http::field::content_type], "text/event-stream");
    EXPECT_FALSE(res["X-Request-Id"].empty());
    EXPECT_EQ(res.body(), "event: message\ndata: {\"a\":1}\n\ndata: two\n\n");
  }
}

TEST(StreamedResponse, AnEmptyClosedStreamIsAnEmptyChunkedBody) {
  Router router;
  router.add("GET", "/empty", [](Request&, Responder respond) {
    auto stream = std::make_shared<BodyStream>();
    stream->close();
    respond(streamed(stream));
  });
  StreamServer server(router);
  Client client(server.port());
  auto res = client.get("/empty");
  EXPECT_TRUE(res.chunked());
  EXPECT_EQ(res.body(), "");
  EXPECT_EQ(client.get("/empty").result_int(), 200u);
}

TEST(StreamedResponse, WritesAfterTheHeadFollowInOrder) {
  Router router;
  std::vector<std::thread> producers;
  router.add("GET", "/later", [&](Request&, Responder respond) {
    auto stream = std::make_shared<BodyStream>();
    stream->write("first\n");
    respond(streamed(stream));
    producers.emplace_back([stream] {
      for (int i = 0; i < 3; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        stream->write("more " + std::to_string(i) + "\n");
      }
      stream->close();
    });
  });
  StreamServer server(router);
  Client client(server.port());
  auto res = client.get("/later");
  EXPECT_EQ(res.body(), "first\nmore 0\nmore 1\nmore 2\n");
  EXPECT_EQ(client.get("/later").body(), "first\nmore 0\nmore 1\nmore 2\n");
  for (auto& t : producers) t.join();
}

TEST(RequestIds, EachRequestGetsAFreshOneOfSixteenBase64urlCharacters) {
  // More requests than one thread's batch of ids (64), over two connections.
  Router router;
  router.add("GET", "/plain", [](Request&, Responder respond) { respond(Response{}); });
  StreamServer server(router);
  std::set<std::string> seen;
  for (int c = 0; c < 2; ++c) {
    Client client(server.port());
    for (int i = 0; i < 100; ++i) {
      auto res = client.get("/plain");
      std::string id(res["X-Request-Id"]);
      EXPECT_EQ(id.size(), 16u) << id;
      EXPECT_EQ(
          id.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"),
          std::string::npos)
          << id;
      EXPECT_TRUE(seen.insert(id).second) << "repeated: " << id;
    }
  }
  EXPECT_EQ(seen.size(), 200u);
}

}  // namespace
}  // namespace custody::http
