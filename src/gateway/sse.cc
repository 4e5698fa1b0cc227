// Server-sent events, parsed as WHATWG HTML §9.2.6 "Interpreting an event stream" says, and
// written back in the same form.
#include <charconv>

#include "gateway/upstream_client.h"

namespace custody::gateway {
namespace {

constexpr std::string_view kBom = "\xEF\xBB\xBF";

bool all_digits(std::string_view text) {
  if (text.empty()) return false;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

// Appends `text` without CR and LF, which would end the field early.
void append_single_line(std::string& out, std::string_view text) {
  for (char c : text) {
    if (c != '\r' && c != '\n') out += c;
  }
}

}  // namespace

Status SseParser::over_limit() const {
  return Error::unavailable("malformed event stream: event exceeds " +
                            std::to_string(max_event_bytes_) + " bytes");
}

Status SseParser::feed(std::string_view bytes, const std::function<void(SseEvent)>& on_event) {
  if (failed_) return over_limit();
  std::string head;
  if (!bom_checked_) {
    // The BOM may itself arrive split across slices: hold bytes until it is clear.
    bom_prefix_.append(bytes);
    if (bom_prefix_.size() < kBom.size() && kBom.starts_with(bom_prefix_)) return ok_status();
    bom_checked_ = true;
    head = std::move(bom_prefix_);
    bom_prefix_.clear();
    if (head.starts_with(kBom)) head.erase(0, kBom.size());
    bytes = head;
  }
  while (!bytes.empty()) {
    if (last_was_cr_) {
      // "\r\n" is one line end even when the two bytes arrive in different slices.
      last_was_cr_ = false;
      if (bytes.front() == '\n') {
        bytes.remove_prefix(1);
        continue;
      }
    }
    std::size_t end = bytes.find_first_of("\r\n");
    if (end == std::string_view::npos) {
      pending_.append(bytes);
      if (pending_.size() + current_.data.size() > max_event_bytes_) {
        failed_ = true;
        return over_limit();
      }
      return ok_status();
    }
    last_was_cr_ = bytes[end] == '\r';
    if (pending_.empty()) {
      line(bytes.substr(0, end), on_event);
    } else {
      pending_.append(bytes.substr(0, end));
      line(pending_, on_event);
      pending_.clear();
    }
    bytes.remove_prefix(end + 1);
    if (current_.data.size() > max_event_bytes_) {
      failed_ = true;
      return over_limit();
    }
  }
  return ok_status();
}

void SseParser::line(std::string_view text, const std::function<void(SseEvent)>& on_event) {
  if (text.empty()) {
    // A blank line ends the block; only blocks with an id or data are events for the caller.
    SseEvent event = std::move(current_);
    current_ = SseEvent{};
    if (event.has_id || event.has_data) on_event(std::move(event));
    return;
  }
  if (text.front() == ':') return;  // a comment (keep-alive pings look like this)
  std::string_view field = text, value;
  if (std::size_t colon = text.find(':'); colon != std::string_view::npos) {
    field = text.substr(0, colon);
    value = text.substr(colon + 1);
    if (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  }
  if (field == "data") {
    if (current_.has_data) current_.data += '\n';
    current_.data.append(value);
    current_.has_data = true;
  } else if (field == "event") {
    current_.event = std::string(value);
  } else if (field == "id") {
    // An id with NUL is ignored so that it cannot truncate the Last-Event-ID header.
    if (value.find('\0') == std::string_view::npos) {
      current_.id = std::string(value);
      current_.has_id = true;
    }
  } else if (field == "retry") {
    long ms = 0;
    auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), ms);
    if (all_digits(value) && ec == std::errc() && end == value.data() + value.size()) {
      current_.retry_ms = ms;
    }
  }
}

std::string format_sse_event(const SseEvent& event) {
  std::string out;
  // One allocation for the usual event (a single data line).
  out.reserve(event.id.size() + event.event.size() + event.data.size() + 32);
  if (event.has_id || !event.id.empty()) {
    out += "id: ";
    append_single_line(out, event.id);
    out += '\n';
  }
  if (!event.event.empty()) {
    out += "event: ";
    append_single_line(out, event.event);
    out += '\n';
  }
  if (event.retry_ms && *event.retry_ms >= 0) {
    out += "retry: " + std::to_string(*event.retry_ms) + "\n";
  }
  if (event.has_data || !event.data.empty()) {
    std::string_view rest = event.data;
    for (;;) {
      std::size_t end = rest.find_first_of("\r\n");
      out += "data: ";
      out.append(rest.substr(0, end));
      out += '\n';
      if (end == std::string_view::npos) break;
      std::size_t skip = rest.compare(end, 2, "\r\n") == 0 ? 2 : 1;
      rest.remove_prefix(end + skip);
    }
  }
  out += '\n';
  return out;
}

}  // namespace custody::gateway
