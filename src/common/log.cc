#include "common/log.h"

#include <unistd.h>

#include <atomic>

#include "common/clock.h"

namespace custody::log {
namespace {
std::atomic<int> g_min_level{static_cast<int>(Level::kInfo)};
std::atomic<bool> g_text{false};

std::string_view level_name(Level l) {
  switch (l) {
    case Level::kDebug:
      return "debug";
    case Level::kInfo:
      return "info";
    case Level::kWarn:
      return "warn";
    case Level::kError:
      return "error";
  }
  return "info";
}
}  // namespace

void configure(std::string_view level, std::string_view format) {
  Level l = Level::kInfo;
  if (level == "debug") l = Level::kDebug;
  if (level == "warn") l = Level::kWarn;
  if (level == "error") l = Level::kError;
  g_min_level = static_cast<int>(l);
  g_text = (format == "text");
}

bool enabled(Level level) {
  return static_cast<int>(level) >= g_min_level.load();
}

void write(Level level, std::string_view msg, const nlohmann::json& fields) {
  if (!enabled(level)) return;
  std::string line;
  std::string time = format_rfc3339(SystemClock().now());
  if (g_text) {
    // Appends rather than operator+ chains: g++ 12 at -O3 warns falsely (-Wrestrict) on those.
    line.append(time).append(" ").append(level_name(level)).append(" ").append(msg);
    if (fields.is_object() && !fields.empty()) {
      line.append(" ").append(
          fields.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
    }
  } else {
    nlohmann::json j = {{"time", time}, {"level", level_name(level)}, {"msg", msg}};
    if (fields.is_object()) j.update(fields);
    line = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  }
  line += '\n';
  const char* p = line.data();
  size_t left = line.size();
  while (left > 0) {
    ssize_t n = ::write(STDERR_FILENO, p, left);
    if (n <= 0) break;
    p += n;
    left -= static_cast<size_t>(n);
  }
}

}  // namespace custody::log
