// The gateway's upstream client (src/gateway/upstream_client.h): the SSE parser on its own, then
// the client against a real HTTP server on a loopback port, written here with plain Asio so that
// each test controls the bytes on the wire and when they are sent.
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/socket.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <thread>

#include "../common/self_signed_cert.h"
#include "gateway/upstream_client.h"

namespace custody::gateway {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using namespace std::chrono_literals;

// ---------------------------------------------------------------------------------------------
// SseParser and format_sse_event

std::vector<SseEvent> parse_all(SseParser& parser, std::string_view bytes,
                                Status* status = nullptr) {
  std::vector<SseEvent> events;
  Status s = parser.feed(bytes, [&](SseEvent e) { events.push_back(std::move(e)); });
  if (status) *status = s;
  return events;
}

std::vector<SseEvent> parse_bytewise(std::string_view bytes) {
  SseParser parser(1 << 20);
  std::vector<SseEvent> events;
  for (char c : bytes) {
    EXPECT_TRUE(
        parser.feed(std::string_view(&c, 1), [&](SseEvent e) { events.push_back(std::move(e)); })
            .ok());
  }
  return events;
}

bool same(const SseEvent& a, const SseEvent& b) {
  return a.id == b.id && a.has_id == b.has_id && a.event == b.event && a.data == b.data &&
         a.has_data == b.has_data && a.retry_ms == b.retry_ms;
}

TEST(SseParser, ParsesFieldsAndDispatchesAtBlankLines) {
  SseParser parser(1 << 20);
  auto events = parse_all(parser,
                          ": a comment\n"
                          "id: 7\nevent: message\ndata: {\"a\":1}\n\n"
                          "data: line one\ndata:line two\ndata:  indented\n\n"
                          "data\n\n"           // a field without a colon: data ""
                          "event: lonely\n\n"  // neither id nor data: not an event
                          "retry: 3000\nretry: 10a\ndata: r\n\n"
                          "unknown: field\ndata: u\n\n");
  ASSERT_EQ(events.size(), 5u);
  EXPECT_EQ(events[0].id, "7");
  EXPECT_TRUE(events[0].has_id);
  EXPECT_EQ(events[0].event, "message");
  EXPECT_EQ(events[0].data, "{\"a\":1}");
  EXPECT_EQ(events[1].data, "line one\nline two\n indented");
  EXPECT_FALSE(events[1].has_id);
  EXPECT_TRUE(events[2].has_data);
  EXPECT_EQ(events[2].data, "");
  EXPECT_EQ(events[3].retry_ms, 3000);  // "10a" is not digits only: ignored
  EXPECT_EQ(events[3].data, "r");
  EXPECT_EQ(events[4].data, "u");  // the unknown field is ignored
}

TEST(SseParser, KeepsThePrimingEventWithAnIdAndEmptyData) {
  SseParser parser(1 << 20);
  auto events = parse_all(parser, "id: x\ndata:\n\n");
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].id, "x");
  EXPECT_TRUE(events[0].has_data);
  EXPECT_EQ(events[0].data, "");
  // An id alone is delivered too (the caller records it for resumption).
  EXPECT_EQ(parse_all(parser, "id: y\n\n").size(), 1u);
}

TEST(SseParser, AcceptsEveryLineEndSplitAnywhere) {
  const std::string lf = "id: 1\ndata: a\ndata: b\n\n: ping\n\nevent: e\ndata: c\n\n";
  std::string crlf, cr;
  for (char c : lf) {
    crlf += c == '\n' ? std::string("\r\n") : std::string(1, c);
    cr += c == '\n' ? '\r' : c;
  }
  SseParser whole(1 << 20);
  auto expected = parse_all(whole, lf);
  ASSERT_EQ(expected.size(), 2u);
  EXPECT_EQ(expected[0].data, "a\nb");
  for (const std::string& text : {lf, crlf, cr}) {
    auto bytewise = parse_bytewise(text);
    ASSERT_EQ(bytewise.size(), expected.size()) << text;
    for (std::size_t i = 0; i < expected.size(); ++i) EXPECT_TRUE(same(bytewise[i], expected[i]));
  }
  // A CR at the end of one slice and the LF at the start of the next are one line end.
  SseParser split(1 << 20);
  EXPECT_TRUE(parse_all(split, "data: x\r").empty());
  EXPECT_TRUE(parse_all(split, "\n").empty());
  EXPECT_EQ(parse_all(split, "\r\n").size(), 1u);
}

