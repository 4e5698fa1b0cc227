#include "gateway/upstream_pool.h"

#include <boost/asio/post.hpp>

namespace custody::gateway {

namespace asio = boost::asio;
namespace beast = boost::beast;

UpstreamConnection::UpstreamConnection(asio::io_context& context, asio::ssl::context* tls_context)
    : context_(context), idle_timer_(context) {
  if (tls_context) {
    tls_.emplace(context, *tls_context);
  } else {
    plain_.emplace(context);
  }
}

beast::tcp_stream& UpstreamConnection::tcp() {
  return tls_ ? tls_->next_layer() : *plain_;
}

void UpstreamConnection::close() {
  beast::error_code ec;
  tcp().socket().shutdown(asio::ip::tcp::socket::shutdown_both, ec);
  tcp().close();
}

std::shared_ptr<UpstreamConnection> UpstreamPool::take(const std::string& key) {
  std::lock_guard lock(mu_);
  auto it = idle_.find(key);
  if (it == idle_.end()) return nullptr;
  auto& idle = it->second;
  const auto now = Clock::now();
  std::shared_ptr<UpstreamConnection> found;
  while (!idle.empty() && !found) {
    Idle entry = std::move(idle.back());
    idle.pop_back();
    // The timer may not have fired yet on a busy thread; an expired entry is not handed out.
    if (now - entry.since < idle_keepalive_) {
      found = std::move(entry.connection);
    } else {
      close_on_its_thread(std::move(entry.connection));
    }
  }
  if (idle.empty()) idle_.erase(it);
  return found;
}

void UpstreamPool::claim(UpstreamConnection& connection) {
  connection.idle_timer_.cancel();
}

void UpstreamPool::put(const std::string& key, std::shared_ptr<UpstreamConnection> connection) {
  std::uint64_t generation;
  {
    std::lock_guard lock(mu_);
    if (closed_ || max_idle_ == 0) {
      connection->close();
      return;
    }
    generation = ++next_generation_;
    auto& idle = idle_[key];
    idle.push_back(Idle{connection, generation, Clock::now()});
    while (idle.size() > max_idle_) {
      close_on_its_thread(std::move(idle.front().connection));
      idle.pop_front();
    }
  }
  connection->idle_timer_.expires_after(idle_keepalive_);
  // The handler holds no reference to the connection, which the pool (or a call) owns; the
  // generation tells a stale wake-up (the connection was taken, maybe pooled again) from a due one.
  connection->idle_timer_.async_wait([this, key, generation](const beast::error_code& ec) {
    if (!ec) expire(key, generation);
  });
}

void UpstreamPool::expire(const std::string& key, std::uint64_t generation) {
  std::shared_ptr<UpstreamConnection> expired;
  {
    std::lock_guard lock(mu_);
    auto it = idle_.find(key);
    if (it == idle_.end()) return;
    auto& idle = it->second;
    for (auto entry = idle.begin(); entry != idle.end(); ++entry) {
      if (entry->generation == generation) {
        expired = std::move(entry->connection);
        idle.erase(entry);
        break;
      }
    }
    if (idle.empty()) idle_.erase(it);
  }
  if (expired) expired->close();
}

void UpstreamPool::close_all() {
  std::map<std::string, std::deque<Idle>> idle;
  {
    std::lock_guard lock(mu_);
    closed_ = true;
    idle.swap(idle_);
  }
  for (auto& [key, entries] : idle) {
    for (auto& entry : entries) close_on_its_thread(std::move(entry.connection));
  }
}

void UpstreamPool::close_on_its_thread(std::shared_ptr<UpstreamConnection> connection) {
  asio::io_context& context = connection->context();
  asio::post(context, [connection = std::move(connection)] {
    connection->idle_timer_.cancel();
    connection->close();
  });
}

}  // namespace custody::gateway
