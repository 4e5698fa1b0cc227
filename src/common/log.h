// Structured logging: one JSON object per line on stderr (or "text" lines for humans).
// Thread-safe; each line is written with a single write(2) so lines never interleave.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

namespace custody::log {

enum class Level { kDebug, kInfo, kWarn, kError };

// Set once at start-up, before other threads log.
void configure(std::string_view level, std::string_view format);
bool enabled(Level level);

// Writes {"time":…, "level":…, "msg":…, ...fields}.
void write(Level level, std::string_view msg,
           const nlohmann::json& fields = nlohmann::json::object());

inline void info(std::string_view msg, const nlohmann::json& f = nlohmann::json::object()) {
  write(Level::kInfo, msg, f);
}
inline void warn(std::string_view msg, const nlohmann::json& f = nlohmann::json::object()) {
  write(Level::kWarn, msg, f);
}
inline void error(std::string_view msg, const nlohmann::json& f = nlohmann::json::object()) {
  write(Level::kError, msg, f);
}
inline void debug(std::string_view msg, const nlohmann::json& f = nlohmann::json::object()) {
  if (enabled(Level::kDebug)) write(Level::kDebug, msg, f);
}

}  // namespace custody::log