TEST(SseParser, StripsOneLeadingBomEvenWhenSplit) {
  SseParser parser(1 << 20);
  std::vector<SseEvent> events;
  for (std::string_view slice : {"\xEF", "\xBB", "\xBF", "data: a\n\n"}) {
    auto got = parse_all(parser, slice);
    events.insert(events.end(), got.begin(), got.end());
  }
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].data, "a");
  // Only the first: a later BOM makes the field name unknown.
  EXPECT_TRUE(parse_all(parser,
                        "\xEF\xBB\xBF"
                        "data: b\n\n")
                  .empty());
  // A stream that starts with a byte of something else loses nothing.
  SseParser other(1 << 20);
  EXPECT_EQ(parse_all(other, "\xEF").size(), 0u);
  EXPECT_EQ(parse_all(other, "x\ndata: c\n\n").size(), 1u);
}

TEST(SseParser, IgnoresIdsWithNul) {
  SseParser parser(1 << 20);
  auto events = parse_all(parser, std::string("id: a\0b\ndata: d\n\n", 18));
  ASSERT_EQ(events.size(), 1u);
  EXPECT_FALSE(events[0].has_id);
  EXPECT_EQ(events[0].data, "d");
}

TEST(SseParser, RefusesAnEventLargerThanTheLimit) {
  SseParser parser(16);
  Status status;
  EXPECT_EQ(parse_all(parser, "data: 0123456789\n", &status).size(), 0u);
  EXPECT_TRUE(status.ok());
  parse_all(parser, "data: 0123456789\n", &status);
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.error().message, "malformed event stream: event exceeds 16 bytes");
  // It stays failed.
  EXPECT_FALSE(parser.feed("\n", [](SseEvent) { ADD_FAILURE(); }).ok());
  // A long line without its end is limited too.
  SseParser endless(16);
  EXPECT_FALSE(endless.feed(std::string(17, 'x'), [](SseEvent) {}).ok());
}

TEST(SseFormat, RoundTripsThroughTheParser) {
  std::vector<SseEvent> originals(4);
  originals[0].id = "42";
  originals[0].has_id = true;
  originals[0].event = "message";
  originals[0].data = "{\"jsonrpc\":\"2.0\"}";
  originals[0].has_data = true;
  originals[1].data = "a\nb\n\nc";
  originals[1].has_data = true;
  originals[2].id = "prime";
  originals[2].has_id = true;
  originals[2].has_data = true;  // data ""
  originals[3].data = " leading space";
  originals[3].has_data = true;
  originals[3].retry_ms = 500;
  std::string wire;
  for (const auto& e : originals) wire += format_sse_event(e);
  EXPECT_EQ(format_sse_event(originals[2]), "id: prime\ndata: \n\n");
  auto parsed = parse_bytewise(wire);
  ASSERT_EQ(parsed.size(), originals.size());
  for (std::size_t i = 0; i < parsed.size(); ++i) EXPECT_TRUE(same(parsed[i], originals[i])) << i;
}

TEST(SseFormat, CannotInjectFieldsThroughIdOrEvent) {
  SseEvent event;
  event.id = "1\ndata: forged";
  event.has_id = true;
  event.event = "x\r\n\r\ndata: y";
  event.data = "line\r\nnext";
  event.has_data = true;
  EXPECT_EQ(format_sse_event(event),
            "id: 1data: forged\nevent: xdata: y\ndata: line\ndata: next\n\n");
}

// ---------------------------------------------------------------------------------------------
// A loopback HTTP/1.1 server: one thread accepts, one thread per connection reads requests and
// hands each to the test's handler, which writes raw bytes and says whether to keep the
// connection open.

class Gate {
 public:
  void open() {
    std::lock_guard lock(mu_);
    open_ = true;
    cv_.notify_all();
  }
  bool wait(std::chrono::milliseconds timeout = 3s) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, timeout, [&] { return open_; });
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool open_ = false;
};

struct Exchange {
  std::function<void(std::string_view)> write;  // errors ignored: the client may have gone
};

using Request = http::request<http::string_body>;
using Handler = std::function<bool(const Request&, Exchange&)>;

class TestServer {
 public:
  // Speaks TLS when `tls` is set.
  explicit TestServer(Handler handler, asio::ssl::context* tls = nullptr)
      : handler_(std::move(handler)),
        tls_(tls),
        acceptor_(io_, tcp::endpoint(asio::ip::address_v4::loopback(), 0)) {
    port_ = acceptor_.local_endpoint().port();
    accept_thread_ = std::thread([this] { accept_loop(); });
  }

  ~TestServer() {
    stopping_ = true;
    stopped_.open();
    {
      // Wakes accept() with a connection of our own.
      tcp::socket waker(io_);
      beast::error_code ec;
      waker.connect(tcp::endpoint(asio::ip::address_v4::loopback(), port_), ec);
      accept_thread_.join();
    }
    {
      std::lock_guard lock(mu_);
      for (int fd : open_fds_) ::shutdown(fd, SHUT_RDWR);  // wakes reads in connection threads
    }
    for (auto& t : connection_threads_) t.join();
  }

