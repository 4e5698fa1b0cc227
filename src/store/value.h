// Values that cross the store boundary: NULL, 64-bit integer, or text. custody keeps times as
// integer microseconds, booleans as 0/1, and JSON documents as text, so these three suffice and
// the same SQL runs on SQLite and PostgreSQL.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace custody::store {

using Null = std::monostate;
using Value = std::variant<Null, std::int64_t, std::string>;

// One result row. Accessors on a column of the wrong type throw std::bad_variant_access: that is
// a programming error (the SQL and the reader disagree), caught by the tests, never by users.
class Row {
 public:
  Row() = default;
  explicit Row(std::vector<Value> values) : values_(std::move(values)) {}

  std::size_t size() const { return values_.size(); }
  bool is_null(std::size_t i) const { return std::holds_alternative<Null>(values_.at(i)); }
  const std::string& text(std::size_t i) const { return std::get<std::string>(values_.at(i)); }
  std::int64_t integer(std::size_t i) const { return std::get<std::int64_t>(values_.at(i)); }
  std::optional<std::string> opt_text(std::size_t i) const {
    if (is_null(i)) return std::nullopt;
    return text(i);
  }
  std::optional<std::int64_t> opt_integer(std::size_t i) const {
    if (is_null(i)) return std::nullopt;
    return integer(i);
  }
  const Value& at(std::size_t i) const { return values_.at(i); }

 private:
  std::vector<Value> values_;
};

using Rows = std::vector<Row>;

// Helpers to bind optionals.
inline Value opt(const std::optional<std::string>& v) {
  return v ? Value(*v) : Value(Null{});
}
inline Value opt(const std::optional<std::int64_t>& v) {
  return v ? Value(*v) : Value(Null{});
}

}  // namespace custody::store
