// OAuthResult<T>: a value or an OAuthError, for the steps of an OAuth endpoint whose refusals
// must keep their wire code and bound (a plain custody Error has no place for them).
#pragma once

#include <utility>
#include <variant>

#include "oauth/oauth_error.h"

namespace custody::oauth {

template <class T>
class [[nodiscard]] OAuthResult {
 public:
  OAuthResult(T value) : v_(std::move(value)) {}           // NOLINT
  OAuthResult(OAuthError error) : v_(std::move(error)) {}  // NOLINT
  bool ok() const { return v_.index() == 0; }
  T& value() & { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  const T& value() const& { return std::get<0>(v_); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  const OAuthError& error() const { return std::get<1>(v_); }

 private:
  std::variant<T, OAuthError> v_;
};

}  // namespace custody::oauth

// OAUTH_ASSIGN(auto x, expr): binds the value of an OAuthResult or returns its error.
#define OAUTH_ASSIGN(decl, expr) OAUTH_ASSIGN_IMPL(CUSTODY_CONCAT(oauth_r_, __LINE__), decl, expr)
#define OAUTH_ASSIGN_IMPL(tmp, decl, expr) \
  auto tmp = (expr);                       \
  if (!tmp.ok()) return tmp.error();       \
  decl = std::move(tmp).value()