  net::ServerUrl url() const { return net::ServerUrl{false, "127.0.0.1", port_, ""}; }
  int accepted() const { return accepted_; }
  std::vector<Request> requests() {
    std::lock_guard lock(mu_);
    return requests_;
  }
  // Opened when the server stops: handlers that must never answer wait for it.
  Gate& stopped() { return stopped_; }
  bool wait_closed(int n) {
    std::unique_lock lock(mu_);
    return closed_cv_.wait_for(lock, 3s, [&] { return closed_ >= n; });
  }

 private:
  void accept_loop() {
    for (;;) {
      tcp::socket socket(io_);
      beast::error_code ec;
      acceptor_.accept(socket, ec);
      if (ec || stopping_) return;
      ++accepted_;
      std::lock_guard lock(mu_);
      open_fds_.push_back(socket.native_handle());
      connection_threads_.emplace_back(
          [this, s = std::make_shared<tcp::socket>(std::move(socket))] { serve(std::move(*s)); });
    }
  }

  void serve(tcp::socket socket) {
    if (!tls_) {
      exchange_requests(socket);
      return close(socket);
    }
    asio::ssl::stream<tcp::socket> stream(std::move(socket), *tls_);
    beast::error_code ec;
    stream.handshake(asio::ssl::stream_base::server, ec);
    if (!ec) exchange_requests(stream);
    close(stream.next_layer());
  }

  template <class Stream>
  void exchange_requests(Stream& stream) {
    beast::flat_buffer buffer;
    for (;;) {
      Request request;
      beast::error_code ec;
      http::read(stream, buffer, request, ec);
      if (ec) break;
      {
        std::lock_guard lock(mu_);
        requests_.push_back(request);
      }
      Exchange exchange{[&stream](std::string_view bytes) {
        beast::error_code write_ec;
        asio::write(stream, asio::buffer(bytes.data(), bytes.size()), write_ec);
      }};
      if (!handler_(request, exchange)) break;
    }
  }

  void close(tcp::socket& socket) {
    std::lock_guard lock(mu_);
    std::erase(open_fds_, socket.native_handle());
    beast::error_code ec;
    socket.shutdown(tcp::socket::shutdown_both, ec);
    socket.close(ec);
    ++closed_;
    closed_cv_.notify_all();
  }

  Handler handler_;
  asio::ssl::context* tls_;
  asio::io_context io_;
  tcp::acceptor acceptor_;
  std::uint16_t port_ = 0;
  std::thread accept_thread_;
  std::atomic<bool> stopping_{false};
  std::atomic<int> accepted_{0};
  Gate stopped_;
  std::mutex mu_;
  std::condition_variable closed_cv_;
  int closed_ = 0;
  std::vector<int> open_fds_;
  std::vector<std::thread> connection_threads_;
  std::vector<Request> requests_;
};

std::string chunk(std::string_view data) {
  char size[32];
  std::snprintf(size, sizeof size, "%zx\r\n", data.size());
  return size + std::string(data) + "\r\n";
}

std::string json_response(std::string_view body) {
  return "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: " +
         std::to_string(body.size()) + "\r\n\r\n" + std::string(body);
}

const std::string kSseHead =
    "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n"
    "Transfer-Encoding: chunked\r\n\r\n";

// Records a call's callbacks, in order, for the test thread to wait on.
class Recorder {
 public:
  UpstreamCallbacks callbacks() {
    UpstreamCallbacks cb;
    cb.on_head = [this](const UpstreamHead& head) {
      std::lock_guard lock(mu_);
      log_.push_back("head " + std::to_string(head.status));
      head_ = head;
      cv_.notify_all();
    };
    cb.on_body = [this](std::string body) {
      std::lock_guard lock(mu_);
      log_.push_back("body " + body);
      body_ = std::move(body);
      cv_.notify_all();
    };
    cb.on_event = [this](SseEvent event) {
      std::lock_guard lock(mu_);
      log_.push_back("event " + event.data);
      events_.push_back(std::move(event));
      cv_.notify_all();
    };
    cb.on_end = [this](Status end) {
      std::lock_guard lock(mu_);
      log_.push_back(end.ok() ? "end ok" : "end " + end.error().message);
      end_ = end;
      cv_.notify_all();
    };
    return cb;
  }

  bool wait_end(std::chrono::milliseconds timeout = 3s) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, timeout, [&] { return end_.has_value(); });
  }
  bool wait_events(std::size_t n) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, 3s, [&] { return events_.size() >= n; });
  }
  std::vector<std::string> log() {
    std::lock_guard lock(mu_);
    return log_;
  }
  bool ended() {
    std::lock_guard lock(mu_);
    return end_.has_value();
  }
  Status end() {
    std::lock_guard lock(mu_);
    return end_.value_or(Error::internal("not ended"));
  }
  std::string end_message() {
    Status s = end();
    return s.ok() ? "ok" : s.error().message;
  }
  std::optional<UpstreamHead> head() {
    std::lock_guard lock(mu_);
    return head_;
  }
  std::optional<std::string> body() {
    std::lock_guard lock(mu_);
    return body_;
  }
  std::vector<SseEvent> events() {
    std::lock_guard lock(mu_);
    return events_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::string> log_;
  std::optional<UpstreamHead> head_;
  std::optional<std::string> body_;
  std::vector<SseEvent> events_;
  std::optional<Status> end_;
};

