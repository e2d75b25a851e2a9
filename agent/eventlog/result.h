#pragma once

// A value or an error message, for the protobuf-free event-log core.
//
// Why not absl::StatusOr: the core (agent/eventlog/*, agent/core/edge_dedup)
// is also compiled with mingw-w64 into pkiwatch-diag.exe, and no mingw build
// of Abseil or protobuf exists in the toolchain. The core therefore uses only
// the standard library and pugixml. Result<T> is the smallest replacement;
// the agent converts an error to absl::Status at the module boundary
// (agent/eventlog/event_finding.h, ToStatus).

#include <optional>
#include <string>
#include <utility>

namespace pkiwatch::eventlog {

template <typename T>
class Result {
 public:
  // Implicit on purpose, so that `return value;` works like with StatusOr.
  Result(T value) : value_(std::move(value)) {}  // NOLINT(google-explicit-constructor)

  // An error. `message` names the function or input and says what is wrong.
  static Result Error(std::string message) {
    Result r;
    r.error_ = std::move(message);
    return r;
  }

  bool ok() const { return value_.has_value(); }
  // Empty when ok().
  const std::string& error() const { return error_; }

  // Only valid when ok(); check first.
  const T& value() const& { return *value_; }
  T& value() & { return *value_; }
  T&& value() && { return std::move(*value_); }
  const T& operator*() const& { return *value_; }
  T& operator*() & { return *value_; }
  const T* operator->() const { return &*value_; }
  T* operator->() { return &*value_; }

 private:
  Result() = default;

  std::optional<T> value_;
  std::string error_;
};

}  // namespace pkiwatch::eventlog
