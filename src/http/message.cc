#include "http/message.h"

#include <optional>

#include "common/encoding.h"

namespace custody::http {

std::string_view Request::header(std::string_view name) const {
  auto it = raw.find(name);
  if (it == raw.end()) return {};
  return it->value();
}

std::string_view Request::param(std::string_view name) const {
  for (const auto& [k, v] : path_params)
    if (k == name) return v;
  return {};
}

void Responder::operator()(Response response) const {
  bool expected = false;
  if (state_->done.compare_exchange_strong(expected, true)) state_->send(std::move(response));
}

void BodyStream::write(std::string chunk) {
  std::function<void()> wake;
  bool overflow = false;
  {
    std::lock_guard lock(mu_);
    if (closed_ || cancelled_ || chunk.empty()) return;
    overflow = queued_bytes_ + chunk.size() > max_queued_bytes_;
    if (!overflow) {
      queued_bytes_ += chunk.size();
      queued_.push_back(std::move(chunk));
      wake = std::move(wake_);
      wake_ = nullptr;
    }
  }
  if (overflow) return cancel();  // the reader is too slow: see the class comment
  if (wake) wake();
}

void BodyStream::close() {
  std::function<void()> wake;
  {
    std::lock_guard lock(mu_);
    if (closed_) return;
    closed_ = true;
    on_cancel_ = nullptr;  // nothing left to stop; and it must not keep the producer alive
    wake = std::move(wake_);
    wake_ = nullptr;
  }
  if (wake) wake();
}

bool BodyStream::cancelled() const {
  std::lock_guard lock(mu_);
  return cancelled_;
}

void BodyStream::on_cancel(std::function<void()> callback) {
  {
    std::lock_guard lock(mu_);
    if (!cancelled_) {
      on_cancel_ = std::move(callback);
      return;
    }
  }
  callback();
}

BodyStream::Taken BodyStream::take(std::function<void()> wake) {
  std::lock_guard lock(mu_);
  Taken out;
  out.chunks.swap(queued_);
  queued_bytes_ = 0;
  out.closed = closed_;
  if (out.chunks.empty() && !closed_) wake_ = std::move(wake);
  return out;
}

void BodyStream::cancel() {
  std::function<void()> callback;
  {
    std::lock_guard lock(mu_);
    if (cancelled_) return;
    cancelled_ = true;
    queued_.clear();
    queued_bytes_ = 0;
    wake_ = nullptr;
    callback = std::move(on_cancel_);
  }
  if (callback) callback();
}

std::optional<std::string> url_decode(std::string_view text) {
  return form_decode(text);
}

Result<std::vector<std::pair<std::string, std::string>>> parse_query(std::string_view query) {
  std::vector<std::pair<std::string, std::string>> out;
  while (!query.empty()) {
    size_t amp = query.find('&');
    std::string_view part = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
    if (part.empty()) continue;
    size_t eq = part.find('=');
    auto name = url_decode(part.substr(0, eq));
    auto value =
        url_decode(eq == std::string_view::npos ? std::string_view{} : part.substr(eq + 1));
    std::string raw_name(part.substr(0, eq));
    if (!name || !value)
      return Error::invalid("query parameter \"" + raw_name + "\" has a malformed %-escape",
                            name ? *name : raw_name);
    out.emplace_back(std::move(*name), std::move(*value));
  }
  return out;
}

}  // namespace custody::http