UpstreamRequest post(std::string body) {
  UpstreamRequest request;
  request.method = net::Method::kPost;
  request.target = "/mcp";
  request.headers = {{"Content-Type", "application/json"},
                     {"Accept", "application/json, text/event-stream"}};
  request.body = std::move(body);
  return request;
}

UpstreamOptions test_options() {
  UpstreamOptions options;
  options.connect_timeout = 2s;
  options.response_timeout = 2s;
  return options;
}

TEST(GatewayUpstream, DeliversAJsonResponseAndSendsTheRequestHeaders) {
  TestServer server([](const Request&, Exchange& x) {
    x.write(json_response(R"({"jsonrpc":"2.0","id":1,"result":{}})"));
    return true;
  });
  UpstreamClient client(test_options());
  Recorder rec;
  UpstreamRequest request = post(R"({"jsonrpc":"2.0","id":1,"method":"ping"})");
  request.headers.emplace_back("Mcp-Session-Id", "s-1");
  request.headers.emplace_back("Connection", "close");  // the client's own business: dropped
  client.send(server.url(), request, rec.callbacks());
  ASSERT_TRUE(rec.wait_end());
  EXPECT_EQ(rec.log(), (std::vector<std::string>{
                           "head 200", R"(body {"jsonrpc":"2.0","id":1,"result":{}})", "end ok"}));
  EXPECT_FALSE(rec.head()->event_stream);
  EXPECT_EQ(rec.head()->header("content-type"), "application/json");

  auto requests = server.requests();
  ASSERT_EQ(requests.size(), 1u);
  const Request& got = requests[0];
  EXPECT_EQ(got.method(), http::verb::post);
  EXPECT_EQ(got.target(), "/mcp");
  EXPECT_EQ(got[http::field::host], "127.0.0.1:" + std::to_string(server.url().port));
  EXPECT_EQ(got[http::field::user_agent], "custody-gateway");
  EXPECT_EQ(got[http::field::connection], "keep-alive");
  EXPECT_EQ(got[http::field::content_length], std::to_string(request.body.size()));
  EXPECT_EQ(got[http::field::content_type], "application/json");
  EXPECT_EQ(got["Mcp-Session-Id"], "s-1");
  EXPECT_EQ(got.body(), request.body);
}

TEST(GatewayUpstream, ReadsAChunkedBody) {
  TestServer server([](const Request&, Exchange& x) {
    x.write(
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n" +
        chunk("{\"a\":") + chunk("\"bcd\"}") + "0\r\n\r\n");
    return true;
  });
  UpstreamClient client(test_options());
  Recorder rec;
  client.send(server.url(), post("{}"), rec.callbacks());
  ASSERT_TRUE(rec.wait_end());
  EXPECT_TRUE(rec.end().ok()) << rec.end_message();
  EXPECT_EQ(rec.body(), R"({"a":"bcd"})");
}

TEST(GatewayUpstream, AcceptedWithoutBodyGivesAnEmptyBody) {
  TestServer server([](const Request&, Exchange& x) {
    x.write("HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n");
    return true;
  });
  UpstreamClient client(test_options());
  Recorder rec;
  client.send(server.url(), post(R"({"jsonrpc":"2.0","method":"notifications/initialized"})"),
              rec.callbacks());
  ASSERT_TRUE(rec.wait_end());
  EXPECT_EQ(rec.log(), (std::vector<std::string>{"head 202", "body ", "end ok"}));
}

TEST(GatewayUpstream, DeliversEachEventAsItArrives) {
  Gate second;
  TestServer server([&](const Request&, Exchange& x) {
    x.write(kSseHead + chunk("id: 1\ndata: {\"n\":1}\n\n"));
    second.wait();
    // The second event is split across chunks, with a comment between.
    x.write(chunk(": keep-alive\n\nid: 2\nda") + chunk("ta: {\"n\":2}\n\n") + "0\r\n\r\n");
    return true;
  });
  UpstreamClient client(test_options());
  Recorder rec;
  client.send(server.url(), post("{}"), rec.callbacks());
  ASSERT_TRUE(rec.wait_events(1));
  EXPECT_FALSE(rec.ended());  // the stream is still open: the event came on its own
  EXPECT_TRUE(rec.head()->event_stream);
  second.open();
  ASSERT_TRUE(rec.wait_end());
  EXPECT_EQ(rec.log(),
            (std::vector<std::string>{"head 200", "event {\"n\":1}", "event {\"n\":2}", "end ok"}));
  EXPECT_EQ(rec.events()[1].id, "2");
}

