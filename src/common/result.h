// Result<T>: either a value or an Error. Every fallible call in custody returns one; exceptions
// never cross a module boundary. (std::expected arrives with C++23; this is the subset we need.)
#pragma once

#include <cassert>
#include <utility>
#include <variant>

#include "common/error.h"

namespace custody {

template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}      // NOLINT(google-explicit-constructor)
  Result(Error error) : v_(std::move(error)) {}  // NOLINT(google-explicit-constructor)

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }

  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

  const Error& error() const& { return std::get<1>(v_); }
  Error&& error() && { return std::get<1>(std::move(v_)); }

 private:
  std::variant<T, Error> v_;
};

// Status: success or an Error, for calls with no value.
class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(Error error) : error_(std::move(error)), ok_(false) {}  // NOLINT
  bool ok() const { return ok_; }
  explicit operator bool() const { return ok_; }
  const Error& error() const { return error_; }

 private:
  Error error_;
  bool ok_ = true;
};

inline Status ok_status() {
  return Status();
}

}  // namespace custody

// Early return of the error of a Result/Status expression.
#define CUSTODY_TRY(expr)                                              \
  do {                                                                 \
    auto custody_try_status_ = (expr);                                 \
    if (!custody_try_status_.ok()) return custody_try_status_.error(); \
  } while (0)

#define CUSTODY_CONCAT_INNER(a, b) a##b
#define CUSTODY_CONCAT(a, b) CUSTODY_CONCAT_INNER(a, b)
// CUSTODY_ASSIGN(auto x, expr): evaluates expr (a Result), returns its error or binds the value.
#define CUSTODY_ASSIGN(decl, expr) \
  CUSTODY_ASSIGN_IMPL(CUSTODY_CONCAT(custody_r_, __LINE__), decl, expr)
#define CUSTODY_ASSIGN_IMPL(tmp, decl, expr)    \
  auto tmp = (expr);                            \
  if (!tmp.ok()) return std::move(tmp).error(); \
  decl = std::move(tmp).value()
