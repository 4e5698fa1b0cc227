// Time source. Domain code takes a Clock& so tests can fix the time; production uses SystemClock.
// Times are Unix epoch microseconds (int64) everywhere in custody: in the store, in events, in
// code.
#pragma once

#include <cstdint>
#include <string>

namespace custody {

using Micros = std::int64_t;
constexpr Micros kMicrosPerSecond = 1'000'000;

class Clock {
 public:
  virtual ~Clock() = default;
  virtual Micros now() const = 0;
};

class SystemClock final : public Clock {
 public:
  Micros now() const override;
};

// A clock that only moves when told to; for tests.
class FixedClock final : public Clock {
 public:
  explicit FixedClock(Micros t) : t_(t) {}
  Micros now() const override { return t_; }
  void advance(Micros d) { t_ += d; }
  void set(Micros t) { t_ = t; }

 private:
  Micros t_;
};

// RFC 3339 UTC with microseconds trimmed to milliseconds: "2026-11-29T21:55:00.123Z".
std::string format_rfc3339(Micros t);
// Parses RFC 3339 ("2026-11-29T21:55:00Z", optional fraction, "Z" or ±hh:mm). False on bad input.
bool parse_rfc3339(std::string_view text, Micros* out);

}  // namespace custody