TEST(GatewayUpstream, ReadsAStreamThatEndsWithTheConnection) {
  TestServer server([](const Request&, Exchange& x) {
    x.write(
        "HTTP/1.1 200 OK\r\nContent-Type: Text/Event-Stream; charset=utf-8\r\n"
        "Connection: close\r\n\r\nid: x\ndata:\n\nevent: message\ndata: hi\n\n");
    return false;
  });
  UpstreamClient client(test_options());
  Recorder rec;
  UpstreamRequest get;
  get.method = net::Method::kGet;
  get.target = "/mcp";
  client.send(server.url(), get, rec.callbacks());
  ASSERT_TRUE(rec.wait_end());
  EXPECT_TRUE(rec.end().ok()) << rec.end_message();
  auto events = rec.events();
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].id, "x");
  EXPECT_TRUE(events[0].has_data);
  EXPECT_EQ(events[1].data, "hi");
}

TEST(GatewayUpstream, ReusesAKeptAliveConnection) {
  TestServer server([](const Request& r, Exchange& x) {
    x.write(json_response(r.body()));
    return true;
  });
  UpstreamClient client(test_options());
  for (int i = 0; i < 3; ++i) {
    Recorder rec;
    client.send(server.url(), post("call " + std::to_string(i)), rec.callbacks());
    ASSERT_TRUE(rec.wait_end());
    EXPECT_EQ(rec.body(), "call " + std::to_string(i));
  }
  EXPECT_EQ(server.accepted(), 1);
  EXPECT_EQ(server.requests().size(), 3u);
}

TEST(GatewayUpstream, ClosesConnectionsIdleLongerThanTheKeepalive) {
  TestServer server([](const Request& r, Exchange& x) {
    x.write(json_response(r.body()));
    return true;
  });
  UpstreamOptions options = test_options();
  options.idle_keepalive = 30ms;
  UpstreamClient client(options);
  Recorder first;
  client.send(server.url(), post("one"), first.callbacks());
  ASSERT_TRUE(first.wait_end());
  ASSERT_TRUE(server.wait_closed(1));  // the server keeps it open: the client closed it
  Recorder second;
  client.send(server.url(), post("two"), second.callbacks());
  ASSERT_TRUE(second.wait_end());
  EXPECT_EQ(second.body(), "two");
  EXPECT_EQ(server.accepted(), 2);
}

TEST(GatewayUpstream, KeepsAtMostMaxIdleConnectionsPerHost) {
  // Both requests are answered only once both have arrived, so two connections are open.
  std::mutex mu;
  std::condition_variable cv;
  int arrived = 0;
  TestServer server([&](const Request& r, Exchange& x) {
    {
      std::unique_lock lock(mu);
      ++arrived;
      cv.notify_all();
      cv.wait_for(lock, 3s, [&] { return arrived >= 2; });
    }
    x.write(json_response(r.body()));
    return true;
  });
  UpstreamOptions options = test_options();
  options.max_idle_per_host = 1;
  UpstreamClient client(options);
  Recorder a, b;
  client.send(server.url(), post("a"), a.callbacks());
  client.send(server.url(), post("b"), b.callbacks());
  ASSERT_TRUE(a.wait_end());
  ASSERT_TRUE(b.wait_end());
  EXPECT_EQ(server.accepted(), 2);
  ASSERT_TRUE(server.wait_closed(1));  // the older idle one
  Recorder c;
  client.send(server.url(), post("c"), c.callbacks());
  ASSERT_TRUE(c.wait_end());
  EXPECT_EQ(c.body(), "c");
  EXPECT_EQ(server.accepted(), 2);
}

TEST(GatewayUpstream, RetriesOnceWhenThePooledConnectionWasClosed) {
  // Each response says keep-alive, then the server closes the connection as an idle timeout would.
  TestServer server([](const Request& r, Exchange& x) {
    x.write(json_response(r.body()));
    return false;
  });
  UpstreamClient client(test_options());
  Recorder first;
  client.send(server.url(), post("one"), first.callbacks());
  ASSERT_TRUE(first.wait_end());
  ASSERT_TRUE(server.wait_closed(1));
  Recorder second;
  client.send(server.url(), post("two"), second.callbacks());
  ASSERT_TRUE(second.wait_end());
  EXPECT_TRUE(second.end().ok()) << second.end_message();
  EXPECT_EQ(second.body(), "two");
  EXPECT_EQ(server.accepted(), 2);
  EXPECT_EQ(server.requests().size(), 2u);  // sent once on the new connection
}

