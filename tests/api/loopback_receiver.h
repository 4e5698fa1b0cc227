// An HTTP receiver on 127.0.0.1 for tests of what custodyd sends out (approver webhooks, CIBA
// pings, pushed SETs): records each request with its headers and answers with the next scripted
// status and JSON body (the default status, 204 unless set, when none is scripted). One
// connection at a time, Connection: close.
#pragma once

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cctype>
#include <chrono>
#include <deque>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "harness.h"

namespace custody::apitest {

class LoopbackReceiver {
 public:
  struct Received {
    std::string method, target, head, body;
    // The first header with this name (case-insensitive); empty when absent.
    std::string header(std::string name) const {
      std::string lower = head;
      for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      auto at = lower.find("\r\n" + name + ":");
      if (at == std::string::npos) return {};
      auto start = at + 3 + name.size();
      auto end = head.find("\r\n", start);
      std::string value = head.substr(start, end - start);
      while (!value.empty() && value.front() == ' ') value.erase(0, 1);
      return value;
    }
  };

  // `port` 0 picks a free one; another port rebinds one a stopped receiver used.
  explicit LoopbackReceiver(std::string path = "/hook", std::uint16_t port = 0,
                            int default_status = 204)
      : path_(std::move(path)), default_status_(default_status) {
    listen(port);
  }
  ~LoopbackReceiver() { stop(); }
  LoopbackReceiver(const LoopbackReceiver&) = delete;
  LoopbackReceiver& operator=(const LoopbackReceiver&) = delete;

  std::uint16_t port() const { return port_; }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_) + path_; }
  void script(int status, std::string json_body = {}) {
    std::lock_guard lock(mu_);
    scripted_.emplace_back(status, std::move(json_body));
  }
  std::vector<Received> received() {
    std::lock_guard lock(mu_);
    return received_;
  }
  // Waits until at least `n` requests have arrived.
  bool wait_for(std::size_t n, Millis timeout = Millis(10'000)) {
    auto until = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < until) {
      if (received().size() >= n) return true;
      std::this_thread::sleep_for(Millis(20));
    }
    return received().size() >= n;
  }
  void stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  void listen(std::uint16_t port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    ::setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(port);
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        ::listen(fd_, 16) != 0) {
      ADD_FAILURE() << "receiver cannot listen on port " << port;
      return;
    }
    socklen_t len = sizeof addr;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] { serve(); });
  }

  void serve() {
    while (!stop_) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 50) <= 0) continue;
      int c = ::accept(fd_, nullptr, nullptr);
      if (c < 0) continue;
      handle(c);
      ::close(c);
    }
  }

  void handle(int c) {
    std::string data;
    char buf[4096];
    auto deadline = std::chrono::steady_clock::now() + Millis(5000);
    std::size_t head_end = std::string::npos;
    std::size_t length = 0;
    Received r;
    while (std::chrono::steady_clock::now() < deadline) {
      pollfd p{c, POLLIN, 0};
      if (::poll(&p, 1, 100) <= 0) continue;
      ssize_t n = ::recv(c, buf, sizeof buf, 0);
      if (n <= 0) break;
      data.append(buf, static_cast<std::size_t>(n));
      if (head_end == std::string::npos) {
        head_end = data.find("\r\n\r\n");
        if (head_end != std::string::npos) {
          r.head = data.substr(0, head_end + 2);
          length = std::stoul("0" + r.header("content-length"));
        }
      }
      if (head_end != std::string::npos && data.size() >= head_end + 4 + length) break;
    }
    if (head_end == std::string::npos) return;
    auto sp1 = r.head.find(' ');
    auto sp2 = r.head.find(' ', sp1 + 1);
    r.method = r.head.substr(0, sp1);
    r.target = r.head.substr(sp1 + 1, sp2 - sp1 - 1);
    r.body = data.substr(head_end + 4, length);
    std::pair<int, std::string> reply{default_status_, ""};
    {
      std::lock_guard lock(mu_);
      received_.push_back(r);
      if (!scripted_.empty()) {
        reply = std::move(scripted_.front());
        scripted_.pop_front();
      }
    }
    std::string out = "HTTP/1.1 " + std::to_string(reply.first) + " X\r\nConnection: close\r\n";
    if (!reply.second.empty()) out += "Content-Type: application/json\r\n";
    out += "Content-Length: " + std::to_string(reply.second.size()) + "\r\n\r\n" + reply.second;
    (void)::send(c, out.data(), out.size(), MSG_NOSIGNAL);
  }

  std::string path_;
  const int default_status_;
  int fd_ = -1;
  std::uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  std::mutex mu_;
  std::deque<std::pair<int, std::string>> scripted_;
  std::vector<Received> received_;
};

}  // namespace custody::apitest
