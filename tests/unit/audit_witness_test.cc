// The witness POST: a signed tree head reaches an HTTP endpoint as application/json, a non-2xx
// answer or an unreachable witness is an error.
#include <gtest/gtest.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/write.hpp>
#include <thread>

#include "audit/witness.h"

namespace custody::audit {
namespace {

using boost::asio::ip::tcp;

// Accepts one connection, keeps the request and answers with `status`.
class OneShotWitness {
 public:
  explicit OneShotWitness(int status) : acceptor_(io_, tcp::endpoint(tcp::v4(), 0)) {
    port_ = acceptor_.local_endpoint().port();
    thread_ = std::thread([this, status] {
      tcp::socket socket(io_);
      acceptor_.accept(socket);
      boost::asio::streambuf buf;
      boost::system::error_code ec;
      boost::asio::read_until(socket, buf, "\r\n\r\n", ec);
      std::string data(boost::asio::buffers_begin(buf.data()),
                       boost::asio::buffers_end(buf.data()));
      const auto len_at = data.find("Content-Length: ");
      const std::size_t head_end = data.find("\r\n\r\n") + 4;
      const std::size_t len =
          len_at == std::string::npos ? 0 : std::stoul(data.substr(len_at + 16));
      while (data.size() < head_end + len && !ec) {
        char chunk[4096];
        std::size_t n = socket.read_some(boost::asio::buffer(chunk), ec);
        data.append(chunk, n);
      }
      request_ = data;
      const std::string reply = "HTTP/1.1 " + std::to_string(status) +
                                " X\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
      boost::asio::write(socket, boost::asio::buffer(reply), ec);
    });
  }
  ~OneShotWitness() {
    if (thread_.joinable()) thread_.join();
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/sth"; }
  std::string request() {
    thread_.join();
    return request_;
  }

 private:
  boost::asio::io_context io_;
  tcp::acceptor acceptor_;
  unsigned short port_ = 0;
  std::thread thread_;
  std::string request_;
};

TEST(AuditWitness, PostsTheHeadAsJson) {
  OneShotWitness witness(204);
  const std::string body = R"({"tree_size":3})";
  Status st = post_json(witness.url(), body, std::chrono::milliseconds(5000));
  EXPECT_TRUE(st.ok()) << st.error().message;
  const std::string req = witness.request();
  EXPECT_EQ(req.rfind("POST /sth HTTP/1.1\r\n", 0), 0u) << req;
  EXPECT_NE(req.find("Content-Type: application/json"), std::string::npos) << req;
  EXPECT_EQ(req.substr(req.size() - body.size()), body);
}

TEST(AuditWitness, RefusalsAndUnreachableWitnessesAreErrors) {
  OneShotWitness witness(500);
  Status st = post_json(witness.url(), "{}", std::chrono::milliseconds(5000));
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code, Code::kUnavailable);
  (void)witness.request();
  // Port 1 on loopback: nothing listens there.
  EXPECT_FALSE(post_json("http://127.0.0.1:1/", "{}", std::chrono::milliseconds(2000)).ok());
  EXPECT_EQ(post_json("https://example.com/", "{}", std::chrono::milliseconds(100)).error().code,
            Code::kInvalidArgument);
}

}  // namespace
}  // namespace custody::audit