TEST(GatewayUpstream, DoesNotReuseAConnectionThatSpokeUnasked) {
  Gate idle_timeout;
  TestServer server([&](const Request& r, Exchange& x) {
    x.write(json_response(r.body()));
    if (r.body() != "one") return true;
    // Some servers answer an idle connection with a 408 before closing it.
    idle_timeout.wait();
    x.write("HTTP/1.1 408 Request Timeout\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
    return false;
  });
  UpstreamClient client(test_options());
  Recorder first;
  client.send(server.url(), post("one"), first.callbacks());
  ASSERT_TRUE(first.wait_end());
  idle_timeout.open();
  ASSERT_TRUE(server.wait_closed(1));
  Recorder second;
  client.send(server.url(), post("two"), second.callbacks());
  ASSERT_TRUE(second.wait_end());
  EXPECT_EQ(second.log(), (std::vector<std::string>{"head 200", "body two", "end ok"}));
  EXPECT_EQ(server.accepted(), 2);
}

TEST(GatewayUpstream, ReportsConnectionRefused) {
  std::uint16_t port;
  {
    asio::io_context io;
    tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::address_v4::loopback(), 0));
    port = acceptor.local_endpoint().port();
  }
  UpstreamClient client(test_options());
  Recorder rec;
  client.send(net::ServerUrl{false, "127.0.0.1", port, ""}, post("{}"), rec.callbacks());
  ASSERT_TRUE(rec.wait_end());
  EXPECT_EQ(rec.log(), (std::vector<std::string>{"end connection refused"}));
  EXPECT_EQ(rec.end().error().code, Code::kUnavailable);
}

TEST(GatewayUpstream, TimesOutWaitingForTheResponse) {
  TestServer* self = nullptr;
  TestServer server([&](const Request&, Exchange&) {
    self->stopped().wait(5s);
    return false;
  });
  self = &server;
  UpstreamOptions options = test_options();
  options.response_timeout = 150ms;
  UpstreamClient client(options);
  Recorder rec;
  auto started = std::chrono::steady_clock::now();
  client.send(server.url(), post("{}"), rec.callbacks());
  ASSERT_TRUE(rec.wait_end());
  EXPECT_LT(std::chrono::steady_clock::now() - started, 1s);
  EXPECT_EQ(rec.log(),
            (std::vector<std::string>{"end timed out after 150 ms waiting for the response"}));
}

TEST(GatewayUpstream, EndsASilentStreamAfterTheResponseTimeout) {
  TestServer* self = nullptr;
  TestServer server([&](const Request&, Exchange& x) {
    x.write(kSseHead + chunk("data: one\n\n"));
    self->stopped().wait(5s);
    return false;
  });
  self = &server;
  UpstreamOptions options = test_options();
  options.response_timeout = 150ms;
  UpstreamClient client(options);
  Recorder rec;
  client.send(server.url(), post("{}"), rec.callbacks());
  ASSERT_TRUE(rec.wait_end());
  EXPECT_EQ(rec.log(),
            (std::vector<std::string>{"head 200", "event one",
                                      "end timed out after 150 ms waiting for the response"}));
}

TEST(GatewayUpstream, RefusesOversizedBodiesAndEvents) {
  TestServer server([](const Request& r, Exchange& x) {
    if (r.target() == "/length") {
      x.write("HTTP/1.1 200 OK\r\nContent-Length: 5000\r\n\r\n" + std::string(5000, 'x'));
    } else if (r.target() == "/chunked") {
      x.write("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
      for (int i = 0; i < 3; ++i) x.write(chunk(std::string(600, 'x')));
      x.write("0\r\n\r\n");
    } else {
      x.write(kSseHead + chunk("data: small\n\n") +
              chunk("data: " + std::string(2000, 'x') + "\n\n"));
    }
    return false;
  });
  UpstreamOptions options = test_options();
  options.max_message_bytes = 1024;
  UpstreamClient client(options);
  for (std::string target : {"/length", "/chunked", "/events"}) {
    Recorder rec;
    UpstreamRequest request = post("{}");
    request.target = target;
    client.send(server.url(), request, rec.callbacks());
    ASSERT_TRUE(rec.wait_end()) << target;
    EXPECT_FALSE(rec.body().has_value()) << target;
    if (target == "/events") {
      EXPECT_EQ(rec.end_message(), "malformed event stream: event exceeds 1024 bytes");
      EXPECT_EQ(rec.events().size(), 1u);
    } else {
      EXPECT_EQ(rec.end_message(), "response body exceeds 1024 bytes") << target;
    }
  }
}

TEST(GatewayUpstream, RefusesAMalformedResponse) {
  TestServer server([](const Request&, Exchange& x) {
    x.write("HELLO there\r\n\r\n");
    return false;
  });
  UpstreamClient client(test_options());
  Recorder rec;
  client.send(server.url(), post("{}"), rec.callbacks());
  ASSERT_TRUE(rec.wait_end());
  EXPECT_EQ(rec.log().size(), 1u);
  EXPECT_EQ(rec.end_message().rfind("malformed HTTP response", 0), 0u) << rec.end_message();
}

TEST(GatewayUpstream, CancelEndsTheStreamAndNothingFollows) {
  Gate more;
  TestServer server([&](const Request&, Exchange& x) {
    x.write(kSseHead + chunk("data: one\n\n"));
    more.wait();
    x.write(chunk("data: two\n\n"));
    return false;
  });
  UpstreamClient client(test_options());
  Recorder rec;
  auto call = client.send(server.url(), post("{}"), rec.callbacks());
  ASSERT_TRUE(rec.wait_events(1));
  call->cancel();
  more.open();
  ASSERT_TRUE(rec.wait_end());
  std::this_thread::sleep_for(50ms);
  EXPECT_EQ(rec.log(), (std::vector<std::string>{"head 200", "event one", "end cancelled"}));
  call->cancel();  // again, after the end: nothing happens
  EXPECT_EQ(rec.log().size(), 3u);
}

TEST(GatewayUpstream, DestroyingTheClientEndsCallsInFlight) {
  TestServer* self = nullptr;
  TestServer server([&](const Request&, Exchange& x) {
    x.write(kSseHead + chunk("data: one\n\n"));
    self->stopped().wait(5s);
    return false;
  });
  self = &server;
  Recorder rec;
  std::shared_ptr<UpstreamCall> call;
  {
    UpstreamClient client(test_options());
    call = client.send(server.url(), post("{}"), rec.callbacks());
    ASSERT_TRUE(rec.wait_events(1));
  }
  EXPECT_EQ(rec.log(), (std::vector<std::string>{"head 200", "event one", "end cancelled"}));
  call->cancel();  // the call outlives its client harmlessly
}

TEST(GatewayUpstream, ACallbackThatThrowsEndsTheCall) {
  TestServer server([](const Request&, Exchange& x) {
    x.write(json_response("{}"));
    return true;
  });
  UpstreamClient client(test_options());
  Recorder rec;
  UpstreamCallbacks callbacks = rec.callbacks();
  callbacks.on_head = [](const UpstreamHead&) { throw std::runtime_error("boom"); };
  client.send(server.url(), post("{}"), callbacks);
  ASSERT_TRUE(rec.wait_end());
  EXPECT_EQ(rec.log(), (std::vector<std::string>{"end upstream call callback failed: boom"}));
}

TEST(GatewayUpstream, RefusesHeadersWithLineBreaks) {
  UpstreamClient client(test_options());
  Recorder rec;
  UpstreamRequest request = post("{}");
  request.headers.emplace_back("Authorization", "Bearer x\r\nX-Forged: 1");
  client.send(net::ServerUrl{false, "127.0.0.1", 9, ""}, request, rec.callbacks());
  ASSERT_TRUE(rec.wait_end());
  EXPECT_EQ(rec.end().error().code, Code::kInvalidArgument);
}

TEST(GatewayUpstream, RefusesALoneCrLfOrNulAnywhereInTheHead) {
  // Anywhere in a long value (a token is hundreds of bytes), in a name, or in the target.
  const std::string token(800, 'a');
  for (std::string bad : {std::string("\r"), std::string("\n"), std::string(1, '\0')}) {
    std::vector<UpstreamRequest> requests;
    for (std::size_t at : {std::size_t{0}, std::size_t{400}, token.size()}) {
      UpstreamRequest r = post("{}");
      r.headers.emplace_back("Authorization",
                             "Bearer " + token.substr(0, at) + bad + token.substr(at));
      requests.push_back(std::move(r));
    }
    UpstreamRequest name = post("{}");
    name.headers.emplace_back("X-Odd" + bad, "1");
    requests.push_back(std::move(name));
    UpstreamRequest target = post("{}");
    target.target += bad;
    requests.push_back(std::move(target));
    for (auto& request : requests) {
      UpstreamClient client(test_options());
      Recorder rec;
      client.send(net::ServerUrl{false, "127.0.0.1", 9, ""}, request, rec.callbacks());
      ASSERT_TRUE(rec.wait_end());
      EXPECT_EQ(rec.end().error().code, Code::kInvalidArgument) << static_cast<int>(bad[0]);
    }
  }
}

TEST(GatewayUpstream, CompletesManyCallsInParallel) {
  TestServer server([](const Request& r, Exchange& x) {
    x.write(json_response(r.body()));
    return true;
  });
  UpstreamOptions options = test_options();
  options.threads = 2;
  UpstreamClient client(options);
  constexpr int kCalls = 32;
  std::vector<Recorder> recs(kCalls);
  for (int i = 0; i < kCalls; ++i) {
    client.send(server.url(), post("n=" + std::to_string(i)), recs[i].callbacks());
  }
  for (int i = 0; i < kCalls; ++i) {
    ASSERT_TRUE(recs[i].wait_end()) << i;
    EXPECT_TRUE(recs[i].end().ok()) << recs[i].end_message();
    EXPECT_EQ(recs[i].body(), "n=" + std::to_string(i));
  }
  EXPECT_LE(server.accepted(), kCalls);
  // Now pooled: another round opens no new connection.
  int before = server.accepted();
  Recorder again;
  client.send(server.url(), post("again"), again.callbacks());
  ASSERT_TRUE(again.wait_end());
  EXPECT_EQ(server.accepted(), before);
}

TEST(GatewayUpstream, SkipsInterimResponses) {
  TestServer server([](const Request&, Exchange& x) {
    x.write("HTTP/1.1 103 Early Hints\r\nLink: </style.css>\r\n\r\n" + json_response("{}"));
    return true;
  });
  UpstreamClient client(test_options());
  Recorder rec;
  client.send(server.url(), post("{}"), rec.callbacks());
  ASSERT_TRUE(rec.wait_end());
  EXPECT_EQ(rec.log(), (std::vector<std::string>{"head 200", "body {}", "end ok"}));
}

// A self-signed certificate for IP 127.0.0.1, as PEM files in a fresh temporary directory.
class SelfSigned {
 public:
  SelfSigned() {
    dir_ = std::filesystem::temp_directory_path() /
           ("custody-upstream-tls-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_);
    ok_ = custody::test_support::write_self_signed(dir_);
    server_context_.use_certificate_chain_file(cert_file());
    server_context_.use_private_key_file(key_file(), asio::ssl::context::pem);
  }
  ~SelfSigned() {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  bool ok() const { return ok_; }
  std::string cert_file() const { return (dir_ / "tls.crt").string(); }
  std::string key_file() const { return (dir_ / "tls.key").string(); }
  asio::ssl::context* server_context() { return &server_context_; }

 private:
  std::filesystem::path dir_;
  bool ok_ = false;
  asio::ssl::context server_context_{asio::ssl::context::tls_server};
};

// Points OpenSSL's default trust store at one file for the scope (the client reads it when
// constructed), restoring what was there.
class TrustOnly {
 public:
  explicit TrustOnly(const std::string& file) {
    if (const char* old = std::getenv("SSL_CERT_FILE")) old_ = old;
    ::setenv("SSL_CERT_FILE", file.c_str(), 1);
  }
  ~TrustOnly() {
    if (old_) {
      ::setenv("SSL_CERT_FILE", old_->c_str(), 1);
    } else {
      ::unsetenv("SSL_CERT_FILE");
    }
  }

 private:
  std::optional<std::string> old_;
};

TEST(GatewayUpstream, RefusesAnUntrustedCertificate) {
  SelfSigned cert;
  ASSERT_TRUE(cert.ok());
  TestServer server(
      [](const Request&, Exchange& x) {
        x.write(json_response("{}"));
        return true;
      },
      cert.server_context());
  UpstreamClient client(test_options());
  Recorder rec;
  net::ServerUrl url = server.url();
  url.tls = true;
  client.send(url, post("{}"), rec.callbacks());
  ASSERT_TRUE(rec.wait_end());
  EXPECT_EQ(rec.end_message().rfind("TLS certificate verification failed: ", 0), 0u)
      << rec.end_message();
  EXPECT_FALSE(rec.head().has_value());
}

TEST(GatewayUpstream, StreamsAndKeepsAliveOverTls) {
  SelfSigned cert;
  ASSERT_TRUE(cert.ok());
  TestServer server(
      [](const Request& r, Exchange& x) {
        if (r.method() == http::verb::get) {
          x.write(kSseHead + chunk("id: 1\ndata: a\n\n") + chunk("id: 2\ndata: b\n\n") +
                  "0\r\n\r\n");
        } else {
          x.write(json_response(r.body()));
        }
        return true;
      },
      cert.server_context());
  std::optional<UpstreamClient> client;
  {
    TrustOnly trust(cert.cert_file());
    client.emplace(test_options());
  }
  net::ServerUrl url = server.url();
  url.tls = true;
  Recorder first;
  client->send(url, post("over tls"), first.callbacks());
  ASSERT_TRUE(first.wait_end());
  EXPECT_TRUE(first.end().ok()) << first.end_message();
  EXPECT_EQ(first.body(), "over tls");
  Recorder second;
  UpstreamRequest get;
  get.method = net::Method::kGet;
  get.target = "/mcp";
  client->send(url, get, second.callbacks());
  ASSERT_TRUE(second.wait_end());
  EXPECT_TRUE(second.end().ok()) << second.end_message();
  EXPECT_EQ(second.events().size(), 2u);
  EXPECT_EQ(server.accepted(), 1);
}

}  // namespace
}  // namespace custody::gateway
